"""Market block (A1–A7): balancing-market reserves and the capacity market on a battery, built with
the battery alone, with hand-derived expectations."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import given as given_examples
from hypothesis import settings
from hypothesis import strategies as st

from test_components.closing import MW, REL, close, given, model, solve, supply, values
from wattbit.formulations.battery import BatteryData, define_battery
from wattbit.formulations.common import Size
from wattbit.formulations.market import CapacityData, MarketData, ReserveData, define_market
from wattbit.formulations.storage import StorageRule


def battery(m, power, energy, eta_d=1.0, soc_min=0.0, terminal=1.0):
    """A fixed battery, full at the start (σ_0 = 1), ending at least at ``terminal`` · E."""
    data = BatteryData(
        Size.fixed(power),
        Size.fixed(energy),
        StorageRule(1.0, eta_d, 0.0),
        soc_min_fraction=soc_min,
        soc_rule="fixed",
        initial_soc_fraction=1.0,
        terminal_soc_fraction=terminal,
    )
    return data, define_battery(m, data)


def reserve(name, price, duration_h, block):
    """A product paid ``price`` at every step, with blocks given by their numbers per step."""
    n = len(block)
    start = np.concatenate([[1.0], (np.diff(block) != 0).astype(float)])
    return ReserveData(name, np.broadcast_to(float(price), n).copy(), duration_h, start)


@pytest.mark.parametrize(("eta_d", "soc_min", "held"), [(1.0, 0.0, 2.0), (0.8, 0.1, 1.44)])
def test_reserve_holding_is_exactly_limited_by_soc_for_its_duration(eta_d, soc_min, held):
    """(A2), (A4). P = 10 MW, E = 6 MWh, full and held full (σ_0 = σ_n = 1; nothing to gain by
    moving energy). One product of duration D = 3 h at 1 000 JPY/MW/h, one-step blocks, 2 steps,
    α Δt = 4380. Power allows 10 MW (A1), energy D r/η_d ≤ e − σ_min E: r = 6/3 = 2 MW lossless;
    with η_d = 0.8 and σ_min = 0.1: r = 0.8 (6 − 0.6)/3 = 1.44 MW. Revenue (A4) = α Δt π Σ r
    = 4380 · 1000 · 2 r."""
    m = model(2)
    _, bat = battery(m, 10.0, 6.0, eta_d, soc_min)
    market = define_market(
        m,
        MarketData(eta_d, soc_min, 1.0, (reserve("tertiary", 1000.0, 3.0, [0, 1]),)),
        bat,
    )
    close(m)
    solve(m)
    np.testing.assert_allclose(values(market.reserve_tertiary_mw), [held, held], atol=MW)
    expected = -4380.0 * 1000.0 * 2 * held
    assert pyo.value(market.cost_reserve_tertiary_jpy) == pytest.approx(expected, rel=REL)


def test_stacking_never_counts_the_same_mw_twice():
    """(A1). P = 1 MW, E = 10 MWh full, may end empty; two products (D = 0.5 h, so energy does
    not bind) at 2 000 and 1 000 JPY/MW/h, and a 0.4 MW load the battery serves rather than
    buy it at 100 000 JPY/MWh. Headroom d − c + r_a + r_b ≤ P: the battery discharges 0.4 MW
    and sells the remaining 0.6 MW once, all to the dearer product; the cheaper one gets none."""
    m = model(2)
    _, bat = battery(m, 1.0, 10.0, terminal=0.0)
    products = (reserve("dear", 2000.0, 0.5, [0, 1]), reserve("cheap", 1000.0, 0.5, [0, 1]))
    market = define_market(m, MarketData(1.0, reserves=products), bat)
    given(m, "demand", [-0.4, -0.4])
    supply(m, "grid", price=100_000.0)
    close(m)
    solve(m)
    np.testing.assert_allclose(values(bat.discharge_mw), [0.4, 0.4], atol=MW)
    np.testing.assert_allclose(values(market.reserve_dear_mw), [0.6, 0.6], atol=MW)
    np.testing.assert_allclose(values(market.reserve_cheap_mw), [0.0, 0.0], atol=MW)
    total = values(bat.discharge_mw) + values(market.reserve_dear_mw)
    assert np.all(total + values(market.reserve_cheap_mw) <= 1.0 + MW)


@pytest.mark.parametrize(
    ("block", "held"), [([0, 0, 1, 1], [0.5, 0.5, 1, 1]), ([0, 1, 2, 3], [1, 0.5, 1, 1])]
)
def test_reserve_is_one_value_per_block(block, held):
    """(A3). P = 1 MW, E = 10 MWh; the battery must discharge 0.5 MW at step 1 (a load bought at
    100 000 JPY/MWh otherwise; the product pays 1 000 JPY/MW/h). With 2-step blocks [0, 0, 1, 1]
    the first block holds min(1, 0.5) = 0.5 MW in both steps; with 1-step blocks, 1 MW except at
    step 1."""
    m = model(4)
    _, bat = battery(m, 1.0, 10.0, terminal=0.0)
    market = define_market(m, MarketData(1.0, reserves=(reserve("fcr", 1000.0, 0.25, block),)), bat)
    given(m, "demand", [0.0, -0.5, 0.0, 0.0])
    supply(m, "grid", price=100_000.0)
    close(m)
    solve(m)
    np.testing.assert_allclose(values(market.reserve_fcr_mw), held, atol=MW)


def test_capacity_is_credited_on_the_envelope_of_the_derating_table():
    """(A5)–(A7). P = 10 MW, E = 20 MWh (2 h), lossless, no obligation steps; de-rating rows
    (1 h, 0.3) and (3 h, 0.7), κ = 1e7 JPY/MW/yr. q_1 + q_3 ≤ 10 (A5), q_1 + 3 q_3 ≤ 20 (A6):
    the best credit 0.3 q_1 + 0.7 q_3 is at q_1 = q_3 = 5, 5 MW credited (0.5 of P, the
    table's value interpolated at 2 h); revenue (A7) = 1e7 · 5 = 5e7 JPY/yr."""
    m = model(2)
    _, bat = battery(m, 10.0, 20.0)
    cap = CapacityData(1e7, (1.0, 3.0), (0.3, 0.7), np.zeros(2))
    market = define_market(m, MarketData(1.0, capacity=cap), bat)
    close(m)
    solve(m)
    assert pyo.value(market.capacity_mw) == pytest.approx(10.0, abs=MW)
    assert pyo.value(market.capacity_energy_mwh) == pytest.approx(20.0, abs=MW)
    assert pyo.value(market.capacity_credited_mw) == pytest.approx(5.0, abs=MW)
    assert pyo.value(market.cost_capacity_jpy) == pytest.approx(-5e7, rel=REL)


def test_capacity_obligation_shares_power_with_reserves():
    """(A1), (A2) with the capacity market. P = 1 MW, E = 10 MWh full; one de-rating row (1 h,
    1.0) at κ = 1e9 JPY/MW/yr (worth far more than the reserve's 1 000 JPY/MW/h · 8760 h);
    step 1 is an obligation step. The commitment takes the whole MW: q = 1, and the reserve
    only gets the MW outside the obligation step: r = [1, 0]."""
    m = model(2)
    _, bat = battery(m, 1.0, 10.0)
    cap = CapacityData(1e9, (1.0,), (1.0,), np.array([0.0, 1.0]))
    market = define_market(
        m,
        MarketData(1.0, reserves=(reserve("fcr", 1000.0, 0.25, [0, 1]),), capacity=cap),
        bat,
    )
    close(m)
    solve(m)
    assert pyo.value(market.capacity_mw) == pytest.approx(1.0, abs=MW)
    np.testing.assert_allclose(values(market.reserve_fcr_mw), [1.0, 0.0], atol=MW)


@settings(max_examples=15, deadline=None)
@given_examples(
    prices=st.lists(st.floats(5_000.0, 50_000.0), min_size=4, max_size=4),
    reserve_price=st.floats(0.0, 5_000.0),
    duration=st.floats(0.25, 4.0),
)
def test_adding_a_service_never_raises_the_optimal_cost(prices, reserve_price, duration):
    """(A1)–(A4). A 1 MW / 2 MWh battery doing arbitrage against a 1 MW load: adding a reserve
    product keeps every old solution feasible (r = 0), so the optimum cannot get worse."""

    def optimum(with_reserve: bool) -> float:
        m = model(4)
        data = BatteryData(Size.fixed(1.0), Size.fixed(2.0), StorageRule(0.95, 0.95, 0.0))
        bat = define_battery(m, data)
        if with_reserve:
            product = reserve("fcr", reserve_price, duration, [0, 1, 2, 3])
            define_market(m, MarketData(0.95, reserves=(product,)), bat)
        given(m, "demand", [-1.0] * 4)
        supply(m, "grid", price=prices)
        close(m)
        solve(m)
        return pyo.value(m.total_cost_jpy)

    without = optimum(False)
    assert optimum(True) <= without + 1e-7 * abs(without)
