"""``wattbit validate`` and ``wattbit solve``: one case, checked or sized and dispatched."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wattbit import api
from wattbit.cli.common import (
    CaseArg,
    Format,
    FormatOpt,
    MipGapOpt,
    SetOpt,
    ThreadsOpt,
    TimeLimitOpt,
    check_out,
    escape,
    exits,
    out_console,
    overrides,
    progress_bar,
    report_run,
    solver_options,
)


def _validate_network(case: Path, set_: list[str] | None) -> None:
    from wattbit.network.case import load_network_case
    from wattbit.network.inputs import build_network_inputs

    loaded = load_network_case(case, overrides(set_))
    inputs = build_network_inputs(loaded)
    net = loaded.case
    tables = ("nodes", "branches", "dcs", "batteries", "ev_fleets", "pv", "links", "contracts")
    counts = ", ".join(f"{len(getattr(net, t))} {t}" for t in tables if getattr(net, t))
    out_console().print(
        f"[green]ok[/] {escape(str(case))}: network '{escape(net.name)}', {inputs.sizes['time']} "
        f"steps of {inputs.attrs['dt_h']:g} h from "
        f"{loaded.series.index[0].tz_convert(net.horizon.timezone).isoformat()}; {counts}",
        highlight=False,
        soft_wrap=True,
    )


def validate(case: CaseArg, set_: SetOpt = None) -> None:
    """Check a case, single-site or network (schema, series, horizon), without solving."""
    from wattbit.case import read_toml
    from wattbit.case.load import case_kind

    with exits():
        if case_kind(read_toml(case)) == "network":
            _validate_network(case, set_)
            return
        loaded = api.load_case(case, overrides(set_))
        inputs = api.build_inputs(loaded)
    t = inputs.sizes["time"]
    limit = inputs["grid_import_limit_mw"]
    out_console().print(
        f"[green]ok[/] {escape(str(case))}: '{escape(loaded.case.name)}', {t} steps of {inputs.attrs['dt_h']:g} h "
        f"from {loaded.series.index[0].tz_convert(loaded.case.horizon.timezone).isoformat()}; import limit {float(limit.min()):.3g}–"
        f"{float(limit.max()):.3g} MW; components: "
        + ", ".join(c for c in ("dc", "pv", "battery", "grid") if getattr(loaded.case, c)),
        soft_wrap=True,
    )


def solve(
    case: CaseArg,
    out: Annotated[Path | None, typer.Option(help="folder for results (default: none)")] = None,
    set_: SetOpt = None,
    time_limit: TimeLimitOpt = None,
    mip_gap: MipGapOpt = None,
    threads: ThreadsOpt = None,
    plot: Annotated[bool, typer.Option(help="write dispatch.png with --out")] = True,
    fmt: FormatOpt = Format.table,
) -> None:
    """Size and dispatch one case; print KPIs; write NetCDF, CSV, JSON and a plot with --out."""
    with exits(), progress_bar(f"solving {case.name}"):
        check_out(out, case)
        options = solver_options(time_limit, mip_gap, threads)
        result = api.solve_case(case, overrides(set_), **options)
    report_run(result, f"{result.name} — {result.status}", out, plot, fmt)


def register(app: typer.Typer) -> None:
    """Add ``validate`` and ``solve`` to the ``wattbit`` command line."""
    app.command()(validate)
    app.command()(solve)
