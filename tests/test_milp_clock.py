"""A MIP's CPU-time budget and bound trajectory (optimizer/solve_clock.py) on a hand-solved MIP.

min 100 + 7x + 5y  s.t. 4x + 3y ≥ 10,  x, y ∈ {0, 1, …, 10}.
The LP relaxation takes the cheaper MW per JPY, y = 10/3 (5/3 < 7/4 JPY per unit of the row):
bound 100 + 50/3 = 116.667. The start's branches on y (optimizer/mip_start.py): y ≤ 3 needs
x = 1/4, 100 + 1.75 + 15 = 116.75; y ≥ 4 gives (0, 4) at 120; so the start's bound is 116.75.
Its point is the cheaper of (0, 4) and the first branch's rounded up, (1, 3) at 122: 120 (gap
3.25/120 = 2.71 %). The integer optimum is (1, 2) at 117: (0, 4) 120, (2, 1) 119, (3, 0) 121,
(1, 2) 117.
"""

from __future__ import annotations

import itertools

import pyomo.environ as pyo
import pytest

from wattbit.solve import SolverOptions, solve_model

BOUND, START, OPTIMUM = 116.75, 120.0, 117.0


def _mip() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    m.x = pyo.Var(within=pyo.NonNegativeIntegers, bounds=(0, 10))
    m.y = pyo.Var(within=pyo.NonNegativeIntegers, bounds=(0, 10))
    m.cover = pyo.Constraint(expr=4 * m.x + 3 * m.y >= 10)
    m.objective = pyo.Objective(expr=100 + 7 * m.x + 5 * m.y)
    return m


def test_the_trajectory_starts_at_the_rounded_relaxation_and_ends_at_the_optimum():
    """First point: the rounded start (120) over its branches' bound (116.75); last: HiGHS's
    optimum 117, offset included; primal bounds never rise, and no dual bound passes 117."""
    m = _mip()
    sol, _ = solve_model(m, SolverOptions(mip_gap=0.0))
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(OPTIMUM, rel=1e-9)
    assert (pyo.value(m.x), pyo.value(m.y)) == pytest.approx((1, 2), abs=1e-6)
    first, last = sol.progress[0], sol.progress[-1]
    assert (first.primal, first.dual) == pytest.approx((START, BOUND), rel=1e-9)
    assert first.gap == pytest.approx((START - BOUND) / START, rel=1e-9)
    assert last.primal == pytest.approx(OPTIMUM, rel=1e-9)
    primals = [p.primal for p in sol.progress]
    assert primals == sorted(primals, reverse=True)
    assert all(p.dual <= OPTIMUM + 1e-9 for p in sol.progress)
    assert all(
        b.cpu_s >= a.cpu_s and b.wall_s >= a.wall_s for a, b in itertools.pairwise(sol.progress)
    )


def test_a_spent_cpu_budget_stops_the_solve():
    """With no CPU seconds to spend, HiGHS is interrupted before the relaxation ends: no point,
    and the message names the CPU limit (a wall-time limit would have let it finish)."""
    sol, _ = solve_model(_mip(), SolverOptions(mip_gap=0.0, cpu_limit_s=0.0, time_limit_s=60.0))
    assert sol.status == "no_solution"
    assert sol.message == "stopped at the CPU limit before any feasible solution"
    assert not sol.has_values
