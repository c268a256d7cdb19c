"""Two-stage scenario structure (K1–K3, K5) built alone on tiny sites, with hand-derived values."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from test_components.closing import MW, REL, given, model, solve, supply, values
from wattbit.formulations.battery import BatteryData, define_battery
from wattbit.formulations.common import Size
from wattbit.formulations.dc_load import DataCentreData, define_data_centre
from wattbit.formulations.pv import PVData, define_pv
from wattbit.formulations.scenarios import (
    define_scenario_objective,
    define_scenarios,
    scenario_tree,
)
from wattbit.formulations.shutdown import ShutdownData, define_protected_kept, define_shutdown
from wattbit.formulations.site import define_site_balance
from wattbit.formulations.storage import StorageRule

PRICE = 10_000.0
ALPHA_PRICE = 8760 / 3 * PRICE  # α π = 29.2e6 JPY per MW-year of energy


def test_one_pv_size_for_every_scenario_at_the_expected_cost():
    """(K1), (K2). 3 steps, α = 2920. A 1 MW load, grid at π; PV K ∈ [0, 10] at k_K = 0.5 α π.
    Scenario 0 (p = 0.25) has sun all day (a = 1), scenario 1 (p = 0.75) none. One K for both
    (K1): each MW up to the load saves 3 α π in scenario 0 only, an expected 0.75 α π > k_K, and
    nothing above 1 MW: K* = 1 in both scenarios and the first stage. Expected cost (K2)
    = k_K + 0.25 · 0 + 0.75 · 3 α π = 2.75 α π = 80 300 000 JPY/yr."""
    m = model(3)
    sun = {0: np.ones(3), 1: np.zeros(3)}

    def site(blk, k):
        define_pv(blk, PVData(Size(0.0, 10.0), sun[k], capex_jpy_per_mw_year=0.5 * ALPHA_PRICE))
        given(blk, "demand", [-1.0] * 3)
        supply(blk, "grid", price=PRICE)
        define_site_balance(blk)

    define_scenarios(m, [0.25, 0.75], [("pv", "capacity_mw")], site)
    define_scenario_objective(m)
    solve(m)
    assert pyo.value(m.first_stage.pv_capacity_mw) == pytest.approx(1.0, abs=MW)
    for k in (0, 1):
        assert pyo.value(m.scenario[k].pv.capacity_mw) == pytest.approx(1.0, abs=MW)
    np.testing.assert_allclose(values(m.scenario[1].grid.p_mw), 1.0, atol=MW)
    assert pyo.value(m.expected_cost_jpy) == pytest.approx(2.75 * ALPHA_PRICE, rel=REL)


def test_probabilities_must_sum_to_one():
    """(K2): Σ p_k = 1, else the structure is refused."""
    with pytest.raises(ValueError, match=r"sum to 0\.9,"):
        define_scenarios(model(3), [0.5, 0.4], [], lambda blk, k: None)


@pytest.mark.parametrize(("tree", "expected"), [(None, 3.5), ([(0, 0), (0, 2)], 4.0)])
def test_dispatch_before_the_scenarios_part_is_shared(tree, expected):
    """(K3). 3 steps, p = [0.5, 0.5]; a 1 MW load, grid at π, unserved load at 1e6 JPY/MWh;
    a battery P = 2 MW, E = 1 MWh, η_c = 0.5, empty at both ends (rule "fixed", σ_0 = σ_n = 0).
    Scenario 1 loses the grid at step 2; it must have charged 2 MWh (→ 1 MWh stored) at steps
    0–1 to carry it: 4 MWh bought, cost 4 α π. Scenario 0 needs no battery: 3 α π. Without K3
    each scenario knows its future: expected 3.5 α π. With K3 and the tree (π_1, σ_1) = (0, 2)
    scenario 1 dispatches as scenario 0 until step 2, so both charge; scenario 0 then uses the
    stored 1 MWh at step 2 but has bought 4 MWh all the same: expected 4 α π = 116 800 000."""
    m = model(3)
    grid_max = {0: [10.0, 10.0, 10.0], 1: [10.0, 10.0, 0.0]}

    def site(blk, k):
        data = BatteryData(
            power_mw=Size.fixed(2.0),
            energy_mwh=Size.fixed(1.0),
            storage=StorageRule(0.5, 1.0, 0.0),
            soc_rule="fixed",
            initial_soc_fraction=0.0,
        )
        define_battery(blk, data)
        given(blk, "demand", [-1.0] * 3)
        supply(blk, "grid", price=PRICE, max_mw=grid_max[k])
        supply(blk, "unserved", price=1e6)
        define_site_balance(blk)

    define_scenarios(m, [0.5, 0.5], [], site, tree=tree)
    define_scenario_objective(m)
    solve(m)
    assert pyo.value(m.expected_cost_jpy) == pytest.approx(expected * ALPHA_PRICE, rel=REL)
    charged = [values(m.scenario[k].battery.charge_mw)[:2].sum() for k in (0, 1)]
    assert charged[1] == pytest.approx(2.0, abs=MW)
    assert charged[0] == pytest.approx(0.0 if tree is None else 2.0, abs=MW)


def test_scenario_tree_from_the_first_differences():
    """(K3)'s tree: scenario k follows the earlier scenario π_k whose data stay equal to its own
    longest, until σ_k = that first difference. δ = [[0, 2, 1], [2, 0, 3], [1, 3, 0]]:
    scenario 1 follows 0 until step 2; scenario 2 follows 1 (δ = 3 > 1) until step 3."""
    delta = [[0, 2, 1], [2, 0, 3], [1, 3, 0]]
    assert scenario_tree(delta) == [(0, 0), (0, 2), (1, 3)]


@pytest.mark.parametrize(("chance", "backup_mw"), [(1.0, 2.0), (0.8, 2.0), (0.7, 0.0)])
def test_a_chance_constrained_service_level_lets_a_light_scenario_fail(chance, backup_mw):
    """(K4) with (H7) relaxed by u_k. 3 steps, α = 2920. A 4 MW IT load (PUE 1) whose protected
    half (ψ = 0.5) must be kept on site through all 3 steps (H7); abrupt loss costs v = 20 000
    JPY/MWh (twice the energy price), no shutdown. Scenario 0 (p = 0.7) has the grid (4 MW at π); scenario 1 (p = 0.3) has none,
    so only a first-stage backup (PV K ∈ [0, 10], always available, k_K = 10 α π: never worth
    it for energy or for the loss it avoids, 0.7 · 3 α π + 0.3 · 3 α v = 1.3 α π a MW) can keep
    2 MW there. P = 1 or 0.8 > 0.7: both scenarios must meet H7 (u = 1, 1): K = 2, expected
    cost 2 k_K + 0.7 · 3 α π · 2 (the backup serves 2 MW in scenario 0 too) + 0.3 · 3 α v · 2.
    P = 0.7: u = (1, 0) suffices, scenario 1 loses its 4 MW: K = 0, 0.7 · 3 α π · 4
    + 0.3 · 3 α v · 4."""
    m = model(3)
    it, pue = np.full(3, 4.0), np.ones(3)
    grid_max = {0: [4.0] * 3, 1: [0.0] * 3}
    k_backup = 10 * ALPHA_PRICE
    protected = ShutdownData(it, pue, 0.5, np.zeros(3), 0.0, protected_steps=((0, 1, 2),))

    def site(blk, k):
        dc = define_data_centre(blk, DataCentreData(it, pue, 20_000.0))
        sd = define_shutdown(blk, protected, dc)
        required = m.survival_required[k] if chance < 1 else None
        define_protected_kept(sd, protected, dc, (), required)
        define_pv(blk, PVData(Size(0.0, 10.0), np.ones(3), capex_jpy_per_mw_year=k_backup))
        supply(blk, "grid", price=PRICE, max_mw=grid_max[k])
        define_site_balance(blk)

    define_scenarios(m, [0.7, 0.3], [("pv", "capacity_mw")], site, min_probability=chance)
    define_scenario_objective(m)
    solve(m)
    alpha = 8760 / 3
    assert pyo.value(m.first_stage.pv_capacity_mw) == pytest.approx(backup_mw, abs=MW)
    lost = 4.0 - backup_mw
    expected = (
        backup_mw * k_backup
        + 0.7 * 3 * alpha * PRICE * (4.0 - backup_mw)
        + 0.3 * 3 * alpha * lost * 20_000.0
    )
    assert pyo.value(m.expected_cost_jpy) == pytest.approx(expected, rel=REL)
    if chance < 1:
        assert [round(pyo.value(m.survival_required[k])) for k in (0, 1)] == (
            [1, 1] if backup_mw else [1, 0]
        )


def test_whole_units_are_integer_in_the_first_scenario_only():
    """(K5) on the PV case above with K in units of 0.4 MW: scenario 0's count of units is the
    only integer column, scenario 1's is continuous and tied to it. The relaxation would buy 2.5
    units (1 MW, 2.75 α π); whole, 2 units (0.8 MW) cost 0.4 α π + 0.25 · 3 · 0.2 α π (scenario 0
    buys 0.2 MW each step) + 0.75 · 3 α π = 2.8 α π, 3 units (1.2 MW) 0.6 α π + 0 + 2.25 α π =
    2.85 α π: 2 units in both scenarios, expected 2.8 α π = 81 760 000 JPY/yr."""
    m = model(3)
    sun = {0: np.ones(3), 1: np.zeros(3)}

    def site(blk, k):
        size = Size(0.0, 10.0, unit=0.4)
        define_pv(blk, PVData(size, sun[k], capex_jpy_per_mw_year=0.5 * ALPHA_PRICE))
        given(blk, "demand", [-1.0] * 3)
        supply(blk, "grid", price=PRICE)
        define_site_balance(blk)

    define_scenarios(m, [0.25, 0.75], [("pv", "capacity_mw")], site)
    define_scenario_objective(m)
    units = [m.scenario[k].pv.capacity_mw_units for k in (0, 1)]
    assert units[0].is_integer() and not units[1].is_integer()
    assert units[1].bounds == units[0].bounds == (0, 25)
    assert list(m.first_stage.integer_nonanticipative) == [(1, "pv.capacity_mw_units")]
    solve(m)
    assert [pyo.value(u) for u in units] == pytest.approx([2.0, 2.0], abs=1e-9)
    assert pyo.value(m.expected_cost_jpy) == pytest.approx(2.8 * ALPHA_PRICE, rel=REL)
