"""Warm cells of ``wattbit compare`` (:class:`wattbit.warm.WarmPool` in
:class:`~wattbit.studies.breakeven.PriceSolves`) equal cold solves: objective to 1e-9 relative,
sizes to 1e-6, on a 72-step winter cut of ``cases/type2_battery_wins`` (evening pattern drops)."""

from __future__ import annotations

import numpy as np
import pytest
from test_warm import CASE, assert_same

from wattbit.case import load_case
from wattbit.inputs import build_inputs
from wattbit.optimise import options_from_case, solve_inputs
from wattbit.strategies import solve
from wattbit.studies.breakeven import PriceSolves
from wattbit.studies.cells import STRATEGIES, apply_strategy
from wattbit.warm import WarmModel, WarmPool

CUT = {"horizon.steps": 72, "horizon.start": "2026-01-12T00:00:00+09:00"}
MODES = ("type2_fixed", "type2_dynamic", "firm")


def cell_inputs(strategy: str, mode: str, **overrides: object):
    loaded = load_case(CASE, {**CUT, "grid.mode": mode, **overrides})
    return apply_strategy(build_inputs(loaded), strategy, loaded.file), options_from_case(loaded)


def test_compare_cells_are_warm_and_equal_cold():
    """Every cell of the three single-optimisation modes, in compare's order, through one pool:
    two structures (without and with a battery), every further cell re-solved on one of them
    (the case defers nothing, so ``both`` is ``battery_shaped``'s optimisation exactly)."""
    solves = PriceSolves(CASE, CUT)
    for mode in MODES:
        for strategy in STRATEGIES:
            warm = solves.run(strategy, mode)
            inputs, options = cell_inputs(strategy, mode)
            assert_same(warm, solve(inputs, options))
    models = solves.pool.models
    assert len(models) == 2  # load_following's LP and the battery strategies' LP
    # another mode: a rebase; ``both`` (nothing deferrable) has ``battery_shaped``'s inputs
    # exactly: its run, relabelled, no solve
    assert sum(m.stats.rebased for m in models) == 2 * (len(MODES) - 1)
    assert sum(m.stats.warm for m in models) == 2 * len(MODES)
    for mode in MODES:
        both, shaped = solves.run("both", mode), solves.run("battery_shaped", mode)
        assert both.kpis == shaped.kpis and both.inputs.attrs["strategy"] == "both"
        assert both.results.attrs["strategy"] == "both"
        assert shaped.results.attrs["strategy"] == "battery_shaped"
    assert solves.pool.stats.cold == 0 and all(m.stats.cold == 0 for m in models)


def test_rebase_moves_the_import_limit_rows_and_keeps_the_basis():
    """From ``type2_dynamic`` to ``type2_fixed`` only the right-hand sides of G1 (and the
    contract's column bounds) differ: the kept HiGHS model takes the fixed pattern's limits."""
    dynamic, options = cell_inputs("battery_shaped", "type2_dynamic")
    fixed, _ = cell_inputs("battery_shaped", "type2_fixed")
    assert not np.array_equal(dynamic["grid_import_limit_mw"], fixed["grid_import_limit_mw"])
    warm = WarmModel.from_inputs(dynamic, options)
    warm.solve()
    built = WarmModel.build(fixed, options)
    assert warm.rebase(built)
    lp = warm._highs.getLp()
    g1 = [
        i
        for i, row in enumerate(warm.compiled.rows)
        if row.parent_component().name.endswith("import_max")
    ]
    assert len(g1) == fixed.sizes["time"]
    assert np.asarray(lp.row_upper_)[g1] == pytest.approx(fixed["grid_import_limit_mw"].values)
    run = warm.solve()
    assert warm.stats.rebased == 1 and warm.stats.cold == 0
    assert_same(run, solve_inputs(fixed, options))


def test_other_matrix_is_refused_and_solved_on_a_new_model():
    """Load-following drops the battery block: another matrix, never rebased onto the battery's."""
    battery, options = cell_inputs("battery_shaped", "type2_dynamic")
    plain, _ = cell_inputs("load_following", "type2_dynamic")
    warm = WarmModel.from_inputs(battery, options)
    warm.solve()
    built = WarmModel.build(plain, options)
    assert not warm.fits(built) and not warm.rebase(built)
    assert warm.inputs is battery
    pool = WarmPool(options)
    pool.models.append(warm)
    assert_same(pool.solve(plain), solve_inputs(plain, options))
    assert len(pool.models) == 2 and pool.models[0] is not warm


def test_forecast_cell_sizes_on_the_kept_model_and_equals_cold():
    """The rolling horizon's perfect-foresight sizing is the ``type2_dynamic`` cell's LP: after
    that cell it is re-solved on the kept model; the realised result equals a cold solve."""
    solves = PriceSolves(CASE, CUT)
    solves.run("battery_shaped", "type2_dynamic")
    warm = solves.run("battery_shaped", "type2_forecast")
    (model,) = solves.pool.models
    assert model.stats.warm == 2 and model.stats.rebased == 1
    inputs, options = cell_inputs("battery_shaped", "type2_forecast")
    cold = solve(inputs, options)
    assert_same(warm, cold)
    assert warm.results.attrs["foresight_objective_jpy"] == pytest.approx(
        cold.results.attrs["foresight_objective_jpy"], rel=1e-9
    )
