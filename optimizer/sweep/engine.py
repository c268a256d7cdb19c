"""Where a sweep's cases are solved: :func:`execute` runs :func:`run_case` for every task, in
fresh local processes (forkserver, preloaded) or on Dask, and yields each case's record.

Cases of ``--study solve`` of one case file go to one worker in groups (:func:`groups`): a worker
keeps the compiled LP of its last case (:class:`wattbit.warm.WarmPool`, one model) and solves
the next case of its group on it when it differs only in costs and bounds (a price, a size
range, an import limit), from the kept basis; anything else is solved on a new model, so a
group's results equal one fresh process per case (``tests/test_sweep_warm.py``). Within a group
the cases run with the parameters that change the model's structure (:data:`WARM_PATH` does not
match them) varying slowest, so consecutive cases differ in one cost or bound where they can.
Every other study runs one fresh process per case."""

from __future__ import annotations

import gc
import math
import multiprocessing as mp
import re
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing import forkserver
from multiprocessing.connection import Connection, wait
from typing import Any

from wattbit.strategies.scenario_pool import ScenarioEngine
from wattbit.sweep.spec import SweepError, Task, canonical
from wattbit.sweep.studies import Kept, run_study

# --- solving one case (the worker function of every engine) --------------------------------


def _record(task: Task, status: str, message: str, **fields: Any) -> dict[str, Any]:
    overrides = {p: canonical(v) for p, v in task.overrides.items()}
    return {"key": task.key, "overrides": overrides, "status": status, "message": message, **fields}


def run_case(task: Task, kept: Kept | None = None) -> dict[str, Any]:
    """Run the task's study for one case (HiGHS on one thread) and return its record; never
    raises. ``kept``: the models a worker keeps between the cases of its group."""
    t0 = time.perf_counter()
    try:
        fields = run_study(task.study, task.case, task.overrides, task.time_limit_s, kept)
    except Exception as exc:  # a sweep records every failure and goes on
        fields = {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
    status, message = fields.pop("status"), fields.pop("message")
    return _record(task, status, message, wall_s=time.perf_counter() - t0, **fields)


def run_group(tasks: list[Task]) -> Iterator[dict[str, Any]]:
    """Run a group's cases in order in this process, keeping the last compiled LP (module doc)."""
    kept = Kept()
    for task in tasks:
        yield run_case(task, kept)


WARM_PATH = re.compile(
    r"(capex|_om_|^[a-z0-9_]+\.om_|lifetime|discount_rate|price|cost|charge|limit_mw"
    r"|_mwh?$|\.(min|max)$)"
)
"""Case paths whose value enters the LP as a cost or a bound (a price, a size, a limit): the
cases of a group are ordered with the other paths varying slowest. Only the order depends on
it; whether a case is re-solved on the kept model is decided by :class:`wattbit.warm.WarmPool`."""
MAX_GROUP = 64  # cases per worker process at most (a fresh process now and then)


def groups(tasks: list[Task], jobs: int = 1) -> list[list[Task]]:
    """The tasks in worker groups (module doc): ``solve`` cases of one case file and time limit
    together, ordered; at most ``MAX_GROUP`` and, for ``jobs`` > 1, at most a ``jobs``-th of
    the ``solve`` cases per group, so that every worker has work; every other case alone."""
    together: dict[tuple[str, float | None], list[Task]] = {}
    alone: list[list[Task]] = []
    for task in tasks:
        if task.study == "solve":
            together.setdefault((task.case, task.time_limit_s), []).append(task)
        else:
            alone.append([task])
    n = sum(len(g) for g in together.values())
    size = min(MAX_GROUP, math.ceil(n / jobs)) if n else 1
    found = []
    for group in together.values():
        group = sorted(group, key=_structure_first)
        found += [group[i : i + size] for i in range(0, len(group), size)]
    return found + alone


def _structure_first(task: Task) -> tuple[Any, ...]:
    """Sort key: the values of the paths that change the model's structure, then the point."""
    structural = sorted(p for p in task.overrides if not WARM_PATH.search(p))
    return (tuple(str(canonical(task.overrides[p])) for p in structural), task.index)


def _child(tasks: list[Task], conn: Connection) -> None:
    # Ctrl-C and SIGTERM (to the process group) are the sweep's to handle: it kills us
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    gc.freeze()  # the collector leaves the inherited heap alone: no copy of every page it holds
    for record in run_group(tasks):
        try:
            conn.send(record)
        except BrokenPipeError:  # the sweep was killed: no one to report to
            return


# --- engines ---------------------------------------------------------------------------------


SCHEDULER = re.compile(r"(?:(?:tcp|tls|ws|wss|ucx)://)?(?:\[[0-9A-Fa-f:]+\]|[\w.-]+):\d{1,5}")
"""A Dask scheduler address: an optional protocol, a host (or [IPv6]) and a port."""


@dataclass(frozen=True)
class Engine(ScenarioEngine):
    """Where cases run: ``jobs`` local processes, a Dask ``scheduler`` address, or a Dask
    LocalCluster of ``dask_local`` workers on 127.0.0.1 (the fields and ``label`` of the type ③
    scenarios' engine; a sweep's bad address is a :class:`SweepError`)."""

    def __post_init__(self) -> None:
        if self.scheduler is not None and not SCHEDULER.fullmatch(self.scheduler):
            raise SweepError(
                f"--scheduler {self.scheduler}: not a scheduler address (e.g. tcp://10.0.0.5:8786)"
            )
        if self.scheduler and self.dask_local:
            raise SweepError("give --scheduler or --dask-local, not both")


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
    """A fresh process per group (:func:`groups`), ``jobs`` at a time, each sending its cases'
    records as they finish. A process that dies (a crash, the OOM killer) makes an ``error``
    record for the case it was solving; the rest of its group goes to a new process."""
    ctx = _context()
    queue = list(reversed(groups(tasks, jobs)))
    running: dict[Connection, tuple[list[Task], Any]] = {}
    try:
        while queue or running:
            while queue and len(running) < jobs:
                group = queue.pop()
                receive, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_child, args=(group, send), daemon=True)
                proc.start()
                send.close()
                running[receive] = (group, proc)
            for conn in wait(list(running)):
                group, proc = running[conn]  # type: ignore[index]
                try:
                    record = conn.recv()
                except EOFError:
                    del running[conn]  # type: ignore[arg-type]
                    conn.close()
                    proc.join()
                    if group:  # it died with cases left: the first was running
                        code = proc.exitcode
                        yield _record(group[0], "error", f"worker process died (exit code {code})")
                        if group[1:]:
                            queue.append(group[1:])
                    continue
                group.pop(0)
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


def _group_records(group: list[Task]) -> list[dict[str, Any]]:
    return list(run_group(group))


def _run_dask(tasks: list[Task], engine: Engine) -> Iterator[dict[str, Any]]:
    from dask.distributed import Client, as_completed

    cluster = local_cluster(engine.dask_local) if engine.dask_local else None
    try:
        try:
            client = Client(cluster or engine.scheduler)
        except (OSError, ValueError) as exc:
            raise SweepError(f"--scheduler {engine.scheduler}: cannot connect ({exc})") from None
        with client:
            # with no worker known yet, one case per task as before
            workers = engine.dask_local or len(client.scheduler_info()["workers"]) or len(tasks)
            futures = {
                client.submit(
                    _group_records, group, key=f"wattbit-cases-{group[0].key}", pure=False
                ): group
                for group in groups(tasks, workers)
            }
            for future in as_completed(futures):
                try:
                    yield from future.result()
                except Exception as exc:  # a worker lost for good (KilledWorker) and the like
                    message = f"dask: {type(exc).__name__}: {exc}"
                    yield from (_record(t, "error", message) for t in futures[future])
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
