"""The ``wattbit`` command line.

Command modules import the solver stack (Pyomo, HiGHS, xarray, matplotlib) only inside their
commands, through :mod:`wattbit.api`, so that ``wattbit --help`` starts in a fraction of a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wattbit import api
from wattbit.cli import network, sweep, type2, type3
from wattbit.cli.common import (
    CaseArg,
    SetOpt,
    err_console,
    exits,
    out_console,
    overrides,
)

app = typer.Typer(
    help="wattbit: value data-centre connections to a congested grid.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
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


@app.command()
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
    from wattbit.report import print_kpis

    with exits():
        result = api.solve_case(
            case, overrides(set_), time_limit_s=time_limit, mip_gap=mip_gap, threads=threads
        )
    print_kpis(result.kpis, f"{result.name} — {result.status}", out_console)
    timing = ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())
    out_console.print(f"time: {timing}")
    ver = result.verification
    verdict = "[green]ok[/]" if ver.ok else f"[red]FAILED[/] (worst: {ver.worst})"
    out_console.print(f"verifier: max violation {ver.max_violation:.2e} {verdict}")
    if result.status == "time_limit":
        err_console.print(f"[yellow]warning:[/] {result.run.solution.message}")
    if out is not None:
        paths = result.write(out, plot=plot)
        out_console.print("wrote " + ", ".join(str(p) for p in paths))
    if not ver.ok:
        raise typer.Exit(7)


def main() -> None:  # pragma: no cover - console script entry
    app()


for module in (type2, sweep, network, type3):
    module.register(app)
