"""EV fleet block (V1–V10) built alone, with hand-derived expectations."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyomo.environ as pyo
import pytest

from test_components.closing import (
    MW,
    REL,
    STEP_LENGTHS,
    close,
    given,
    minimise,
    model,
    solve,
    supply,
    values,
)
from wattbit.formulations.common import Size
from wattbit.formulations.ev_fleet import EVFleetData, define_ev_fleet
from wattbit.formulations.site import cost_terms
from wattbit.formulations.storage import StorageRule

LOSSLESS = StorageRule(1.0, 1.0, 0.0)
PRICES = [10_000.0, 30_000.0, 10_000.0, 12_000.0]


def fleet(charger_mw, v2g=False, storage=LOSSLESS, dt_h=1.0, **kw):
    """A pool of E = 1 MWh, plugged in a = [1, 1, 0, 1], driving u = [0, 0, 0.4, 0] MW,
    departure at step 1 with E^dep = 0.8 MWh; rule "fixed", σ_0 = 0.5 (e_{−1} = 0.5 MWh).
    On steps of ``dt_h`` hours the energies are scaled by it (E = Δt MWh, E^dep = 0.8 Δt), so
    the same powers fit: every stored energy scales by Δt, every power and cost stays."""
    return EVFleetData(
        energy_mwh=dt_h,
        charger_mw=Size.fixed(charger_mw),
        plugged_in=np.array([1.0, 1.0, 0.0, 1.0]),
        driving_mw=np.array([0.0, 0.0, 0.4, 0.0]),
        departure=np.array([0, 1, 0, 0]),
        departure_energy_mwh=0.8 * dt_h,
        storage=storage,
        v2g=v2g,
        soc_rule="fixed",
        initial_soc_fraction=0.5,
        **kw,
    )


@STEP_LENGTHS
def test_charging_for_departure_and_the_drive_home(dt_h):
    """(V1), (V3)–(V6). 4 steps, α Δt = 2190 (energies below on hourly steps, × Δt otherwise), prices [10 000, 30 000, 10 000, 12 000], P = 0.25 MW.
    Departure needs e_1 = 0.5 + c_0 + c_1 ≥ 0.8 (V4) with c_0 ≤ aP = 0.25 (V1 binds): c_1 = 0.05
    at the dear step; the drive takes 0.4 (V5) and the fixed end state e_3 ≥ 0.5 (V6) needs
    c_3 = 0.1 (unplugged at step 2). c = [0.25, 0.05, 0, 0.1], e = [0.75, 0.8, 0.4, 0.5].
    Cost = α (10 000·0.25 + 30 000·0.05 + 12 000·0.1) = 2190 · 5 200 = 11 388 000 JPY/yr."""
    m = model(4, dt_h)
    ev = define_ev_fleet(m, fleet(0.25, dt_h=dt_h))
    supply(m, "grid", price=PRICES)
    close(m)
    solve(m)
    np.testing.assert_allclose(values(ev.charge_mw), [0.25, 0.05, 0.0, 0.1], atol=MW)
    soc = dt_h * np.array([0.75, 0.8, 0.4, 0.5])
    np.testing.assert_allclose(values(ev.soc_mwh), soc, atol=MW)
    assert pyo.value(m.total_cost_jpy) == pytest.approx(11_388_000.0, rel=REL)


@STEP_LENGTHS
def test_v2g_sells_what_departure_leaves_in_a_full_pool(dt_h):
    """(V2), (V3), (V7), (V9). As above with a 1 MW site load, P = 0.5 MW, V2G at k_d = 1 000
    JPY/MWh. The pool fills at step 0 (c_0 = 0.5, e_0 = E = 1: V3 binds) and gives back at the
    dear step what departure leaves, v_1 = e_0 − E^dep = 0.2 (V4 binds); then c_3 = 0.1 as
    before. Import = 1 + c − v = [1.5, 0.8, 1, 1.1]; cost = α (15 000 + 24 000 + 10 000
    + 13 200) + α k_d · 0.2 (V9) = 2190 · 62 400 = 136 656 000 JPY/yr."""
    m = model(4, dt_h)
    ev = define_ev_fleet(m, fleet(0.5, v2g=True, dt_h=dt_h, v2g_cost_jpy_per_mwh=1_000.0))
    given(m, "demand", [-1.0] * 4)
    grid = supply(m, "grid", price=PRICES)
    close(m)
    solve(m)
    np.testing.assert_allclose(values(ev.charge_mw), [0.5, 0.0, 0.0, 0.1], atol=MW)
    np.testing.assert_allclose(values(ev.v2g_mw), [0.0, 0.2, 0.0, 0.0], atol=MW)
    np.testing.assert_allclose(values(ev.soc_mwh), dt_h * np.array([1.0, 0.8, 0.4, 0.5]), atol=MW)
    np.testing.assert_allclose(values(ev.injection_mw), [-0.5, 0.2, 0.0, -0.1], atol=MW)
    np.testing.assert_allclose(values(grid.p_mw), [1.5, 0.8, 1.0, 1.1], atol=MW)
    assert pyo.value(ev.cost_degradation_jpy) == pytest.approx(438_000.0, rel=REL)
    assert pyo.value(m.total_cost_jpy) == pytest.approx(136_656_000.0, rel=REL)


def test_pool_energy_with_losses_and_driving():
    """(V5 = S1 with outflow v + η_v u): e_t = e_{t−1} + η_c c_t Δt − (v_t + η_v u_t) Δt / η_v.
    A 2 MWh pool from e_{−1} = 0.25 · 2 = 0.5 MWh, η_c = 0.9, η_v = 0.8; given c = [1, 0, 0, 0],
    v = [0, 0.4, 0, 0], drive u = [0, 0, 0.4, 0]: e = [0.5 + 0.9, 1.4 − 0.4/0.8, 0.9 − 0.4, 0.5]
    = [1.4, 0.9, 0.5, 0.5] (departure 0.9 ≥ 0.8, end 0.5 ≥ σ_0 E). Capex (V8) = k_P P
    = 3e6 · 1 = 3e6 JPY/yr."""
    m = model(4)
    data = fleet(
        1.0, v2g=True, storage=StorageRule(0.9, 0.8, 0.0), charger_capex_jpy_per_mw_year=3e6
    )
    data = replace(data, energy_mwh=2.0, initial_soc_fraction=0.25)
    ev = define_ev_fleet(m, data)
    for t, (c, v) in enumerate([(1.0, 0.0), (0.0, 0.4), (0.0, 0.0), (0.0, 0.0)]):
        ev.charge_mw[t].fix(c)
        ev.v2g_mw[t].fix(v)
    minimise(m, pyo.quicksum(cost_terms(m).values()))
    solve(m)
    np.testing.assert_allclose(values(ev.soc_mwh), [1.4, 0.9, 0.5, 0.5], atol=MW)
    assert pyo.value(ev.cost_capex_jpy) == pytest.approx(3e6, rel=REL)


@pytest.mark.parametrize("exclusive_steps", [(), (0,)])
def test_exclusivity_stops_burning_at_a_negative_price(exclusive_steps):
    """(V10). One 1-hour step, α = 8760, energy at −10 000 JPY/MWh (paid to consume), no load.
    A V2G pool E = 1 MWh from e_{−1} = 0.5 ("fixed": e_0 ≥ 0.5), P = 1 MW, η_c = η_v = 0.9.
    The draw c − v is paid for; e_0 = 0.5 + 0.9 c − v / 0.9 ≤ 1 (V3).
    Without binaries (X = ∅): c = 1 and v = 0.9 (1.4 − 1) = 0.36 at once (0.0844 MWh burnt),
    cost = 8760 · (−10 000) · 0.64 = −56 064 000 JPY/yr. With X = {0}, z = 1: v = 0 and
    c = 0.5 / 0.9 = 5/9 (z = 0 would allow no charge): cost = 8760 · (−10 000) · 5/9
    = −48 666 666.7 JPY/yr."""
    m = model(1)
    data = EVFleetData(
        energy_mwh=1.0,
        charger_mw=Size.fixed(1.0),
        plugged_in=np.array([1.0]),
        driving_mw=np.array([0.0]),
        departure=np.array([0]),
        departure_energy_mwh=0.0,
        storage=StorageRule(0.9, 0.9, 0.0),
        v2g=True,
        soc_rule="fixed",
        initial_soc_fraction=0.5,
        exclusive_steps=exclusive_steps,
    )
    ev = define_ev_fleet(m, data)
    supply(m, "grid", price=-10_000.0)
    close(m)
    solve(m)
    burnt = not exclusive_steps
    np.testing.assert_allclose(values(ev.charge_mw), [1.0 if burnt else 5 / 9], atol=MW)
    np.testing.assert_allclose(values(ev.v2g_mw), [0.36 if burnt else 0.0], atol=MW)
    np.testing.assert_allclose(values(ev.soc_mwh), [1.0], atol=MW)
    expected = -56_064_000.0 if burnt else -8760 * 10_000 * 5 / 9
    assert pyo.value(m.total_cost_jpy) == pytest.approx(expected, rel=REL)
