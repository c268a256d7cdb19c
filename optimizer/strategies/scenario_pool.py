"""Where the scenario subproblems of :mod:`wattbit.strategies.benders` live and run.

A :class:`ScenarioEngine` names the place: this process (``jobs = 1``), ``jobs`` local worker
processes (:mod:`concurrent.futures`, one single-process executor per worker so that a scenario
always goes back to the process that keeps its model), a Dask ``scheduler`` address or a Dask
LocalCluster of ``dask_local`` single-threaded workers on 127.0.0.1 (a Dask actor per worker).
Scenarios are dealt to the workers in turn; each worker keeps its scenarios' subproblems in
HiGHS, so that every re-solve starts from the last basis. The same engine runs any function of
independent tasks (:meth:`ScenarioPool.map`), e.g. the out-of-sample years.
"""

from __future__ import annotations

import multiprocessing as mp
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from wattbit.errors import CaseError

SCHEDULER = re.compile(r"([a-z]+://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d+")


@dataclass(frozen=True)
class ScenarioEngine:
    """``jobs`` local processes, or a Dask ``scheduler`` address, or a Dask LocalCluster of
    ``dask_local`` workers."""

    jobs: int = 1
    scheduler: str | None = None
    dask_local: int | None = None

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise CaseError("command line", "--jobs", f"{self.jobs}: give at least 1")
        if self.scheduler is not None and not SCHEDULER.fullmatch(self.scheduler):
            raise CaseError(
                "command line", "--scheduler", f"{self.scheduler}: not a scheduler address"
            )
        if self.scheduler and self.dask_local:
            raise CaseError(
                "command line", "--dask-local", "give --scheduler or --dask-local, not both"
            )
        if self.dask_local is not None and self.dask_local < 1:
            raise CaseError(
                "command line", "--dask-local", f"{self.dask_local}: give at least 1 worker"
            )

    @property
    def label(self) -> str:
        if self.scheduler:
            return f"dask scheduler {self.scheduler}"
        if self.dask_local:
            return f"dask LocalCluster, {self.dask_local} workers"
        return f"{self.jobs} local process{'es' if self.jobs > 1 else ''}"


class Holder:
    """What a worker keeps: objects by key, made and called by name."""

    def __init__(self) -> None:
        self.held: dict[int, Any] = {}

    def make(self, key: int, factory: Callable[..., Any], *args: Any) -> Any:
        obj = factory(*args)
        self.held[key] = obj
        return getattr(obj, "shape", None)

    def call(self, key: int, method: str, *args: Any) -> Any:
        return getattr(self.held[key], method)(*args)

    def apply(self, function: Callable[..., Any], *args: Any) -> Any:
        return function(*args)


_HOLDER = Holder()  # a local worker process's holder


def _in_process(name: str, *args: Any) -> Any:
    return getattr(_HOLDER, name)(*args)


class ScenarioPool:
    """The workers of an engine, for as long as the ``with`` block lasts."""

    def __init__(self, engine: ScenarioEngine, tasks: int) -> None:
        self.engine = engine
        wanted = tasks if engine.scheduler else (engine.dask_local or engine.jobs)
        self.workers = max(1, min(tasks, wanted))  # a scheduler: as many as it has, at most
        self._executors: list[ProcessPoolExecutor] = []
        self._actors: list[Any] = []
        self._local: list[Holder] = []
        self._client: Any = None
        self._cluster: Any = None
        self.worker_cpu = 0.0  # the local worker processes' CPU seconds, known at exit

    def __enter__(self) -> ScenarioPool:
        e = self.engine
        if e.scheduler or e.dask_local:
            self._start_dask()
        elif self.workers > 1:
            method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
            ctx = mp.get_context(method)
            self._executors = [
                ProcessPoolExecutor(max_workers=1, mp_context=ctx) for _ in range(self.workers)
            ]
        else:
            self._local = [Holder()]
        return self

    def _start_dask(self) -> None:
        import logging

        import dask
        from dask.distributed import Client, LocalCluster

        if self.engine.dask_local:
            routes = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}
            with dask.config.set(routes):
                self._cluster = LocalCluster(
                    n_workers=self.engine.dask_local,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
        try:
            self._client = Client(self._cluster or self.engine.scheduler)
        except (OSError, ValueError) as exc:
            raise CaseError("command line", "--scheduler", f"cannot connect ({exc})") from None
        workers = list(self._client.scheduler_info()["workers"])
        self.workers = max(1, min(self.workers, len(workers)))
        self._actors = [
            self._client.submit(Holder, actor=True, workers=[w], pure=False).result()
            for w in workers[: self.workers]
        ]

    def __exit__(self, *exc: object) -> None:
        if self._executors and exc[0] is None:  # the forkserver's children: no rusage counts them
            self.worker_cpu = sum(ex.submit(time.process_time).result() for ex in self._executors)
        for ex in self._executors:
            ex.shutdown(cancel_futures=True)
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def _submit(self, worker: int, name: str, *args: Any) -> Any:
        if self._actors:
            return getattr(self._actors[worker], name)(*args)
        if self._executors:
            return self._executors[worker].submit(_in_process, name, *args)
        done: Future = Future()
        done.set_result(getattr(self._local[0], name)(*args))
        return done

    @staticmethod
    def _result(pending: Any) -> Any:
        return pending.result()

    def worker_of(self, key: int) -> int:
        return key % self.workers

    def make(self, items: Sequence[tuple[int, Callable[..., Any], tuple]]) -> list[Any]:
        """Build ``factory(*args)`` on the worker of each key; the objects' ``shape``s, in order."""
        pending = [self._submit(self.worker_of(k), "make", k, f, *a) for k, f, a in items]
        return [self._result(p) for p in pending]

    def call(self, method: str, items: Sequence[tuple[int, tuple]]) -> list[Any]:
        """``held[key].method(*args)`` for every item, in parallel; the answers in order."""
        pending = [self._submit(self.worker_of(k), "call", k, method, *a) for k, a in items]
        return [self._result(p) for p in pending]

    def map(self, function: Callable[..., Any], argument_lists: Sequence[tuple]) -> list[Any]:
        """``function(*args)`` for each argument list, spread over the workers; in order."""
        pending = [
            self._submit(i % self.workers, "apply", function, *args)
            for i, args in enumerate(argument_lists)
        ]
        return [self._result(p) for p in pending]
