"""Warm re-solves (wattbit.warm) equal cold solves: objective to 1e-9 relative, sizes to 1e-6."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_exclusivity import MILP_COST, NEGATIVE, burn_case

from wattbit import optimise
from wattbit import warm as warm_module
from wattbit.case import load_case
from wattbit.inputs import build_inputs
from wattbit.optimise import Run, options_from_case, solve_inputs
from wattbit.sizes import investment_name, lifetime_name, size_names
from wattbit.solve import LP_DUALS, RELATIVE_DUALS, lp_duals, objective_scale
from wattbit.studies.breakeven import PriceSolves, size_zero, vs_load_following
from wattbit.studies.cells import apply_strategy
from wattbit.warm import NOT_IN_MODEL, WarmModel, solve_warm

CASE = Path(__file__).resolve().parents[1] / "cases" / "type2_battery_wins" / "case.toml"
CUT = {"horizon.steps": 48, "grid.mode": "type2_dynamic"}
PRICE = "battery.energy_capex_jpy_per_kwh"


def inputs_at(**overrides: object):
    loaded = load_case(CASE, {**CUT, **overrides})
    return build_inputs(loaded), options_from_case(loaded)


def assert_same(warm: Run, cold: Run, sizes: bool = True) -> None:
    """Equal objectives; equal sizes unless the optimum is not unique in them (``sizes=False``:
    free battery energy, where any energy above what is used is optimal)."""
    assert warm.ok and cold.ok
    w, c = warm.kpis["total_cost_jpy"], cold.kpis["total_cost_jpy"]
    assert w == pytest.approx(c, rel=1e-9)
    assert warm.solution.objective == pytest.approx(cold.solution.objective, rel=1e-9)
    for size in size_names(cold.results) if sizes else ():
        assert warm.kpis[size] == pytest.approx(cold.kpis[size], abs=1e-6), size
    assert warm.verification.max_violation < 1e-6


def test_price_steps_are_warm_and_equal_cold():
    warm = None
    for price in (40_000, 80_000, 10_000, 160_000, 0):
        inputs, options = inputs_at(**{PRICE: price})
        run, warm = solve_warm(warm, inputs, options)
        assert_same(run, solve_inputs(inputs, options), sizes=price > 0)
    assert (warm.stats.warm, warm.stats.cold) == (5, 0)


def test_duals_feasible_relative_to_the_costs_only_are_kept_warm(monkeypatch):
    """A warm optimum is taken as a cold solve would take it (``solve.lp_duals``): duals that
    HiGHS calls infeasible in absolute terms but not relative to the costs are kept and marked,
    not re-solved cold (the full-year ``firm`` cell of a comparison ended so, 1.4e-7 absolute)."""
    inputs, options = inputs_at()
    monkeypatch.setattr(warm_module, "lp_duals", lambda h: (*lp_duals(h)[:2], False))
    run, warm = solve_warm(None, inputs, options)
    assert (warm.stats.warm, warm.stats.cold) == (1, 0)
    assert run.results.attrs["duals_source"] == LP_DUALS + RELATIVE_DUALS
    assert_same(run, solve_inputs(inputs, options))


def test_size_bounds_are_warm_and_equal_cold():
    base, options = inputs_at()
    warm = WarmModel.from_inputs(base, options)
    warm.solve()
    free = solve_inputs(base, options).kpis["battery_energy_mwh"]
    assert free > 0.1
    for cap in (0.5 * free, 0.0, 2.0 * free):
        inputs, _ = inputs_at(**{"battery.energy_mwh": {"min": 0.0, "max": cap}})
        assert warm.update(inputs)
        run = warm.solve()
        assert run.kpis["battery_energy_mwh"] <= cap + 1e-6
        assert_same(run, solve_inputs(inputs, options))
    assert warm.stats.cold == 0


def test_mode_change_is_no_update_but_a_rebase():
    """Another mode changes a series (the import limit): not a cost/bound update of the inputs,
    but the rebuilt LP has the same matrix, so the kept model takes it (``rebase``)."""
    base, options = inputs_at()
    warm = WarmModel.from_inputs(base, options)
    warm.solve()
    other, _ = inputs_at(**{"grid.mode": "type2_fixed"})
    assert not warm.update(other)
    assert warm.inputs is base  # nothing applied
    run, kept = solve_warm(warm, other, options)
    assert kept is warm and warm.stats.rebased == 1
    assert_same(run, solve_inputs(other, options))


def test_rebase_takes_an_lp_of_another_objective_scale():
    """A price 32× the case's under another mode: HiGHS's objective scale for the new LP differs
    from the kept one's, the kept model still takes it (HiGHS keeps its scale, as for a price
    update) and the answer is the cold solve's."""
    base, options = inputs_at()
    warm = WarmModel.from_inputs(base, options)
    warm.solve()
    other, _ = inputs_at(**{"grid.mode": "type2_fixed", PRICE: 1_280_000})
    built = WarmModel.build(other, options)
    assert objective_scale(np.asarray(built.compiled.lp.col_cost_)) != objective_scale(warm._costs)
    run, kept = solve_warm(warm, other, options)
    assert kept is warm and warm.stats.rebased == 1
    assert_same(run, solve_inputs(other, options))


def test_structural_change_is_refused_and_solved_on_a_new_model():
    base, options = inputs_at()
    warm = WarmModel.from_inputs(base, options)
    warm.solve()
    loaded = load_case(CASE, CUT)
    other = apply_strategy(build_inputs(loaded), "load_following", loaded.file)
    assert not warm.update(other)
    run, kept = solve_warm(warm, other, options)
    assert kept is not warm and warm.stats.rebased == 0
    assert_same(run, solve_inputs(other, options))


def test_exclusivity_always_is_not_kept_warm():
    inputs, options = inputs_at(**{"battery.exclusive": "always"})
    assert WarmModel.from_inputs(inputs, options) is None
    run, kept = solve_warm(None, inputs, options)
    assert kept is None
    assert run.results.attrs["battery_exclusive_mode"] == "always"


@pytest.mark.parametrize("question", ["vs_load_following", "size_zero"])
def test_breakeven_steps_equal_cold_solves(question):
    solves = PriceSolves(CASE, {"horizon.steps": 48})
    if question == "vs_load_following":
        result = vs_load_following(solves, "type2_dynamic", tolerance=1e-2)
        strategy = "battery_shaped"
    else:
        result = size_zero(solves, "both", "type2_dynamic", tolerance=1e-2)
        strategy = "both"
    assert len(result.points) >= 4
    warm = solves.pool.models[0]
    assert warm.inputs.attrs["strategy"] == strategy
    assert warm.stats.warm >= len(result.points) - 1
    for price, _ in result.points[:: max(1, len(result.points) // 3)]:
        loaded = load_case(CASE, {"horizon.steps": 48, "grid.mode": "type2_dynamic", PRICE: price})
        inputs = apply_strategy(build_inputs(loaded), strategy, loaded.file)
        assert_same(
            solves.run(strategy, "type2_dynamic", price), solve_inputs(inputs, warm.options)
        )


def test_lp_that_burns_energy_falls_back_to_the_exclusivity_rule(make_case, monkeypatch):
    """The hand case of tests/test_exclusivity.py: at a negative price the LP charges and
    discharges at once (cost α·25 000); under ``auto`` the warm model hands its LP optimum to the
    rule as its first solve, so the one solve left is the MILP with one binary, optimum α·30 000."""
    loaded = load_case(burn_case(make_case, NEGATIVE), {"battery.exclusive": "auto"})
    inputs, options = build_inputs(loaded), options_from_case(loaded)
    solved = []
    real = optimise.solve_model
    monkeypatch.setattr(
        optimise, "solve_model", lambda m, *a, **k: solved.append(m) or real(m, *a, **k)
    )
    run, warm = solve_warm(None, inputs, options)
    assert len(solved) == 1 and solved[0].find_component("battery.charging") is not None
    monkeypatch.undo()
    assert (warm.stats.warm, warm.stats.cold) == (0, 1)
    assert run.kpis["total_cost_jpy"] == pytest.approx(MILP_COST, rel=1e-9)
    assert run.results.attrs["battery_exclusivity_binaries"] == 1
    assert_same(run, solve_inputs(inputs, options))


def test_scalars_taken_as_free_do_not_enter_the_model():
    """What ``update`` lets differ without touching HiGHS (investments, lifetimes,
    ``warm.NOT_IN_MODEL``) compiles to the same LP when moved: if a formulation starts reading
    one, this fails and it must leave the free list."""
    base, options = inputs_at()
    moved = base.copy()
    sizes = size_names(base)
    free = [*NOT_IN_MODEL, *(investment_name(s) for s in sizes), *(lifetime_name(s) for s in sizes)]
    present = [name for name in free if name in base]
    assert set(NOT_IN_MODEL) <= set(present)
    for name in present:
        moved[name] = ((), 3.0 * float(base[name]) + 7.0)
    a, b = WarmModel.build(base, options), WarmModel.build(moved, options)
    lp, other = a.compiled.lp, b.compiled.lp
    assert WarmModel.from_built(a, options).fits(b)
    for attr in ("col_cost_", "col_lower_", "col_upper_", "row_lower_", "row_upper_"):
        assert list(getattr(lp, attr)) == list(getattr(other, attr)), attr
    assert lp.offset_ == other.offset_
