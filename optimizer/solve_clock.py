"""A solve's CPU-time budget and its MIP's bound trajectory, through one HiGHS callback.

HiGHS's ``time_limit`` is wall time: on a shared machine a solve gets the fewer CPU seconds in it
the busier the machine is, so a MIP "stopped at 60 s" may have had 15 s of work. A :class:`Clock`
counts this process's CPU seconds (``time.process_time``, every thread) from the start of a solve
and asks HiGHS to stop once they pass ``cpu_limit_s``. HiGHS asks at every simplex iteration of
an LP it solves at the top level (``kCallbackSimplexInterrupt``) and at each of its MIP interrupt
points (``kCallbackMipInterrupt``: presolve, every cut round and node), not inside the MIP's own
LP solves: a budget can be overrun by one such LP (the root LP of a full-year MIP: seconds).

At every MIP interrupt point the clock also records HiGHS's primal bound (the best integer
point's cost) and dual bound (no integer point costs less) when either has moved: the gap trajectory
``Solution.progress`` that ``benchmarks/milp.py`` prints. HiGHS reports the bounds of the scaled
objective (``user_objective_scale``); they are recorded in JPY/yr.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import highspy

_T = highspy.cb.HighsCallbackType
LOGGING = int(_T.kCallbackLogging)
MIP_INTERRUPT = int(_T.kCallbackMipInterrupt)


@dataclass(frozen=True)
class Bounds:
    """One point of a MIP's gap trajectory, seconds from the start of the solve."""

    wall_s: float
    cpu_s: float
    primal: float  # the best integer point's cost, JPY/yr (inf before there is one)
    dual: float  # no integer point costs less, JPY/yr (-inf before the root LP)

    @property
    def gap(self) -> float:
        """HiGHS's relative gap, (primal − dual) / |primal|; inf without both bounds."""
        if abs(self.primal) == float("inf") or abs(self.dual) == float("inf"):
            return float("inf")
        return (self.primal - self.dual) / max(abs(self.primal), 1e-9)


@dataclass
class Clock:
    """Wall and CPU seconds since a solve began, its CPU budget and the bounds seen so far."""

    cpu_limit_s: float | None = None
    unscale: float = 1.0  # 2^-user_objective_scale: HiGHS's objective back to JPY/yr
    wall0: float = field(default_factory=time.perf_counter)
    cpu0: float = field(default_factory=time.process_time)
    progress: list[Bounds] = field(default_factory=list)

    def cpu_s(self) -> float:
        return time.process_time() - self.cpu0

    def over(self) -> bool:
        """Whether the solve has spent its CPU budget."""
        return self.cpu_limit_s is not None and self.cpu_s() > self.cpu_limit_s

    def share(self, fraction: float) -> Clock:
        """A clock for a part of the solve: the same origin, ``fraction`` of the CPU seconds left
        as its limit (none without a limit), and its own bounds."""
        limit = self.cpu_limit_s
        if limit is not None:
            limit = self.cpu_s() + fraction * max(0.0, limit - self.cpu_s())
        return Clock(limit, self.unscale, self.wall0, self.cpu0)

    @contextmanager
    def grace(self, fraction: float) -> Iterator[None]:
        """Within the block, at least ``fraction`` of the CPU budget from now, even once it is
        spent: for a few LPs short next to the budget whose end is worth more than the seconds
        over (the MIP start's rounding after a relaxation that spent the budget: an interrupted
        LP there read as "no feasible rounding", docs/milp.md). The limit is back after."""
        limit = self.cpu_limit_s
        if limit is not None:
            self.cpu_limit_s = max(limit, self.cpu_s() + fraction * limit)
        try:
            yield
        finally:
            self.cpu_limit_s = limit

    def record(self, primal: float, dual: float) -> None:
        """Add a point if a bound moved (in JPY/yr)."""
        last = self.progress[-1] if self.progress else None
        if last is None or (last.primal, last.dual) != (primal, dual):
            now = time.perf_counter() - self.wall0
            self.progress.append(Bounds(now, self.cpu_s(), primal, dual))


def callback(kind: int, message: str, out: object, into: object, clock: Clock | None) -> None:
    """The one HiGHS callback of a solve: its log on stderr (``wattbit --log``), the bounds of a
    MIP recorded and HiGHS interrupted once the CPU budget is spent."""
    if kind == LOGGING:
        sys.stderr.write(message)
        return
    if clock is None:
        return
    if kind == MIP_INTERRUPT:
        clock.record(out.mip_primal_bound * clock.unscale, out.mip_dual_bound * clock.unscale)
    if clock.over():
        into.user_interrupt = True


def watch(h: highspy._Highs, log: bool, clock: Clock | None) -> None:
    """Install :func:`callback` on ``h`` for the log and/or the clock. The caller keeps
    ``clock`` alive while ``h`` runs: highspy 1.16 holds no reference to a callback's data
    (a clock made inline and dropped crashed the process at HiGHS's first MIP callback)."""
    if not log and clock is None:
        return
    h.setCallback(callback, clock)
    if log:
        h.startCallback(_T.kCallbackLogging)
    if clock is not None:
        h.startCallback(_T.kCallbackMipInterrupt)
        if clock.cpu_limit_s is not None:
            h.startCallback(_T.kCallbackSimplexInterrupt)
