"""Where a sweep's cases are solved: :func:`execute` runs :func:`run_case` for every task in one
fresh local process per case (forkserver, preloaded) or on Dask, and yields each case's record."""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing import forkserver
from multiprocessing.connection import Connection, wait
from typing import Any

from wattbit.sweep.spec import SweepError, Task, canonical
from wattbit.sweep.studies import run_study

# --- solving one case (the worker function of every engine) --------------------------------


def _record(task: Task, status: str, message: str, **fields: Any) -> dict[str, Any]:
    overrides = {p: canonical(v) for p, v in task.overrides.items()}
    return {"key": task.key, "overrides": overrides, "status": status, "message": message, **fields}


def run_case(task: Task) -> dict[str, Any]:
    """Run the task's study for one case (HiGHS on one thread) and return its record; never
    raises."""
    t0 = time.perf_counter()
    try:
        fields = run_study(task.study, task.case, task.overrides, task.time_limit_s)
    except Exception as exc:  # a sweep records every failure and goes on
        fields = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
    status, message = fields.pop("status"), fields.pop("message")
    return _record(task, status, message, wall_s=time.perf_counter() - t0, **fields)


def _child(task: Task, conn: Connection) -> None:
    # Ctrl-C and SIGTERM (to the process group) are the sweep's to handle: it kills us
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    gc.freeze()  # the collector leaves the inherited heap alone: no copy of every page it holds
    record = run_case(task)
    with contextlib.suppress(BrokenPipeError):  # the sweep was killed: no one to report to
        conn.send(record)


# --- engines ---------------------------------------------------------------------------------


SCHEDULER = re.compile(r"(?:(?:tcp|tls|ws|wss|ucx)://)?(?:\[[0-9A-Fa-f:]+\]|[\w.-]+):\d{1,5}")
"""A Dask scheduler address: an optional protocol, a host (or [IPv6]) and a port."""


@dataclass(frozen=True)
class Engine:
    """Where cases run: ``jobs`` local processes, a Dask ``scheduler`` address, or a Dask
    LocalCluster of ``dask_local`` workers on 127.0.0.1."""

    jobs: int = 1
    scheduler: str | None = None
    dask_local: int | None = None

    def __post_init__(self) -> None:
        if self.scheduler is not None and not SCHEDULER.fullmatch(self.scheduler):
            raise SweepError(
                f"--scheduler {self.scheduler}: not a scheduler address (e.g. tcp://10.0.0.5:8786)"
            )
        if self.scheduler and self.dask_local:
            raise SweepError("give --scheduler or --dask-local, not both")

    @property
    def label(self) -> str:
        if self.scheduler:
            return f"dask scheduler {self.scheduler}"
        if self.dask_local:
            return f"dask LocalCluster, {self.dask_local} workers"
        return f"{self.jobs} local process{'es' if self.jobs > 1 else ''}"


def prepare(engine: Engine) -> None:
    """Start the local engine's forkserver now: it imports the solver stack in the background
    (seconds) while the caller validates cases."""
    if (
        not (engine.scheduler or engine.dask_local)
        and _context().get_start_method() == "forkserver"
    ):
        forkserver.ensure_running()


# Imported once by the forkserver, so that a fresh process per case starts warm: the main module
# (else every child imports it again), the solver stack, and what pyomo (scipy, at the first
# model compile) and xarray (dask, at the first Dataset) import lazily: seconds per case if not.
FORKSERVER_PRELOAD = [
    "__main__",
    "wattbit.sweep.engine",
    "wattbit.strategies",
    "wattbit.economics",
    "wattbit.studies.ridethrough",
    "wattbit.studies.connection",
    "wattbit.studies.compare",
    "wattbit.network.run",
    "scipy.integrate",
    "scipy.sparse",
    "scipy.spatial",
    "scipy.stats",
    "dask.array",
]


def _context() -> mp.context.BaseContext:
    """Forkserver (preloaded: a fresh process per case costs milliseconds) where the platform has
    it, else spawn."""
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(FORKSERVER_PRELOAD)
    return ctx


def _run_local(tasks: list[Task], jobs: int) -> Iterator[dict[str, Any]]:
    """One fresh process per case, ``jobs`` at a time. A process that dies (a crash, the OOM
    killer) makes an ``error`` record for its case only."""
    ctx = _context()
    queue = list(reversed(tasks))
    running: dict[Connection, tuple[Task, Any]] = {}
    try:
        while queue or running:
            while queue and len(running) < jobs:
                task = queue.pop()
                receive, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(task, send), daemon=True)
                proc.start()
                send.close()
                running[receive] = (task, proc)
            for conn in wait(list(running)):
                task, proc = running.pop(conn)  # type: ignore[index]
                try:
                    record = conn.recv()
                except EOFError:
                    proc.join()
                    record = _record(
                        task, "error", f"worker process died (exit code {proc.exitcode})"
                    )
                conn.close()
                proc.join()
                yield record
    finally:
        for _, proc in running.values():
            proc.kill()
            proc.join()


def local_cluster(workers: int) -> Any:
    """The ``--dask-local`` cluster: ``workers`` single-threaded processes, scheduler and workers
    on 127.0.0.1 only, no dashboard; the HTTP server Dask's scheduler and workers always open
    (on 127.0.0.1) serves no route (no health, metrics or info pages)."""
    import logging

    import dask
    from dask.distributed import LocalCluster

    no_routes = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}
    with dask.config.set(no_routes):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )


def _run_dask(tasks: list[Task], engine: Engine) -> Iterator[dict[str, Any]]:
    from dask.distributed import Client, as_completed

    cluster = local_cluster(engine.dask_local) if engine.dask_local else None
    try:
        try:
            client = Client(cluster or engine.scheduler)
        except (OSError, ValueError) as exc:
            raise SweepError(f"--scheduler {engine.scheduler}: cannot connect ({exc})") from None
        with client:
            futures = {
                client.submit(run_case, task, key=f"wattbit-case-{task.key}", pure=False): task
                for task in tasks
            }
            for future in as_completed(futures):
                try:
                    yield future.result()
                except Exception as exc:  # a worker lost for good (KilledWorker) and the like
                    yield _record(futures[future], "error", f"dask: {type(exc).__name__}: {exc}")
    finally:
        if cluster is not None:
            cluster.close()


def execute(tasks: list[Task], engine: Engine) -> Iterator[dict[str, Any]]:
    """Solve every task on ``engine``; yield each record as it finishes (in no fixed order)."""
    if not tasks:
        return iter(())
    if engine.scheduler or engine.dask_local:
        return _run_dask(tasks, engine)
    return _run_local(tasks, engine.jobs)
