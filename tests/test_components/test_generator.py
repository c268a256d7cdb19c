"""Backup generator block (F1–F10) built alone, with hand-derived expectations."""

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
    model,
    solve,
    supply,
    values,
)
from wattbit.formulations.common import Size
from wattbit.formulations.generator import GeneratorData, define_generator

VOLL = 1e6  # JPY/MWh of load not served (the closing's backup)
FUEL = 20_000.0  # JPY/MWh generated


def test_output_after_the_start_delay_while_fuel_and_one_refill_last():
    """(F1)–(F5), (F7), (F8). 4 steps of 1 h, α = 2190; a 3 MW load, no grid, unserved load at
    1e6 JPY/MWh. P = 2 MW, tank h = 2 h, so f_{−1} = hP = 4 MWh (F4); a start delay of 1.5 h
    gives a = [0, 0.5, 1, 1] (F1: y ≤ [0, 1, 2, 2]); refuelling only at step 3, q_3 P = 0.5 · 2
    = 1 MW (F5). At most 4 + 1 = 5 MWh can be generated; with y_3 ≤ f_2 + r_3 = 5 − y_1 − y_2
    and y_3 ≤ 2, generating all 5 needs y_1 + y_2 ≥ 3, so y = [0, 1, 2, 2] (F1 binds in every
    step), fuel (F3) f = [4, 3, 1, 0] (f_0 = hP, F2 binds), r = [0, 0, 0, 1] (F5 binds),
    unserved [3, 2, 1, 1]. Fuel cost (F7) = α c_f Σ y Δt = 2190 · 20 000 · 5 = 219 000 000;
    emissions (F8) = α π_CO2 ε Σ y Δt = 2190 · 5 000 · 0.7 · 5 = 38 325 000 JPY/yr."""
    m = model(4)
    data = GeneratorData(
        power_mw=Size.fixed(2.0),
        availability=np.array([0.0, 0.5, 1.0, 1.0]),
        refuel_limit=np.array([0.0, 0.0, 0.0, 0.5]),
        fuel_tank_h=2.0,
        fuel_cost_jpy_per_mwh=FUEL,
        emissions_t_per_mwh=0.7,
        carbon_price_jpy_per_t=5_000.0,
    )
    gen = define_generator(m, data)
    given(m, "demand", [-3.0] * 4)
    unserved = supply(m, "unserved", price=VOLL)
    close(m)
    solve(m)
    np.testing.assert_allclose(values(gen.output_mw), [0.0, 1.0, 2.0, 2.0], atol=MW)
    np.testing.assert_allclose(values(gen.fuel_mwh), [4.0, 3.0, 1.0, 0.0], atol=MW)
    np.testing.assert_allclose(values(gen.refuel_mw), [0.0, 0.0, 0.0, 1.0], atol=MW)
    np.testing.assert_allclose(values(unserved.p_mw), [3.0, 2.0, 1.0, 1.0], atol=MW)
    assert pyo.value(gen.cost_fuel_jpy) == pytest.approx(219_000_000.0, rel=REL)
    assert pyo.value(gen.cost_emissions_jpy) == pytest.approx(38_325_000.0, rel=REL)


def test_a_sized_generator_grows_until_its_tank_holds_the_outage():
    """(F2), (F4), (F6). 4 steps, α = 2190; load [0, 3, 3, 0] MW with no grid; P ∈ [0, 10] at
    k_g = 1e6 JPY/MW/yr, tank h = 1 h, no refuelling. Output needs P ≥ 3 but the 6 MWh of load
    need a tank hP ≥ 6 (F2, F4): P* = 6 (capex 6e6 is far below the unserved load it avoids).
    y = [0, 3, 3, 0], f = [6, 3, 0, 0]. Cost = 6e6 + α c_f · 6 = 6e6 + 262.8e6 = 268 800 000."""
    m = model(4)
    data = GeneratorData(
        power_mw=Size(0.0, 10.0),
        availability=np.ones(4),
        refuel_limit=np.zeros(4),
        fuel_tank_h=1.0,
        capex_jpy_per_mw_year=1e6,
        fuel_cost_jpy_per_mwh=FUEL,
    )
    gen = define_generator(m, data)
    given(m, "demand", [0.0, -3.0, -3.0, 0.0])
    supply(m, "unserved", price=VOLL)
    close(m)
    solve(m)
    assert pyo.value(gen.power_mw) == pytest.approx(6.0, abs=MW)
    np.testing.assert_allclose(values(gen.output_mw), [0.0, 3.0, 3.0, 0.0], atol=MW)
    np.testing.assert_allclose(values(gen.fuel_mwh), [6.0, 3.0, 0.0, 0.0], atol=MW)
    assert pyo.value(gen.cost_capex_jpy) == pytest.approx(6e6, rel=REL)
    assert pyo.value(m.total_cost_jpy) == pytest.approx(268_800_000.0, rel=REL)


def capped(dt_h=1.0, **caps):
    """4 steps, α Δt = 2190: a 3 MW load, no grid, unserved at 1e6; P = 2 MW always available,
    a tank (20 MWh) that never binds, fuel at c_f."""
    m = model(4, dt_h)
    data = GeneratorData(
        power_mw=Size.fixed(2.0),
        availability=np.ones(4),
        refuel_limit=np.zeros(4),
        fuel_tank_h=10.0,
        fuel_cost_jpy_per_mwh=FUEL,
        **caps,
    )
    gen = define_generator(m, data)
    given(m, "demand", [-3.0] * 4)
    supply(m, "unserved", price=VOLL)
    close(m)
    solve(m)
    return gen


def test_running_hours_per_fault_are_capped():
    """(F9). Faults {0, 1} and {2, 3}, at most H_e = 1.5 h at rated power each: Σ_{t∈e} y_t Δt
    ≤ 1.5 · 2 = 3 MWh per fault (instead of 4), 6 MWh in all; fuel (F7) = α c_f · 6
    = 262 800 000 JPY/yr."""
    gen = capped(events=((0, 1), (2, 3)), max_run_h_per_event=1.5)
    y = values(gen.output_mw)
    assert y[:2].sum() == pytest.approx(3.0, abs=MW)
    assert y[2:].sum() == pytest.approx(3.0, abs=MW)
    assert pyo.value(gen.cost_fuel_jpy) == pytest.approx(262_800_000.0, rel=REL)


@STEP_LENGTHS
def test_running_hours_per_year_are_capped(dt_h):
    """(F10). α Σ y Δt ≤ H_y P with H_y = 2190 h/yr and P = 2: Σ y ≤ 2190 · 2 / (α Δt) = 2 MW·steps
    (1 h at rated power on hourly steps); fuel (F7) = α Δt c_f · 2 = 87 600 000 JPY/yr."""
    gen = capped(dt_h, max_run_h_per_year=2190.0)
    assert values(gen.output_mw).sum() == pytest.approx(2.0, abs=MW)
    assert pyo.value(gen.cost_fuel_jpy) == pytest.approx(87_600_000.0, rel=REL)
