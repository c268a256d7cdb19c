"""``wattbit sweep`` and ``wattbit plot``: added to the main command line by :func:`register`."""

from __future__ import annotations

import math
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wattbit.cli.common import (
    QUIET_ENV,
    Column,
    Format,
    FormatOpt,
    Output,
    check_out,
    err_console,
    escape,
    exits,
    fail,
    message,
    out_console,
    output,
    solver_options,
)

if TYPE_CHECKING:
    from rich.progress import Progress

    from wattbit.sweep.engine import Engine
    from wattbit.sweep.run import Plan, SweepResult
    from wattbit.sweep.spec import SweepSpec


def _progress(transient: bool = False) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[red]{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console(),
        transient=transient,
        disable=os.environ.get(QUIET_ENV) == "1",
    )


SUMMARY_COLUMNS = (Column("status", "status", left=True), Column("cases", "cases", "{:,d}"))


def sweep(
    case: Annotated[
        Path | None, typer.Argument(help="case TOML file (or 'case' in --spec)", show_default=False)
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="PATH=v1,v2,… or PATH=start:stop:step (stop included); one value fixes the "
            "field; repeatable",
        ),
    ] = None,
    zip_: Annotated[
        list[str] | None,
        typer.Option("--zip", help="PATH,PATH,…: sweep these together (equal lengths)"),
    ] = None,
    mode: Annotated[
        str | None, typer.Option(help="connection modes MODE,MODE,… (= --set grid.mode=…)")
    ] = None,
    spec: Annotated[Path | None, typer.Option(help="sweep TOML file (see docs/sweeps.md)")] = None,
    study: Annotated[
        str | None,
        typer.Option(
            help="what each point runs: solve, compare, ridethrough, connect, network "
            "[default: solve]"
        ),
    ] = None,
    jobs: Annotated[
        int | None, typer.Option(min=1, help="local processes [default: cores]")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    ] = None,
    dask_local: Annotated[
        int | None, typer.Option(min=1, help="start a Dask LocalCluster of N workers")
    ] = None,
    time_limit: Annotated[float | None, typer.Option(help="solver time limit per case, s")] = None,
    resume: Annotated[bool, typer.Option(help="skip cases whose record exists in OUT")] = False,
    out: Annotated[Path, typer.Option(help="folder for records and results")] = Path("sweep"),
    baseline: Annotated[
        list[str] | None,
        typer.Option(help="PATH=VALUE: the baseline point for net benefit, NPV and payback"),
    ] = None,
    analysis_years: Annotated[float, typer.Option(min=1, help="NPV analysis period, years")] = 15,
    fmt: FormatOpt = Format.table,
) -> None:
    """Solve a case over a grid of parameter values; write OUT/sweep.nc and OUT/sweep.csv."""
    from wattbit.sweep.engine import Engine
    from wattbit.sweep.run import local_cores, plan
    from wattbit.sweep.spec import SweepError, parse_spec

    with exits():
        check_out(out, *[p for p in (case, spec) if p is not None])
        time_limit_s = solver_options(time_limit).get("time_limit_s")
    try:
        engine = Engine(jobs=jobs or local_cores(), scheduler=scheduler, dask_local=dask_local)
        sweep_spec = parse_spec(case, set_ or [], zip_ or [], mode, baseline or [], spec, study)
        with _progress(transient=True) as progress:
            total = math.prod(sweep_spec.shape)
            bar = progress.add_task("validating", total=total, failed=0)
            sweep = plan(
                sweep_spec, engine, out, time_limit_s, resume, on_case=lambda: progress.advance(bar)
            )
    except SweepError as exc:
        raise fail(str(exc), 2) from None
    try:
        stopped = _solve(sweep, engine)
        if stopped is not None:
            raise fail(*stopped)
        result = sweep.result(analysis_years)
    finally:
        sweep.close()
    with output(fmt) as shown:
        _report(result, sweep_spec, shown)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C: records kept, workers stopped, the lock released."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated


def _solve(sweep: Plan, engine: Engine) -> tuple[str, int] | None:
    """Solve with a progress bar; what stopped the sweep early as (message, exit code)."""
    from wattbit.sweep.spec import SweepError

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with _progress() as progress:
            bar = progress.add_task(
                f"solving ({engine.label})",
                total=len({t.key for t in sweep.tasks}),
                completed=sweep.reused,
                failed=sweep.failed,
            )
            for _ in sweep.solve():
                progress.update(bar, advance=1, failed=sweep.failed)
    except SweepError as exc:
        return str(exc), 2
    except KeyboardInterrupt as exc:
        kept = f"{len(sweep.records)} of {len(sweep.tasks)} records kept in {sweep.store.folder}"
        what, code = ("terminated", 143) if isinstance(exc, _Terminated) else ("interrupted", 130)
        return f"{what}: {kept}; run again with --resume", code
    finally:
        signal.signal(signal.SIGTERM, previous)
    return None


def _report(result: SweepResult, spec: SweepSpec, shown: Output) -> None:
    """The summary table, speed, every failed case; exit 1 if any case failed."""
    counts = sorted(result.counts().items(), key=lambda kv: (kv[0] != "ok", kv[0]))
    rows = [{"status": status, "cases": n} for status, n in counts]
    shown.table("summary", f"sweep: {len(result.tasks)} cases", SUMMARY_COLUMNS, rows)
    solved = len(result.records) - result.reused
    rate = f", {solved / result.wall_s:.2f} cases/s" if result.wall_s > 0 and solved else ""
    message(f"solved {solved} in {result.wall_s:.1f} s{rate}; reused {result.reused} (--resume)")
    swept = [path for axis in spec.axes for path in axis.paths]
    failures = result.failures()
    for record in failures:
        point = ", ".join(f"{p}={record['overrides'][p]}" for p in swept)
        line = f"[red]{record['status']}[/] {escape(point)}: {escape(record['message'])}"
        shown.line(line, soft_wrap=True)
    message("wrote " + ", ".join(escape(str(p)) for p in result.paths))
    if failures:
        raise fail(f"{len(failures)} of {len(result.tasks)} cases failed (listed above)", 1)


def plot(
    sweep_nc: Annotated[Path, typer.Argument(help="sweep.nc of a sweep", show_default=False)],
    x: Annotated[str, typer.Option(help="swept parameter on the x axis", show_default=False)],
    z: Annotated[str, typer.Option(help="variable to show (a KPI)", show_default=False)],
    y: Annotated[str | None, typer.Option(help="second swept parameter: a heatmap")] = None,
    sel: Annotated[
        list[str] | None, typer.Option(help="PATH=VALUE: fix another swept parameter")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="image file [default: beside SWEEP_NC]")] = None,
) -> None:
    """Plot a KPI over one swept parameter (line) or two (heatmap), with breakeven contours."""
    from wattbit.sweep.plots import PlotError
    from wattbit.sweep.run import plot_file
    from wattbit.sweep.spec import parse_scalar

    if not sweep_nc.is_file():
        raise fail(f"{sweep_nc}: file not found", 2)
    fixed = {}
    for text in sel or []:
        path, sep, value = text.partition("=")
        if not sep:
            raise fail(f"--sel {text}: expected PATH=VALUE", 2)
        fixed[path.strip()] = parse_scalar(value)
    try:
        target = plot_file(sweep_nc, x, z, y, fixed, out)
    except PlotError as exc:
        raise fail(str(exc), 2) from None
    out_console().print(f"wrote {target}")


def register(app: typer.Typer) -> None:
    """Add ``sweep`` and ``plot`` to the ``wattbit`` command line."""
    app.command()(sweep)
    app.command()(plot)
