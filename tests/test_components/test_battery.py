"""Battery block (B1–B10, with the shared state-of-charge rule S1) built alone, with
hand-derived expectations."""

from __future__ import annotations

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
from wattbit.formulations.battery import BatteryData, define_battery
from wattbit.formulations.common import Size
from wattbit.formulations.site import cost_terms
from wattbit.formulations.storage import StorageRule

LOSSLESS = StorageRule(1.0, 1.0, 0.0)
LOW, HIGH = 10_000.0, 30_000.0  # JPY/MWh


def fixed_flows(blk, charge, discharge):
    for t, (c, d) in enumerate(zip(charge, discharge, strict=True)):
        blk.charge_mw[t].fix(c)
        blk.discharge_mw[t].fix(d)


def test_soc_recursion_with_efficiencies_and_standing_loss():
    """(B5 = S1), (B6) fixed, (B9). 4 steps of 1 h, α = 2190. E = 10 MWh, rule "fixed" with
    σ_0 = σ_n = 0.5, so e_{−1} = 5; η_c = 0.9, η_d = 0.8, λ = 1 %/h (keep 0.99); charge
    [2, 0, 0, 0], discharge [0, 1, 0, 0] MW given. e_0 = 0.99·5 + 0.9·2 = 6.75;
    e_1 = 0.99·6.75 − 1/0.8 = 5.4325; e_2 = 0.99·5.4325 = 5.378175; e_3 = 0.99·e_2 = 5.32439325
    (≥ σ_n E = 5). Degradation (B9) = α k_d Σ d Δt = 2190 · 100 · 1 = 219 000 JPY/yr."""
    m = model(4)
    data = BatteryData(
        power_mw=Size.fixed(5.0),
        energy_mwh=Size.fixed(10.0),
        storage=StorageRule(0.9, 0.8, 0.01),
        soc_rule="fixed",
        initial_soc_fraction=0.5,
        throughput_cost_jpy_per_mwh=100.0,
    )
    blk = define_battery(m, data)
    fixed_flows(blk, [2.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0])
    minimise(m, pyo.quicksum(cost_terms(m).values()))
    solve(m)
    assert pyo.value(blk.soc_initial_mwh) == pytest.approx(5.0, abs=MW)
    np.testing.assert_allclose(values(blk.soc_mwh), [6.75, 5.4325, 5.378175, 5.32439325], atol=MW)
    assert pyo.value(blk.cost_degradation_jpy) == pytest.approx(219_000.0, rel=REL)


def test_standing_loss_is_compounded_per_hour_on_half_hour_steps():
    """(S1) with Δt = 0.5 h: keep = (1 − λ)^Δt. A full 4 MWh battery (σ_0 = 1, σ_n = 0) idle
    for 4 steps at λ = 2 %/h holds e_t = 4 · 0.98^{(t+1)/2}, e_3 = 4 · 0.98² = 3.8416 MWh."""
    m = model(4, dt_h=0.5)
    data = BatteryData(
        power_mw=Size.fixed(1.0),
        energy_mwh=Size.fixed(4.0),
        storage=StorageRule(1.0, 1.0, 0.02),
        soc_rule="fixed",
        initial_soc_fraction=1.0,
        terminal_soc_fraction=0.0,
    )
    blk = define_battery(m, data)
    fixed_flows(blk, [0.0] * 4, [0.0] * 4)
    minimise(m, 0.0)
    solve(m)
    expected = 4.0 * 0.98 ** (0.5 * np.arange(1, 5))
    np.testing.assert_allclose(values(blk.soc_mwh), expected, atol=MW)
    assert expected[-1] == pytest.approx(3.8416)


@STEP_LENGTHS
def test_arbitrage_fills_and_empties_a_one_hour_battery_twice(dt_h):
    """(B1)–(B3), (B6) cyclic, (B9). 4 steps, α Δt = 2190. Load 2 MW, price [π_L, π_H, π_L, π_H]
    = [10 000, 30 000, 10 000, 30 000]; P = 1 MW, E = 1 MW × Δt (one step at full power),
    lossless, cyclic, wear k_d = 100 JPY/MWh. The battery charges 1 MW in each cheap step and
    discharges it in the next: c = [1, 0, 1, 0], d = [0, 1, 0, 1], e = [1, 0, 1, 0] · Δt;
    e_0 = e_{−1} + Δt ≤ E forces e_{−1} = 0 = e_3. Import [3, 1, 3, 1]; energy = α Δt (3 π_L
    + π_H) · 2 = 2190 · 120 000 = 262 800 000, wear (B9) = α Δt k_d · 2 = 438 000 JPY/yr."""
    m = model(4, dt_h)
    data = BatteryData(
        Size.fixed(1.0), Size.fixed(dt_h), LOSSLESS, throughput_cost_jpy_per_mwh=100.0
    )
    blk = define_battery(m, data)
    given(m, "demand", [-2.0] * 4)
    grid = supply(m, "grid", price=[LOW, HIGH, LOW, HIGH])
    close(m)
    solve(m)
    np.testing.assert_allclose(values(blk.charge_mw), [1.0, 0.0, 1.0, 0.0], atol=MW)
    np.testing.assert_allclose(values(blk.discharge_mw), [0.0, 1.0, 0.0, 1.0], atol=MW)
    np.testing.assert_allclose(values(blk.soc_mwh), dt_h * np.array([1.0, 0.0, 1.0, 0.0]), atol=MW)
    assert pyo.value(blk.soc_initial_mwh) == pytest.approx(0.0, abs=MW)
    np.testing.assert_allclose(values(grid.p_mw), [3.0, 1.0, 3.0, 1.0], atol=MW)
    assert pyo.value(grid.cost_energy_jpy) == pytest.approx(262_800_000.0, rel=REL)
    assert pyo.value(blk.cost_degradation_jpy) == pytest.approx(438_000.0, rel=REL)


def test_sized_battery_stops_at_the_load_it_can_displace():
    """(B1), (B2), (B8). As above with P ∈ [0, 5] MW, E ∈ [0, 10] MWh at k_P = 1e7 JPY/MW/yr,
    k_E = 2e7 JPY/MWh/yr. Each MW + MWh cycled twice saves 2 α (π_H − π_L) = 87.6e6 > 3e7, but
    the discharge cannot exceed the 2 MW load (no export): P* = E* = 2, import [4, 0, 4, 0].
    Cost = capex (B8) 2·1e7 + 2·2e7 = 6e7 + α π_L · 8 = 175.2e6, total 235 200 000 JPY/yr."""
    m = model(4)
    data = BatteryData(
        power_mw=Size(0.0, 5.0),
        energy_mwh=Size(0.0, 10.0),
        storage=LOSSLESS,
        power_capex_jpy_per_mw_year=1e7,
        energy_capex_jpy_per_mwh_year=2e7,
    )
    blk = define_battery(m, data)
    given(m, "demand", [-2.0] * 4)
    grid = supply(m, "grid", price=[LOW, HIGH, LOW, HIGH])
    close(m)
    solve(m)
    assert pyo.value(blk.power_mw) == pytest.approx(2.0, abs=MW)
    assert pyo.value(blk.energy_mwh) == pytest.approx(2.0, abs=MW)
    np.testing.assert_allclose(values(grid.p_mw), [4.0, 0.0, 4.0, 0.0], atol=MW)
    assert pyo.value(blk.cost_capex_jpy) == pytest.approx(6e7, rel=REL)
    assert pyo.value(m.total_cost_jpy) == pytest.approx(235_200_000.0, rel=REL)


def test_soc_window_and_fixed_terminal_state_bind():
    """(B3), (B4), (B6) fixed. 3 steps, α = 2920. E = P = 10, σ_min = 0.2, σ_0 = 0.5 (e_{−1} = 5),
    σ_n = 0.2, lossless; load 10 MW at prices [10 000, 20 000, 30 000]. The battery fills to
    σ_max E = 10 in the cheap step (c_0 = 5, B3 binds) and empties to σ_min E = 2 = σ_n E in the
    dearest (d_2 = 8, B4 and the terminal bound bind): e = [10, 10, 2], import [15, 10, 2].
    Cost = α (10 000·15 + 20 000·10 + 30 000·2) = 2920 · 410 000 = 1 197 200 000 JPY/yr."""
    m = model(3)
    data = BatteryData(
        power_mw=Size.fixed(10.0),
        energy_mwh=Size.fixed(10.0),
        storage=LOSSLESS,
        soc_min_fraction=0.2,
        soc_rule="fixed",
        initial_soc_fraction=0.5,
        terminal_soc_fraction=0.2,
    )
    blk = define_battery(m, data)
    given(m, "demand", [-10.0] * 3)
    grid = supply(m, "grid", price=[10_000.0, 20_000.0, 30_000.0])
    close(m)
    solve(m)
    np.testing.assert_allclose(values(blk.soc_mwh), [10.0, 10.0, 2.0], atol=MW)
    np.testing.assert_allclose(values(grid.p_mw), [15.0, 10.0, 2.0], atol=MW)
    assert pyo.value(m.total_cost_jpy) == pytest.approx(1_197_200_000.0, rel=REL)


@pytest.mark.parametrize(
    ("exclusive", "cost"),
    [((), -65_700_000.0), ((0,), -43_800_000.0), ((0, 1, 2), 0.0)],
)
def test_exclusivity_stops_burning_energy_where_it_is_imposed(exclusive, cost):
    """(B7). 3 steps, α = 2920; energy at −10 000 JPY/MWh (paid to consume), no load. A full
    battery (E = 10, σ_0 = σ_n = 1, P = 1, η_c = η_d = 0.5) can only draw energy by charging and
    discharging at once: 0.5 c_t = d_t / 0.5 keeps it full, d_t = c_t/4, import 0.75 c_t ≤ 0.75.
    As an LP it burns 0.75 MW in every step: α · (−10 000) · 2.25 = −65.7e6 JPY/yr. With binaries
    (B7) on the steps X, c_t d_t = 0 there, so nothing is drawn: −43.8e6 with X = {0}, 0 with
    X = every step."""
    m = model(3)
    data = BatteryData(
        power_mw=Size.fixed(1.0),
        energy_mwh=Size.fixed(10.0),
        storage=StorageRule(0.5, 0.5, 0.0),
        soc_rule="fixed",
        initial_soc_fraction=1.0,
        exclusive_steps=exclusive,
    )
    blk = define_battery(m, data)
    supply(m, "grid", price=-10_000.0)
    close(m)
    solve(m)
    assert pyo.value(m.total_cost_jpy) == pytest.approx(cost, rel=REL, abs=1e-3)
    simultaneous = np.minimum(values(blk.charge_mw), values(blk.discharge_mw))
    np.testing.assert_allclose(simultaneous[list(exclusive)], 0.0, atol=MW)


@STEP_LENGTHS
@pytest.mark.parametrize("ageing", [5_000.0, 19_900.0, 20_100.0])
def test_cycle_ageing_cost_stops_cycling_above_the_price_spread(dt_h, ageing):
    """(B10). The arbitrage case above (spread π_H − π_L = 20 000 JPY/MWh, α Δt = 2190) without
    wear but with the life-cycle cost k_a per MWh of equivalent-cycle throughput (c + d)/2. A cycle
    of 1 MWh moves (1 + 1)/2 = 1 MWh of it, so the battery cycles twice while k_a < 20 000 and
    stays idle above: cost_ageing = α Δt k_a · ½ (2 + 2) = 2190 · 2 k_a (5 000 → 21 900 000)."""
    m = model(4, dt_h)
    data = BatteryData(Size.fixed(1.0), Size.fixed(dt_h), LOSSLESS, ageing_cost_jpy_per_mwh=ageing)
    blk = define_battery(m, data)
    given(m, "demand", [-2.0] * 4)
    supply(m, "grid", price=[LOW, HIGH, LOW, HIGH])
    close(m)
    solve(m)
    cycles = 1.0 if ageing < HIGH - LOW else 0.0
    np.testing.assert_allclose(values(blk.discharge_mw), cycles * np.array([0, 1, 0, 1]), atol=MW)
    expected = 2190.0 * 2 * ageing * cycles
    assert pyo.value(blk.cost_ageing_jpy) == pytest.approx(expected, rel=REL, abs=1e-3)
    if ageing == 5_000.0:
        assert expected == pytest.approx(21_900_000.0)


def test_no_ageing_cost_term_without_a_cycle_cost():
    """(B10) is only built when k_a > 0, so cases without ageing keep their cost terms."""
    m = model(2)
    blk = define_battery(m, BatteryData(Size.fixed(1.0), Size.fixed(1.0), LOSSLESS))
    assert not hasattr(blk, "cost_ageing_jpy")
