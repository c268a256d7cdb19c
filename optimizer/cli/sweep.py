"""``wattbit sweep`` and ``wattbit plot``: added to the main command line by :func:`register`."""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
import xarray as xr
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from wattbit.sweep.engine import Engine, execute, prepare
from wattbit.sweep.plots import PlotError, plot_sweep, save_plot
from wattbit.sweep.spec import SweepError, Task, generate, parse_scalar, parse_spec
from wattbit.sweep.store import RecordStore, combine, write_outputs

out_console = Console()
err_console = Console(stderr=True)
SOLVED = ("ok", "time_limit")


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _progress(transient: bool = False) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[red]{task.fields[failed]} failed"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
    )


def _summary(
    tasks: list[Task], records: dict[str, dict[str, Any]], reused: int, wall: float
) -> tuple[Table, str]:
    counts = Counter(records[t.key]["status"] for t in tasks if t.key in records)
    table = Table(title=f"sweep: {len(tasks)} cases")
    table.add_column("status")
    table.add_column("cases", justify="right")
    for status, n in sorted(counts.items(), key=lambda kv: (kv[0] != "ok", kv[0])):
        table.add_row(status, str(n))
    solved = len(records) - reused
    rate = f", {solved / wall:.2f} cases/s" if wall > 0 and solved else ""
    note = f"solved {solved} in {wall:.1f} s{rate}; reused {reused} (--resume)"
    return table, note


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
) -> None:
    """Solve a case over a grid of parameter values; write OUT/sweep.nc and OUT/sweep.csv."""
    if scheduler and dask_local:
        raise _fail("give --scheduler or --dask-local, not both")
    engine = Engine(jobs=jobs or _cores(), scheduler=scheduler, dask_local=dask_local)
    try:
        sweep_spec = parse_spec(case, set_ or [], zip_ or [], mode, baseline or [], spec)
        prepare(engine)
        with _progress(transient=True) as progress:
            total = math.prod(sweep_spec.shape)
            bar = progress.add_task("validating", total=total, failed=0)
            tasks = generate(sweep_spec, time_limit, on_case=lambda: progress.advance(bar))
    except SweepError as exc:
        raise _fail(str(exc)) from None
    store = RecordStore(out)
    records = {t.key: r for t in tasks if resume and (r := store.read(t.key)) is not None}
    reused = len(records)
    pending = [t for t in tasks if t.key not in records]
    t0 = time.perf_counter()
    stopped: tuple[str, int] | None = None  # reported once the progress bar is closed
    with _progress() as progress:
        failed = sum(r["status"] not in SOLVED for r in records.values())
        bar = progress.add_task(
            f"solving ({engine.label})", total=len(tasks), completed=reused, failed=failed
        )
        try:
            for record in execute(pending, engine):
                store.write(record)
                records[record["key"]] = record
                failed += record["status"] not in SOLVED
                progress.update(bar, advance=1, failed=failed)
        except SweepError as exc:
            stopped = (str(exc), 2)
        except KeyboardInterrupt:
            kept = f"{len(records)} of {len(tasks)} records kept in {store.folder}"
            stopped = (f"interrupted: {kept}; run again with --resume", 130)
    if stopped is not None:
        raise _fail(*stopped)
    wall = time.perf_counter() - t0
    ds = combine(sweep_spec, tasks, records, analysis_years)
    paths = write_outputs(ds, out)
    table, note = _summary(tasks, records, reused, wall)
    out_console.print(table)
    out_console.print(note)
    for task in tasks:
        record = records[task.key]
        if record["status"] not in SOLVED:
            swept = [path for axis in sweep_spec.axes for path in axis.paths]
            point = ", ".join(f"{p}={record['overrides'][p]}" for p in swept)
            line = f"[red]{record['status']}[/] {escape(point)}: {escape(record['message'])}"
            out_console.print(line, highlight=False, soft_wrap=True)
    out_console.print("wrote " + ", ".join(str(p) for p in paths))


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
    if not sweep_nc.is_file():
        raise _fail(f"{sweep_nc}: file not found")
    fixed = {}
    for text in sel or []:
        path, sep, value = text.partition("=")
        if not sep:
            raise _fail(f"--sel {text}: expected PATH=VALUE")
        fixed[path.strip()] = parse_scalar(value)
    with xr.open_dataset(sweep_nc, engine="h5netcdf") as ds:
        try:
            fig = plot_sweep(ds.load(), x, z, y, fixed)
        except PlotError as exc:
            raise _fail(str(exc)) from None
    target = out or sweep_nc.with_name(f"{z}.png")
    save_plot(fig, str(target))
    out_console.print(f"wrote {target}")


def register(app: typer.Typer) -> None:
    """Add ``sweep`` and ``plot`` to the ``wattbit`` command line."""
    app.command()(sweep)
    app.command()(plot)
