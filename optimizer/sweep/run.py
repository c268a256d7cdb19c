"""A sweep from definition to dataset: validate every point, solve the pending ones on an engine
(each record stored as it arrives, so an interrupted sweep resumes), combine the records into
``OUT/sweep.nc`` and ``OUT/sweep.csv``.

:func:`plan` validates and reads what ``--resume`` may reuse; :meth:`Plan.solve` runs the rest;
:meth:`Plan.result` combines and writes. ``wattbit sweep`` drives these three with progress
bars; :func:`run_sweep` runs them in one call.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from wattbit.sweep.engine import Engine, execute, prepare
from wattbit.sweep.plots import PlotError, file_name, plot_sweep, save_plot
from wattbit.sweep.spec import Scalar, SweepSpec, Task, generate
from wattbit.sweep.store import OutLock, RecordStore, combine, to_frame, write_outputs

SOLVED = ("ok", "time_limit")
Record = dict[str, Any]


def local_cores() -> int:
    """The cores this process may run on (the default number of local jobs)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass
class Plan:
    """A validated sweep: its tasks, its record store, and the records already there."""

    spec: SweepSpec
    engine: Engine
    tasks: list[Task]
    store: RecordStore
    records: dict[str, Record]
    reused: int
    lock: OutLock | None = None
    wall_s: float = 0.0

    @property
    def pending(self) -> list[Task]:
        """The tasks without a record, each case once: points that are the same case (the
        same overrides, e.g. a value given twice) share one solve and one record."""
        unique = {t.key: t for t in reversed(self.tasks) if t.key not in self.records}
        return [t for t in self.tasks if unique.get(t.key) is t]

    def close(self) -> None:
        """Release ``OUT`` for other sweeps (:meth:`result` does, after writing)."""
        if self.lock is not None:
            self.lock.release()

    @property
    def failed(self) -> int:
        """Records whose case did not solve (infeasible, error, …)."""
        return sum(r["status"] not in SOLVED for r in self.records.values())

    def solve(self) -> Iterator[Record]:
        """Solve the pending tasks; store and yield each record as it arrives (any order)."""
        t0 = time.perf_counter()
        try:
            for record in execute(self.pending, self.engine):
                self.store.write(record)
                self.records[record["key"]] = record
                yield record
        finally:
            self.wall_s += time.perf_counter() - t0

    def result(self, analysis_years: float = 15.0) -> SweepResult:
        """Combine the records into one Dataset; write ``sweep.nc`` and ``sweep.csv``."""
        ds = combine(self.spec, self.tasks, self.records, analysis_years)
        paths = write_outputs(ds, self.store.folder.parent)
        self.close()
        return SweepResult(self.spec, self.tasks, self.records, self.reused, self.wall_s, ds, paths)


def plan(
    spec: SweepSpec,
    engine: Engine,
    out: Path,
    time_limit_s: float | None = None,
    resume: bool = False,
    on_case: Callable[[], None] | None = None,
) -> Plan:
    """Validate every point of ``spec`` (:class:`~wattbit.sweep.spec.SweepError` on a bad one;
    ``on_case`` after each), then lock ``out`` (a SweepError if another sweep holds it); with
    ``resume``, reuse the records already in ``out``. :meth:`Plan.result` or
    :meth:`Plan.close` releases the lock."""
    prepare(engine)
    tasks = generate(spec, time_limit_s, on_case=on_case)
    lock = OutLock(out)
    store = RecordStore(out)
    records = {t.key: r for t in tasks if resume and (r := store.read(t.key)) is not None}
    return Plan(spec, engine, tasks, store, records, reused=len(records), lock=lock)


@dataclass
class SweepResult:
    """A finished sweep: the Dataset over the swept parameters and the records behind it."""

    spec: SweepSpec
    tasks: list[Task]
    records: dict[str, Record]
    reused: int
    wall_s: float
    dataset: xr.Dataset
    paths: list[Path] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """``sweep.csv``: one row per case, the swept parameters, then every variable."""
        return to_frame(self.dataset)

    def counts(self) -> Counter[str]:
        """Cases by status (``ok``, ``time_limit``, ``infeasible``, …)."""
        return Counter(self.records[t.key]["status"] for t in self.tasks if t.key in self.records)

    def failures(self) -> list[Record]:
        """The records of the cases that did not solve, in the sweep's order."""
        found = [self.records[t.key] for t in self.tasks if t.key in self.records]
        return [r for r in found if r["status"] not in SOLVED]

    def write(self, out: str | Path) -> list[Path]:
        """``sweep.nc`` and ``sweep.csv`` in ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        return write_outputs(self.dataset, out)

    def plot(
        self,
        path: Path,
        x: str,
        z: str,
        y: str | None = None,
        fixed: Mapping[str, Scalar] | None = None,
    ) -> Path:
        """``z`` over the swept ``x`` (a line), or over ``x`` and ``y`` (a heatmap), the other swept
        parameters ``fixed`` (:func:`~wattbit.sweep.plots.plot_sweep`)."""
        save_plot(plot_sweep(self.dataset, x, z, y, dict(fixed or {})), str(path))
        return path


def plot_file(
    sweep_nc: Path,
    x: str,
    z: str,
    y: str | None = None,
    fixed: Mapping[str, Scalar] | None = None,
    out: Path | None = None,
) -> Path:
    """Plot a written ``sweep.nc`` as :meth:`SweepResult.plot`; the image defaults to
    ``<z>.png`` beside it, the fixed parameters in its name
    (:func:`~wattbit.sweep.plots.file_name`). A file that is not NetCDF raises
    :class:`PlotError`."""
    try:
        with xr.open_dataset(sweep_nc, engine="h5netcdf") as ds:
            data = ds.load()
    except (OSError, ValueError) as exc:
        raise PlotError(f"{sweep_nc}: not a NetCDF file ({type(exc).__name__})") from None
    fig = plot_sweep(data, x, z, y, dict(fixed or {}))
    target = out or sweep_nc.with_name(file_name(z, fixed or {}))
    save_plot(fig, str(target))
    return target


def run_sweep(
    spec: SweepSpec,
    engine: Engine,
    out: Path,
    time_limit_s: float | None = None,
    resume: bool = False,
    analysis_years: float = 15.0,
) -> SweepResult:
    """Plan, solve and combine in one call (module doc)."""
    sweep = plan(spec, engine, out, time_limit_s, resume)
    try:
        for _ in sweep.solve():
            pass
        return sweep.result(analysis_years)
    finally:
        sweep.close()
