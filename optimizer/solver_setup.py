"""HiGHS set up for one solve: :class:`SolverOptions` and the options every instance gets.

Kept apart from :mod:`wattbit.solve` (the Pyomo → HiGHS hand-off and the solve itself) so that
what a HiGHS instance is given — time and CPU limits, MIP gap, threads, the objective's scale,
``simplex_scale_strategy`` (docs/performance.md, "HiGHS options and cost scaling") — reads in
one place.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import highspy
import numpy as np

from wattbit.solve_clock import Clock, watch

LOG_ENV = "WATTBIT_SOLVER_LOG"
"""Set to ``1`` (``wattbit --log``), every solve shows HiGHS's log on stderr, also in sweep
worker processes, which inherit the environment."""


def _log_wanted() -> bool:
    return os.environ.get(LOG_ENV) == "1"


@dataclass(frozen=True)
class SolverOptions:
    time_limit_s: float = 600.0
    mip_gap: float = 1e-4
    threads: int = 1
    log: bool = field(default_factory=_log_wanted)
    mip_start: bool = True  # a MIP without a warm start starts from its rounded LP relaxation
    cpu_limit_s: float | None = None  # CPU seconds of this process (solve_clock.py); None: no limit


def objective_scale(costs: np.ndarray) -> int:
    """HiGHS ``user_objective_scale`` (a power of 2) that brings the largest cost to ~2^10.

    Costs here are JPY per MW(h) per year, up to ~1e7: unscaled, the dual simplex works with badly
    scaled reduced costs. On the full-year example (docs/performance.md) this with
    ``simplex_scale_strategy`` 4 cut HiGHS's CPU time from 15.4 s to 5.0 s; scaling to ~16
    instead was slower (7.6 s) and let costs below ~1e-8 of the largest fall under the dual
    tolerance. 0 (no scaling) for small costs.
    """
    largest = float(np.max(np.abs(costs), initial=0.0))
    return -max(0, math.ceil(math.log2(largest)) - 10) if largest > 0 else 0


_scheduler_threads: dict[str, int] = {}  # the thread count HiGHS's global scheduler runs with


def _threads(threads: int) -> int:
    """``threads``, restarting HiGHS's process-wide scheduler when it was started with another
    count (else HiGHS ends the solve with status "Not Set")."""
    if _scheduler_threads.get("threads", threads) != threads:
        highspy.Highs.resetGlobalScheduler(True)
    _scheduler_threads["threads"] = threads
    return threads


def _new_highs(
    options: SolverOptions, lp: highspy.HighsLp | None = None, clock: Clock | None = None
) -> highspy.Highs:
    # The core class: the Python ``Highs`` wrapper adds callbacks we do not use and prints a banner.
    h = highspy._Highs()
    h.setOptionValue("output_flag", options.log)
    if options.log:  # the log on stderr, so stdout carries only the command's own output
        h.setOptionValue("log_to_console", False)
    watch(h, options.log, clock)
    h.setOptionValue("time_limit", float(options.time_limit_s))
    h.setOptionValue("mip_rel_gap", float(options.mip_gap))
    h.setOptionValue("threads", _threads(int(options.threads)))
    h.setOptionValue("simplex_scale_strategy", 4)
    if lp is not None:
        h.setOptionValue("user_objective_scale", objective_scale(np.asarray(lp.col_cost_)))
    return h
