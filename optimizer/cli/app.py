"""The ``wattbit`` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wattbit.case import LoadedCase, load_case
from wattbit.cli import network, sweep, type2, type3
from wattbit.cli.common import (
    CaseArg,
    SetOpt,
    err_console,
    fail,
    out_console,
    parse_assignment,
)
from wattbit.errors import CaseError
from wattbit.inputs import build_inputs
from wattbit.optimise import options_from_case
from wattbit.plots import plot_dispatch
from wattbit.report import print_kpis, write_results
from wattbit.solve import EXIT_CODES
from wattbit.strategies import solve_case

app = typer.Typer(
    help="wattbit: value data-centre connections to a congested grid.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _load(case: Path, assignments: list[str] | None) -> LoadedCase:
    overrides = dict(parse_assignment(a) for a in assignments or [])
    return load_case(case, overrides)


@app.command()
def validate(case: CaseArg, set_: SetOpt = None) -> None:
    """Check a case (schema, series, horizon) without solving."""
    try:
        loaded = _load(case, set_)
        inputs = build_inputs(loaded)
    except CaseError as exc:
        raise fail(str(exc), 2) from None
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
    try:
        loaded = _load(case, set_)
        options = options_from_case(
            loaded, time_limit_s=time_limit, mip_gap=mip_gap, threads=threads
        )
        run = solve_case(loaded, options)
    except CaseError as exc:
        raise fail(str(exc), 2) from None
    sol = run.solution
    if not run.ok:
        raise fail(f"{case}: {sol.status}: {sol.message}", EXIT_CODES[sol.status])
    print_kpis(run.kpis, f"{loaded.case.name} — {sol.status}", out_console)
    timing = ", ".join(f"{k} {v:.2f} s" for k, v in run.timings.items())
    out_console.print(f"time: {timing}")
    ver = run.verification
    verdict = "[green]ok[/]" if ver.ok else f"[red]FAILED[/] (worst: {ver.worst})"
    out_console.print(f"verifier: max violation {ver.max_violation:.2e} {verdict}")
    if sol.status == "time_limit":
        err_console.print(f"[yellow]warning:[/] {sol.message}")
    if out is not None:
        paths = write_results(run.results, run.kpis, out)
        if plot:
            paths.append(plot_dispatch(run.results, out / "dispatch.png"))
        out_console.print("wrote " + ", ".join(str(p) for p in paths))
    if not ver.ok:
        raise typer.Exit(7)


def main() -> None:  # pragma: no cover - console script entry
    app()


for module in (type2, sweep, network, type3):
    module.register(app)
