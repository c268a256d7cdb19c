"""Multi-year cash flow (wattbit.cashflow): NPV, IRR and payback by hand, a two-year cash flow of
a hand-built result, and the property that faster fade never raises the NPV."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from figure_rules import saved_figures
from hypothesis import given, settings
from hypothesis import strategies as st

from wattbit.ageing import Ageing
from wattbit.cashflow import cash_flow, irr, npv, payback_years, service_revenues
from wattbit.sizes import investment_name


def test_npv_irr_payback_of_a_two_year_flow():
    """−100, +60, +60 at 10 %: NPV = −100 + 60/1.1 + 60/1.21 = 4.1322…; the IRR solves
    60x + 60x² = 100 with x = 1/(1+r): x = (−1 + √(1 + 20/3))/2, r = 1/x − 1 = 13.07 %;
    payback 1 + 40/60 years."""
    flows = [-100.0, 60.0, 60.0]
    assert npv(0.1, flows) == pytest.approx(-100 + 60 / 1.1 + 60 / 1.21)
    x = (-1 + math.sqrt(1 + 20 / 3)) / 2
    assert irr(flows) == pytest.approx(1 / x - 1)
    assert irr(flows) == pytest.approx(0.1307, abs=1e-4)
    assert npv(irr(flows), flows) == pytest.approx(0.0, abs=1e-9)
    assert payback_years(flows) == pytest.approx(1 + 40 / 60)
    assert math.isnan(payback_years([-100.0, 10.0, 10.0]))
    assert math.isnan(irr([-100.0, -1.0]))


def result(cycle_fade: float = 0.01, maintenance: str = "augmentation") -> xr.Dataset:
    """A hand-built optimised year (α = 1, Δt = 1 h, two steps): P = 1 MW, E = 2 MWh, charge
    [2, 0], discharge [0, 2] MW, so (Q^c + Q^d)/2 = 2 MWh = one equivalent full cycle a year;
    investment 10e6 JPY/MW + 20e6 JPY/MWh = 50e6 JPY; O&M 1e6 JPY/MW/yr; grid energy 60e6 JPY/yr
    (100e6 in the baseline); a reserve product earns 5e6 JPY/yr; augmentation 10e6 JPY/MWh;
    analysis 2 years at 10 %."""
    scalars = {
        "battery_power_mw": 1.0,
        "battery_energy_mwh": 2.0,
        investment_name("battery_power_mw"): 10e6,
        investment_name("battery_energy_mwh"): 20e6,
        "battery_om_jpy_per_mw_year": 1e6,
        "battery_calendar_fade_per_year": 0.0,
        "battery_cycle_fade_per_cycle": cycle_fade,
        "battery_replacement_soh": 0.8,
        "battery_augmentation_cost_jpy_per_mwh": 10e6,
        "battery_replacement_cost_jpy_per_mwh": 30e6,
        "cost_battery_capex_jpy": 7e6,
        "cost_grid_energy_jpy": 60e6,
        "cost_market_reserve_fcr_jpy": -5e6,
    }
    ds = xr.Dataset({k: ((), v) for k, v in scalars.items()})
    ds["battery_charge_mw"] = ("time", [2.0, 0.0])
    ds["battery_discharge_mw"] = ("time", [0.0, 2.0])
    ds["grid_energy_price_jpy_per_mwh"] = ("time", [10_000.0, 30_000.0])
    ds.attrs.update(
        discount_rate=0.1,
        analysis_years=2,
        annual_factor=1.0,
        dt_h=1.0,
        battery_maintenance=maintenance,
    )
    return ds


BASELINE = xr.Dataset({"cost_grid_energy_jpy": ((), 100e6)})


def test_two_year_cash_flow_by_hand():
    """Revenues: energy 100e6 − 60e6 = 40e6 (the battery's capex term is not a site term),
    reserve 5e6. One cycle a year at 1 %/cycle: SoH 1 → 0.99, usable over the year
    (1 + 0.99)/2 · 2 = 1.99 MWh, share 0.995. Year 1: 45e6 · 0.995 − 1e6 O&M − 0.02 MWh ·
    10e6 augmentation = 43.575e6; year 2 (nothing bought at the end): 43.775e6. NPV at 10 % =
    −50e6 + 43.575e6/1.1 + 43.775e6/1.21; IRR from 43.775 x² + 43.575 x − 50 = 0; payback in
    year 2: 1 + (50 − 43.575)/43.775 years."""
    flow = cash_flow(result(), BASELINE)
    t = flow.table
    assert service_revenues(result(), BASELINE) == pytest.approx(
        {"energy": 40e6, "reserve_fcr": 5e6}
    )
    np.testing.assert_allclose(t["net_jpy"], [-50e6, 43.575e6, 43.775e6])
    np.testing.assert_allclose(t["usable_energy_mwh"][1:], [1.99, 1.99])
    np.testing.assert_allclose(t["augmentation_jpy"], [0.0, -0.2e6, 0.0])
    np.testing.assert_allclose(t["revenue_reserve_fcr_jpy"][1:], [4.975e6, 4.975e6])
    assert flow.npv_jpy == pytest.approx(-50e6 + 43.575e6 / 1.1 + 43.775e6 / 1.21)
    a, b, c = 43.775, 43.575, -50.0
    x = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    assert flow.irr == pytest.approx(1 / x - 1)
    assert flow.payback_years == pytest.approx(1 + (50 - 43.575) / 43.775)


def test_without_a_baseline_energy_is_arbitrage_at_the_grid_price():
    """α Σ π (d − c) Δt = 30 000 · 2 − 10 000 · 2 = 40 000 JPY/yr."""
    assert service_revenues(result())["energy"] == pytest.approx(40_000.0)


def test_replacement_is_paid_in_the_year_soh_reaches_the_threshold(tmp_path):
    """20 %/cycle and one cycle a year: SoH 0.8 at the end of every year, cells renewed for
    30e6 · 2 = 60e6 JPY at the end of years 1 and 2 (not 3, the last); the table and PNG are
    written."""
    ds = result(cycle_fade=0.2, maintenance="replacement")
    ds.attrs["analysis_years"] = 3
    t = cash_flow(ds, BASELINE).table
    np.testing.assert_allclose(t["replacement_jpy"], [0.0, -60e6, -60e6, 0.0])
    np.testing.assert_allclose(t["soh_start"][1:], [1.0, 1.0, 1.0])
    with saved_figures() as seen:
        written = cash_flow(ds, BASELINE).write(tmp_path)
    assert [p.name for p in written] == ["cashflow.csv", "cashflow.png"]
    assert seen and all(not p for p in seen.values()), seen


@settings(max_examples=60, deadline=None)
@given(
    low=st.floats(0.0, 0.3),
    extra=st.floats(0.0, 0.3),
    calendar=st.floats(0.0, 0.05),
    years=st.integers(1, 20),
    maintenance=st.sampled_from(["augmentation", "none"]),
)
def test_higher_fade_never_raises_npv(low, extra, calendar, years, maintenance):
    """Same dispatch, faster cycle fade: more augmentation bought, or less usable energy, so the
    NPV cannot rise. (Replacement at a fixed threshold is left out: a faster-fading battery
    renewed earlier can earn more between the two renewal dates; docs/battery-economics.md.)"""
    ds = result(maintenance=maintenance)
    ds.attrs["analysis_years"] = years

    def value(fade: float) -> float:
        a = Ageing(calendar, fade, maintenance, 0.8, 10e6, 30e6)
        return cash_flow(ds, BASELINE, a).npv_jpy

    assert value(low + extra) <= value(low) + 1e-6 * abs(value(low))
