"""Sizes in whole units (I1, I2), built on a battery alone, with hand-derived expectations."""

from __future__ import annotations

import pyomo.environ as pyo
import pytest

from test_components.closing import MW, REL, close, given, model, solve, supply
from wattbit.formulations.battery import BatteryData, define_battery
from wattbit.formulations.common import Size
from wattbit.formulations.modular import unit_range
from wattbit.formulations.storage import StorageRule

ALPHA = 4380.0  # 2 steps of 1 h
K_E = 1e6  # JPY/MWh/yr of battery energy


def _battery_site(energy: Size, unserved_price: float) -> tuple[pyo.ConcreteModel, pyo.Block]:
    """2 steps of 1 h: free energy at step 0 (up to 10 MW), a 2.4 MW load at step 1 that only the
    battery (lossless, fixed start and end at 0) or unserved load at ``unserved_price`` meets."""
    m = model(2)
    bat = define_battery(
        m,
        BatteryData(
            power_mw=Size.fixed(10.0),
            energy_mwh=energy,
            storage=StorageRule(1.0, 1.0, 0.0),
            soc_rule="fixed",
            initial_soc_fraction=0.0,
            energy_capex_jpy_per_mwh_year=K_E,
        ),
    )
    given(m, "demand", [0.0, -2.4])
    supply(m, "grid", price=0.0, max_mw=[10.0, 0.0])
    supply(m, "unserved", price=unserved_price)
    close(m)
    return m, bat


@pytest.mark.parametrize(
    ("unserved_price", "units"),
    [(1_000.0, 3), (500.0, 2)],
    ids=["rounds-up", "rounds-down"],
)
def test_battery_units_round_up_or_down_as_the_unit_cost_says(unserved_price, units):
    """(I1, I2). α = 4380. The LP sizes E = 2.4 MWh whenever a stored MWh (k_E + k_n/ū = 1.5e6
    JPY/yr with ū = 1 MWh, k_n = 5e5 JPY/unit/yr) costs less than a MWh unserved, α p (4.38e6 at
    p = 1000, 2.19e6 at p = 500). In units: n = 3 costs 3 · 1.5e6 = 4.5e6; n = 2 costs 3.0e6 plus
    0.4 MWh unserved, 0.4 α p = 1.752e6 at p = 1000 (total 4.752e6: round up) or 0.876e6 at
    p = 500 (total 3.876e6: round down)."""
    m, bat = _battery_site(Size(0.0, 10.0, unit=1.0, unit_cost_jpy_per_year=5e5), unserved_price)
    solve(m)
    assert pyo.value(bat.energy_mwh_units) == pytest.approx(units, abs=MW)
    assert pyo.value(bat.energy_mwh) == pytest.approx(float(units), abs=MW)
    assert pyo.value(bat.cost_energy_mwh_units_jpy) == pytest.approx(5e5 * units, rel=REL)
    expected = {3: 4.5e6, 2: 3.0e6 + 0.4 * ALPHA * 500.0}[units]
    assert pyo.value(m.objective) == pytest.approx(expected, rel=REL)
    lp, lp_bat = _battery_site(Size(0.0, 10.0), unserved_price)
    solve(lp)
    assert pyo.value(lp_bat.energy_mwh) == pytest.approx(2.4, abs=MW)


def test_tiny_units_give_the_lp_optimum_to_the_gap():
    """(I1). With ū = 0.007 MWh, E* is the multiple of ū at or above the LP's 2.4 MWh,
    ⌈2.4/0.007⌉ · 0.007 = 343 · 0.007 = 2.401 MWh (the unserved price 1000 JPY/MWh makes rounding
    up pay, as above): the MILP costs the LP's 2.4e6 JPY/yr plus 0.001 k_E = 1000, within one
    unit's capex of the LP and well inside the default MIP gap (1e-4) plus that unit."""
    m, bat = _battery_site(Size(0.0, 10.0, unit=0.007), 1_000.0)
    solve(m)
    lp, _ = _battery_site(Size(0.0, 10.0), 1_000.0)
    solve(lp)
    milp_cost, lp_cost = pyo.value(m.objective), pyo.value(lp.objective)
    assert lp_cost == pytest.approx(2.4e6, rel=REL)
    assert lp_cost - 1e-6 <= milp_cost <= lp_cost + 0.007 * K_E + 1e-4 * milp_cost
    assert pyo.value(bat.energy_mwh_units) == pytest.approx(343, abs=MW)


def test_unit_range_counts_whole_units_inside_the_bounds():
    """(I1): n ∈ [⌈X_min/ū⌉, ⌊X_max/ū⌋]; a bound within 1e-9 of a unit counts as that unit."""
    assert unit_range(0.0, 10.0, 2.5) == (0, 4)
    assert unit_range(1.0, 9.9, 2.5) == (1, 3)
    assert unit_range(7.5 + 1e-12, 7.5, 2.5) == (3, 3)
    assert unit_range(3.0, 4.0, 2.5) == (2, 1)  # empty: the schema refuses it
