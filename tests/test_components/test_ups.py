"""UPS block (U1–U6) built alone, with hand-derived expectations."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from test_components.closing import MW, REL, close, given, model, solve, supply, values
from wattbit.formulations.common import Size
from wattbit.formulations.storage import StorageRule
from wattbit.formulations.ups import UPSData, define_ups


def test_ups_bridges_a_cut_and_recharges_where_energy_is_cheapest():
    """(U1)–(U6). 4 steps of Δt = 0.5 h, α = 8760/2 = 4380. Load 3 MW; the grid is cut at
    step 1 (u = [0, 1, 0, 0]) and costs [10 000, –, 20 000, 30 000] JPY/MWh otherwise; unserved
    load 1e6 JPY/MWh. U = 2 MW, autonomy 30 min: e ≤ (30/60)·2 = 1 MWh (U3). In the cut the UPS
    gives its power, d_1 = 2 MW for 0.5 h = 1 MWh (U2), so it must hold e_0 = 1 MWh (U3 binds);
    the cheapest way is c_0 = 2 MW at step 0 (U1 binds) from e_{−1} = 0, and the cycle closes
    at e_3 = e_{−1} = 0 (U5). e = [1, 0, 0, 0]; import [5, 0, 3, 3]; 1 MW unserved at step 1.
    Energy = α Δt (10 000·5 + 20 000·3 + 30 000·3) = 2190 · 200 000 = 438 000 000; capex (U6)
    = k_U U = 2e6 JPY/yr."""
    m = model(4, dt_h=0.5)
    data = UPSData(
        power_mw=Size.fixed(2.0),
        autonomy_minutes=30.0,
        discharge_allowed=np.array([0.0, 1.0, 0.0, 0.0]),
        storage=StorageRule(1.0, 1.0, 0.0),
        capex_jpy_per_mw_year=1e6,
    )
    ups = define_ups(m, data)
    given(m, "demand", [-3.0] * 4)
    big = 100.0
    grid = supply(
        m, "grid", price=[10_000.0, 10_000.0, 20_000.0, 30_000.0], max_mw=[big, 0.0, big, big]
    )
    unserved = supply(m, "unserved", price=1e6)
    close(m)
    solve(m)
    np.testing.assert_allclose(values(ups.discharge_mw), [0.0, 2.0, 0.0, 0.0], atol=MW)
    np.testing.assert_allclose(values(ups.charge_mw), [2.0, 0.0, 0.0, 0.0], atol=MW)
    np.testing.assert_allclose(values(ups.soc_mwh), [1.0, 0.0, 0.0, 0.0], atol=MW)
    assert pyo.value(ups.soc_initial_mwh) == pytest.approx(0.0, abs=MW)
    np.testing.assert_allclose(values(grid.p_mw), [5.0, 0.0, 3.0, 3.0], atol=MW)
    np.testing.assert_allclose(values(unserved.p_mw), [0.0, 1.0, 0.0, 0.0], atol=MW)
    assert pyo.value(grid.cost_energy_jpy) == pytest.approx(438_000_000.0, rel=REL)
    assert pyo.value(ups.cost_capex_jpy) == pytest.approx(2e6, rel=REL)


def test_ups_never_discharges_outside_a_cut():
    """(U2) with u = 0 everywhere: however dear the grid, d_t ≤ u_t U = 0."""
    m = model(3)
    data = UPSData(Size.fixed(2.0), 60.0, np.zeros(3), StorageRule(1.0, 1.0, 0.0))
    ups = define_ups(m, data)
    given(m, "demand", [-1.0] * 3)
    supply(m, "grid", price=[1.0, 1e6, 1e6])
    close(m)
    solve(m)
    np.testing.assert_allclose(values(ups.discharge_mw), 0.0, atol=MW)
