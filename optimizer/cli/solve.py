"""``wattbit validate`` and ``wattbit solve``: one case, checked or sized and dispatched."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wattbit import api
from wattbit.cli.common import CaseArg, SetOpt, exits, out_console, overrides, report_run


def validate(case: CaseArg, set_: SetOpt = None) -> None:
    """Check a case (schema, series, horizon) without solving."""
    with exits():
        loaded = api.load_case(case, overrides(set_))
        inputs = api.build_inputs(loaded)
    t = inputs.sizes["time"]
    limit = inputs["grid_import_limit_mw"]
    out_console.print(
        f"[green]ok[/] {case}: '{loaded.case.name}', {t} steps of {inputs.attrs['dt_h']:g} h "
        f"from {loaded.series.index[0].tz_convert(loaded.case.horizon.timezone).isoformat()}; import limit {float(limit.min()):.3g}–"
        f"{float(limit.max()):.3g} MW; components: "
        + ", ".join(c for c in ("dc", "pv", "battery", "grid") if getattr(loaded.case, c))
    )


def solve(
    case: CaseArg,
    out: Annotated[Path | None, typer.Option(help="folder for results (default: none)")] = None,
    set_: SetOpt = None,
    time_limit: Annotated[float | None, typer.Option(help="solver time limit, s")] = None,
    mip_gap: Annotated[float | None, typer.Option(help="relative MIP gap")] = None,
    threads: Annotated[int | None, typer.Option(help="HiGHS threads")] = None,
    plot: Annotated[bool, typer.Option(help="write dispatch.png with --out")] = True,
) -> None:
    """Size and dispatch one case; print KPIs; write NetCDF, CSV, JSON and a plot with --out."""
    with exits():
        result = api.solve_case(
            case, overrides(set_), time_limit_s=time_limit, mip_gap=mip_gap, threads=threads
        )
    report_run(result, f"{result.name} — {result.status}", out, plot)


def register(app: typer.Typer) -> None:
    """Add ``validate`` and ``solve`` to the ``wattbit`` command line."""
    app.command()(validate)
    app.command()(solve)
