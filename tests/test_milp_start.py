"""The MIP start's stage 3 (optimizer/mip_start.py): the per-step integers searched with the
sizes fixed, on a hand-solved two-step genset case.

n = 2 gensets of 1 MW (fixed), output 0.5 u_t ≤ y_t ≤ u_t, demand y_t + g_t ≥ d_t with
d = (1.5, 0.2) MW; costs n + Σ y_t + 10 Σ g_t + 5 Σ s_t, starts s_0 ≥ u_0, s_1 ≥ u_1 − u_0.

* Relaxation: a MWh generated costs 1 + 5 (a start per unit on) < 10 from the grid, so y_0 =
  u_0 = s_0 = 1.5 and y_1 = 0.2 with u_1 ≤ u_0 (no start): 2 + 1.5 + 7.5 + 0.2 = 11.2.
* Stage 2 rounds up: u = (2, 1), y = (1.5, 0.5 at minimum load), s_0 = 2: 2 + 2 + 10 = 14.
* The optimum: u = (1, 1), y = (1, 0.5), g_0 = 0.5, s_0 = 1: 2 + 1.5 + 5 + 5 = 13.5
  (u_0 = 2 costs 11.5 at step 0 against 11, u_0 = 0 costs 15; u_1 = 0 costs 2 from the grid
  against 0.5).
"""

from __future__ import annotations

import highspy
import numpy as np
import pyomo.environ as pyo
import pytest

from wattbit import mip_start
from wattbit.mip_start import branches
from wattbit.solve import SolverOptions, compile_model, rounded_relaxation, solve_model
from wattbit.solver_setup import _new_highs


def gensets(installed: tuple[int, int] = (2, 2), grid_mw: float | None = None) -> pyo.ConcreteModel:
    """The module doc's case; ``installed``: the bounds of n (tests/test_relaxation.py frees it),
    ``grid_mw``: the grid's limit."""
    m = pyo.ConcreteModel()
    d = [1.5, 0.2]
    m.T = pyo.RangeSet(0, 1)
    m.n = pyo.Var(within=pyo.NonNegativeIntegers, bounds=installed)
    m.u = pyo.Var(m.T, within=pyo.NonNegativeIntegers, bounds=(0, 3))
    m.y = pyo.Var(m.T, bounds=(0, None))
    m.g = pyo.Var(m.T, bounds=(0, grid_mw))
    m.s = pyo.Var(m.T, bounds=(0, None))
    m.installed = pyo.Constraint(m.T, rule=lambda m, t: m.u[t] <= m.n)
    m.min_load = pyo.Constraint(m.T, rule=lambda m, t: 0.5 * m.u[t] <= m.y[t])
    m.max_load = pyo.Constraint(m.T, rule=lambda m, t: m.y[t] <= m.u[t])
    m.demand = pyo.Constraint(m.T, rule=lambda m, t: m.y[t] + m.g[t] >= d[t])
    m.start = pyo.Constraint(m.T, rule=lambda m, t: m.s[t] >= m.u[t] - (m.u[t - 1] if t > 0 else 0))
    m.objective = pyo.Objective(expr=m.n + sum(m.y[t] + 10 * m.g[t] + 5 * m.s[t] for t in m.T))
    return m


def test_the_start_searches_the_steps_with_the_sizes_fixed():
    m = gensets()
    cm = compile_model(m)
    start = rounded_relaxation(cm, SolverOptions())
    column = {id(v): i for i, v in enumerate(cm.columns)}
    assert start.bound == pytest.approx(11.2, rel=1e-9)
    assert start.objective == pytest.approx(13.5, rel=1e-9)  # stage 2 alone: 14
    assert [start.values[column[id(m.u[t])]] for t in m.T] == pytest.approx([1, 1], abs=1e-6)
    sol, _ = solve_model(m, SolverOptions(mip_gap=0.0))
    assert sol.objective == pytest.approx(13.5, rel=1e-9)


def test_without_a_search_the_steps_are_rounded_up(monkeypatch):
    """With no share of the limits for stage 3 (it stops at once, keeping its start) the start is
    stage 2's: u = (2, 1) at 14."""
    import wattbit.solve as solve

    monkeypatch.setattr(solve, "POLISH_SHARE", 0.0)
    m = gensets()
    cm = compile_model(m)
    start = rounded_relaxation(cm, SolverOptions(cpu_limit_s=1e9))
    column = {id(v): i for i, v in enumerate(cm.columns)}
    assert start.objective == pytest.approx(14.0, rel=1e-9)
    assert [start.values[column[id(m.u[t])]] for t in m.T] == pytest.approx([2, 1], abs=1e-6)


def test_the_rounding_ends_when_the_relaxation_spent_the_cpu_budget():
    """A relaxation that spends the whole CPU budget still gets its start (stages 1 and 2): the
    type ③ case with gensets over the full year took its 300 s in the relaxation, and the
    rounding's LPs, interrupted at once, read as "no feasible rounding" (docs/milp.md). Here the
    budget is spent by a busy loop once the relaxation has ended (when its bound is computed,
    which reads the objective's offset); the start is stage 2's u = (2, 1) at 14 (stage 3 gets
    no time)."""
    import dataclasses
    import time

    from wattbit.solve import CompiledModel
    from wattbit.solve_clock import Clock

    clock = Clock(cpu_limit_s=0.2)

    class SpentAfterTheRelaxation(CompiledModel):
        @property
        def objective_offset(self) -> float:
            while not clock.over():
                time.process_time()
            return 0.0

        @objective_offset.setter
        def objective_offset(self, value: float) -> None:
            assert value == 0.0

    fields = dataclasses.fields(CompiledModel)
    compiled = compile_model(gensets())
    cm = SpentAfterTheRelaxation(**{f.name: getattr(compiled, f.name) for f in fields})
    start = rounded_relaxation(cm, SolverOptions(cpu_limit_s=0.2), clock)
    assert clock.over()
    assert start.objective == pytest.approx(14.0, rel=1e-9)
    assert start.bound == pytest.approx(11.2, rel=1e-9)


def _fuel_limited() -> pyo.ConcreteModel:
    """Two steps of demand 1 MW, gensets of 2 MW at 90 % minimum load (y_t ∈ [1.8 u_t, 2 u_t]),
    fuel for 3 MWh in all, a store that carries step 0's surplus to step 1 (0.1 per MWh),
    at most 0.9 MW from the grid per step (10 per MWh), 1 per genset on, 0.01 per genset bought.

    * Relaxation: u = (0.5, 0.5), y = (1, 1): 1 + 0.005 = 1.005 (n = 0.5).
    * Stage 1: n ≤ 0 is infeasible (no genset runs and the grid alone cannot carry 1 MW); n ≥ 1
      gives u = (0.5, 0.5) at 1.01, the start's bound, and n at 1.
    * Stage 2 fails: rounded up, u = (1, 1) burns at least 3.6 MWh; to the nearest (0.5 to even),
      u = (0, 0) leaves 1 MW a step to a grid of 0.9. The fall-back, every integer rounded at
      once, fails the same ways.
    * The optimum, found by the search with n fixed: u = (1, 0), y_0 = 2, 1 MWh stored:
      1 + 0.1 + 0.01 = 1.11 (u = (0, 1) leaves step 0 short)."""
    m = pyo.ConcreteModel()
    m.T = pyo.RangeSet(0, 1)
    m.n = pyo.Var(within=pyo.NonNegativeIntegers, bounds=(0, 2))
    m.u = pyo.Var(m.T, within=pyo.NonNegativeIntegers, bounds=(0, 2))
    m.y = pyo.Var(m.T, bounds=(0, None))
    m.g = pyo.Var(m.T, bounds=(0, 0.9))
    m.stored = pyo.Var(bounds=(0, None))
    m.installed = pyo.Constraint(m.T, rule=lambda m, t: m.u[t] <= m.n)
    m.min_load = pyo.Constraint(m.T, rule=lambda m, t: 1.8 * m.u[t] <= m.y[t])
    m.max_load = pyo.Constraint(m.T, rule=lambda m, t: m.y[t] <= 2 * m.u[t])
    m.fuel = pyo.Constraint(expr=m.y[0] + m.y[1] <= 3)
    m.balance_0 = pyo.Constraint(expr=m.y[0] + m.g[0] - m.stored == 1)
    m.balance_1 = pyo.Constraint(expr=m.y[1] + m.g[1] + m.stored == 1)
    m.objective = pyo.Objective(
        expr=0.01 * m.n + sum(m.u[t] + 10 * m.g[t] for t in m.T) + 0.1 * m.stored
    )
    return m


def test_steps_that_cannot_be_rounded_are_searched_from_no_start():
    """No rounding of the steps is feasible (the type ③ case with gensets over the full year,
    whose rounded-up gensets burn more fuel at minimum load than the tank holds): the search of
    stage 3 runs from no start with the sizes fixed, and finds the optimum."""
    m = _fuel_limited()
    cm = compile_model(m)
    start = rounded_relaxation(cm, SolverOptions(mip_gap=0.0))
    column = {id(v): i for i, v in enumerate(cm.columns)}
    assert start is not None
    assert start.bound == pytest.approx(1.01, rel=1e-9)
    assert start.objective == pytest.approx(1.11, rel=1e-9)
    assert [start.values[column[id(m.u[t])]] for t in m.T] == pytest.approx([1, 0], abs=1e-6)
    sol, _ = solve_model(m, SolverOptions(mip_gap=0.0))
    assert sol.objective == pytest.approx(1.11, rel=1e-9)


def test_without_the_search_unroundable_steps_give_no_start(monkeypatch):
    """The same case with no share of the limits for stage 3: before, this was every such case
    — no start at all, and HiGHS alone from scratch."""
    import wattbit.solve as solve

    monkeypatch.setattr(solve, "POLISH_SHARE", 0.0)
    start = rounded_relaxation(compile_model(_fuel_limited()), SolverOptions(cpu_limit_s=1e9))
    assert start is None


def test_the_branches_split_each_fractional_size_at_its_floor_and_ceiling():
    """Sizes 1.6 (in [0, 4]), 2 (whole) and 0.25 (in [0, 3]): four branches, the whole size
    keeping its bounds in each, nearest the relaxed sizes first: ≥ 2 and ≤ 0 move them by
    0.4 + 0.25 = 0.65, ≤ 1 and ≤ 0 by 0.6 + 0.25 = 0.85, ≥ 2 and ≥ 1 by 0.4 + 0.75 = 1.15,
    ≤ 1 and ≥ 1 by 0.6 + 0.75 = 1.35. Four fractional sizes are not branched on."""
    relaxed, lower, upper = np.array([1.6, 2.0, 0.25]), np.zeros(3), np.array([4.0, 5.0, 3.0])
    got = [(list(low), list(high)) for low, high in branches(relaxed, lower, upper)]
    assert got == [
        ([2, 0, 0], [4, 5, 0]),
        ([0, 0, 0], [1, 5, 0]),
        ([2, 0, 1], [4, 5, 3]),
        ([0, 0, 1], [1, 5, 3]),
    ]
    assert branches(np.full(4, 0.5), np.zeros(4), np.ones(4)) == []


def test_the_branches_keep_a_binary_size_on_first():
    """Type ③'s genset units, 7.17 of at most 40, and N+1's ``installed``, 0.179 (= 7.17 / 40):
    installed first, nearest first (≤ 7 units: 0.17 + 0.821; ≥ 8: 0.83 + 0.821), then not
    installed (≤ 7: 0.17 + 0.179; ≥ 8: 0.83 + 0.179), although ≤ 7 and not installed is the
    nearest."""
    relaxed, lower, upper = np.array([7.17, 0.179]), np.zeros(2), np.array([40.0, 1.0])
    got = [(list(low), list(high)) for low, high in branches(relaxed, lower, upper)]
    assert got == [
        ([0, 1], [7, 1]),
        ([8, 1], [40, 1]),
        ([0, 0], [7, 0]),
        ([8, 0], [40, 0]),
    ]


def test_a_branch_not_cheaper_than_a_whole_candidate_is_not_fixed_and_solved(monkeypatch):
    """min x1 + 3 x2 with x1 + x2 ≥ 2.5, both sizes in [0, 10]: relaxed x1 = 2.5. At least 3:
    x1 = 3, cost 3, whole, a candidate as it is. At most 2: x1 = 2, x2 = 0.5, cost 3.5, whose
    sizes rounded up (2, 1) could cost no less than 3.5 > 3, so that LP is not solved. The
    bound is the cheaper branch, 3, against the relaxation's 2.5."""
    h = _new_highs(SolverOptions())  # HiGHS's scheduler with the thread count of every solve
    h.addVars(2, np.zeros(2), np.full(2, 10.0))
    h.changeColsCost(2, np.array([0, 1], dtype=np.int32), np.array([1.0, 3.0]))
    h.addRow(2.5, highspy.kHighsInf, 2, np.array([0, 1], dtype=np.int32), np.ones(2))
    h.run()
    relaxed = np.asarray(h.getSolution().col_value)
    assert relaxed.tolist() == pytest.approx([2.5, 0.0])
    fixed = []
    monkeypatch.setattr(mip_start, "_solve_fixed", lambda *args: fixed.append(args))
    sizes = np.array([0, 1], dtype=np.int32)
    branching = mip_start._branched_sizes(
        h, sizes, np.array([1.0, 3.0]), relaxed, np.zeros(2), np.full(2, 10.0)
    )
    assert branching.best.sizes.tolist() == [3.0, 0.0]
    assert branching.best.values.tolist() == pytest.approx([3.0, 0.0])
    assert branching.leaves == [] and branching.bound == pytest.approx(3.0)
    assert fixed == []


def test_a_branch_stopped_at_the_best_candidate_costs_at_least_that(monkeypatch):
    """Two winter weeks of the example with the battery, PV and gensets in units (test_milp's
    case without N+1, the gensets priced as in the MILP benchmark): 3 fractional sizes, 8
    branches. Once a branch's optimum is whole, later branches stop where their dual objective
    passes its cost; each one that stops is solved on to its optimum here, which must lie above
    that cost, with the value reported at the stop between the two (a lower bound of the
    branch). HiGHS scales the objective by 2^-15 here (``user_objective_scale``): the cut-off
    is handed to it in those units."""
    from test_milp import EXAMPLE, UNITS

    from wattbit.case import load_case
    from wattbit.strategies import solve_case

    overrides = {k: v for k, v in UNITS.items() if k != "generator.redundant_units"}
    overrides.update(
        {
            "horizon.start": "2025-12-01T00:00:00+09:00",
            "horizon.steps": 336,
            "generator.capex_jpy_per_kw": 120_000.0,
            "generator.om_jpy_per_kw_year": 1_500.0,
        }
    )
    solve_branch, seen = mip_start._solve_branch, []

    def checked(highs, sizes, low, high, cutoff):
        status, value = solve_branch(highs, sizes, low, high, cutoff)
        if status == highspy.HighsModelStatus.kObjectiveBound:
            _, optimum = solve_branch(highs, sizes, low, high, np.inf)
            seen.append((cutoff, value, optimum, highs.getModelStatus()))
        return status, value

    monkeypatch.setattr(mip_start, "_solve_branch", checked)
    run = solve_case(load_case(EXAMPLE, overrides))
    assert run.ok and run.verification.ok, (run.solution.status, run.solution.message)
    assert seen, "no branch stopped at the best candidate"
    for cutoff, value, optimum, status in seen:
        assert status == highspy.HighsModelStatus.kOptimal
        assert cutoff <= value * (1 + 1e-12)
        assert value <= optimum * (1 + 1e-12)


def _two_step_gensets() -> pyo.ConcreteModel:
    m = pyo.ConcreteModel()
    d = [1.05, 0.05]
    m.T = pyo.RangeSet(0, 1)
    m.u = pyo.Var(m.T, within=pyo.NonNegativeIntegers, bounds=(0, 2))
    m.y = pyo.Var(m.T, bounds=(0, None))
    m.g = pyo.Var(m.T, bounds=(0, None))
    m.min_load = pyo.Constraint(m.T, rule=lambda m, t: 0.5 * m.u[t] <= m.y[t])
    m.max_load = pyo.Constraint(m.T, rule=lambda m, t: m.y[t] <= m.u[t])
    m.demand = pyo.Constraint(m.T, rule=lambda m, t: m.y[t] + m.g[t] >= d[t])
    m.objective = pyo.Objective(expr=sum(0.01 * m.u[t] + m.y[t] + 3 * m.g[t] for t in m.T))
    return m


def test_the_steps_take_the_cheapest_rounding_of_their_fractions():
    """Gensets on u_t ≤ 2 of 1 MW, 50 % minimum load (0.5 u ≤ y ≤ u), output at 1, the grid at 3,
    0.01 a genset on, demand 1.05 then 0.05. The relaxation runs u = y = d (bound 1.01 × 1.1 =
    1.111). Every fraction up, u = (2, 1), burns 0.5 at minimum load in step 1: 0.02 + 1.05 + 0.01
    + 0.5 = 1.58. Fractions above 0.1 (also 0.25, 0.5) up, u = (1, 0): y = (1, 0), the grid 0.05
    twice: 0.01 + 1 + 0.15 + 0.15 = 1.31, the start. (The optimum, u = (2, 0), is 1.22: stage 3
    would search for it where the model has sizes.)"""
    m = _two_step_gensets()
    cm = compile_model(m)
    start = rounded_relaxation(cm, SolverOptions())
    column = {id(v): i for i, v in enumerate(cm.columns)}
    assert start.bound == pytest.approx(1.111, rel=1e-9)
    assert start.objective == pytest.approx(1.31, rel=1e-9)
    assert [start.values[column[id(m.u[t])]] for t in m.T] == pytest.approx([1, 0], abs=1e-9)
    sol, _ = solve_model(m, SolverOptions(mip_gap=0.0))
    assert sol.objective == pytest.approx(1.22, rel=1e-9)


@pytest.mark.parametrize(("gap", "kept"), [(0.5, 1.58), (0.25, 1.31)])
def test_the_steps_keep_the_first_rounding_within_the_gap(gap, kept):
    """The case above with a MIP gap against the bound 1.111: every fraction up (1.58, the first
    rounding tried) is (1.58 - 1.111) / 1.58 = 29.7 % above it, kept with a 50 % gap although
    1.31 is cheaper; with 25 % it is not enough and the next rounding, 1.31 (15.2 % above), is
    kept."""
    start = rounded_relaxation(compile_model(_two_step_gensets()), SolverOptions(mip_gap=gap))
    assert start.objective == pytest.approx(kept, rel=1e-9)


@pytest.mark.parametrize(("gap", "bound", "objective"), [(0.4, 1.611, 2.58), (0.3, 2.111, 2.31)])
def test_the_branches_left_are_solved_only_if_the_start_needs_their_bound(gap, bound, objective):
    """The case above with a size s ∈ {0, 1, …} at cost 1 and s ≥ 0.5: relaxation 1.111 + 0.5 =
    1.611. The branch s ≥ 1 (whole, 2.111) is first and within both gaps of 1.611 (23.7 %), so
    s ≤ 0 is left. Stage 2's first rounding, 1.58 + 1 = 2.58, is 37.6 % above 1.611: with a 40 %
    gap the start, the branch left never solved, the bound the relaxation's. With 30 % the next,
    2.31, is still 30.3 % above it, so the branch left is solved (infeasible) and the bound is
    the whole branch's 2.111, against which 2.31 is within the gap."""
    m = _two_step_gensets()
    m.s = pyo.Var(within=pyo.NonNegativeIntegers, bounds=(0, 10))
    m.s_min = pyo.Constraint(expr=m.s >= 0.5)
    m.objective.expr += m.s
    start = rounded_relaxation(compile_model(m), SolverOptions(mip_gap=gap))
    assert start.bound == pytest.approx(bound, rel=1e-9)
    assert start.objective == pytest.approx(objective, rel=1e-9)
