"""Cases small enough to solve by hand, with exact expected optima."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import hourly_index, solve_verified

from wattbit.formulations.common import capital_recovery_factor

TOL = 1e-6


def headroom_case(load: float, a: float, k: int, eta_c: float, eta_d: float) -> dict:
    return {
        "dc": {"it_mw": load, "value_of_lost_compute_jpy_per_mwh": 1e7},
        "grid": {"import_limit_mw": "h", "energy_price_jpy_per_mwh": 0.0},
        "battery": {
            "power_mw": {"max": 100.0},
            "energy_mwh": {"max": 1000.0},
            "charge_efficiency": eta_c,
            "discharge_efficiency": eta_d,
            "power_capex_jpy_per_kw": 1.0,
            "energy_capex_jpy_per_kwh": 1.0,
        },
    }


@pytest.mark.parametrize(
    ("load", "a", "k", "eta_c", "eta_d"), [(10, 4, 4, 0.9, 0.8), (30, 7.5, 3, 1, 0.95)]
)
def test_headroom_gap_sizes_battery_to_gap(make_case, load, a, k, eta_c, eta_d):
    """Constant load L, headroom L − a for k hours a day and ample otherwise, no other cost:
    the battery needs exactly power a and energy a·k/η_d."""
    index = hourly_index(72)
    tight = (index.hour >= 17) & (index.hour < 17 + k)
    path = make_case(
        headroom_case(load, a, k, eta_c, eta_d), index, h=np.where(tight, load - a, 3 * load)
    )
    run = solve_verified(path)
    assert run.kpis["battery_power_mw"] == pytest.approx(a, abs=TOL)
    assert run.kpis["battery_energy_mwh"] == pytest.approx(a * k / eta_d, abs=TOL)
    assert run.kpis["dc_it_unserved_mwh"] == pytest.approx(0.0, abs=TOL)
    crf = capital_recovery_factor(0.05, 15)
    expected_capex = crf * 1000 * (a + a * k / eta_d)
    assert run.kpis["cost_battery_capex_jpy"] == pytest.approx(expected_capex, rel=1e-9)


def arbitrage_case(energy_capex_jpy_per_kwh: float) -> dict:
    return {
        "dc": {"it_mw": 10.0},
        "grid": {"import_limit_mw": 100.0, "energy_price_jpy_per_mwh": "price"},
        "battery": {
            "power_mw": {"max": 50.0},
            "energy_mwh": {"max": 200.0},
            "charge_efficiency": 1.0,
            "discharge_efficiency": 1.0,
            "power_capex_jpy_per_kw": 1e-3,
            "energy_capex_jpy_per_kwh": energy_capex_jpy_per_kwh,
            "lifetime_years": 10,
        },
        "economics": {"discount_rate": 0.0},
    }


def test_arbitrage_sizes_nothing_when_capex_exceeds_spread(make_case):
    """Prices alternate 10 000 / 30 000 JPY/MWh each 12 h. A lossless 1 MWh battery earns
    20 000 JPY per day-cycle = 7.3 MJPY/yr; capex 80 000 JPY/kWh over 10 years at 0 % is
    8 MJPY/MWh/yr > 7.3 (power costs a token 1 JPY/MW-yr so that its size is unique):
    nothing is built, and cost = energy bill of the load alone."""
    index = hourly_index(48)
    price = np.where(index.hour < 12, 10_000.0, 30_000.0)
    run = solve_verified(make_case(arbitrage_case(80.0 * 1000), index, price=price))
    assert run.kpis["battery_energy_mwh"] == pytest.approx(0.0, abs=TOL)
    assert run.kpis["battery_power_mw"] == pytest.approx(0.0, abs=TOL)
    energy_bill = 10 * 8760 * 20_000.0
    assert run.kpis["total_cost_jpy"] == pytest.approx(energy_bill, rel=1e-9)


def test_arbitrage_sizes_when_spread_pays(make_case):
    """Same prices, capex 60 000 JPY/kWh (6 MJPY/MWh/yr < 7.3): the battery is built to its
    energy bound of 200 MWh — but discharge never exceeds the 10 MW load (no export), so it
    needs only 10 MW·12 h = 120 MWh; more would not pay. Power = 120 MWh / 12 h = 10 MW."""
    index = hourly_index(48)
    price = np.where(index.hour < 12, 10_000.0, 30_000.0)
    run = solve_verified(make_case(arbitrage_case(60.0 * 1000), index, price=price))
    assert run.kpis["battery_energy_mwh"] == pytest.approx(120.0, abs=1e-5)
    assert run.kpis["battery_power_mw"] == pytest.approx(10.0, abs=1e-6)


def test_pv_curtailed_when_export_forbidden(make_case):
    """Free 20 MW PV at availability 1 in hours 10–14 with a 5 MW load and no export:
    5 MW is used, 15 MW curtailed for 4 h each day."""
    index = hourly_index(48)
    avail = np.where((index.hour >= 10) & (index.hour < 14), 1.0, 0.0)
    case = {
        "dc": {"it_mw": 5.0},
        "grid": {"import_limit_mw": 50.0, "energy_price_jpy_per_mwh": 10_000.0},
        "pv": {"capacity_mw": 20.0, "availability": "a"},
    }
    run = solve_verified(make_case(case, index, a=avail))
    assert run.kpis["pv_used_mwh"] == pytest.approx(2 * 4 * 5.0, abs=TOL)
    assert run.kpis["pv_curtailed_mwh"] == pytest.approx(2 * 4 * 15.0, abs=TOL)
    assert run.kpis["grid_import_mwh"] == pytest.approx(5.0 * 48 - 40.0, abs=TOL)


def test_pv_exports_when_allowed_and_paid(make_case):
    """Same PV with export up to 10 MW at 5 000 JPY/MWh: 10 MW exported, 5 MW curtailed."""
    index = hourly_index(48)
    avail = np.where((index.hour >= 10) & (index.hour < 14), 1.0, 0.0)
    case = {
        "dc": {"it_mw": 5.0},
        "grid": {
            "import_limit_mw": 50.0,
            "energy_price_jpy_per_mwh": 10_000.0,
            "export_limit_mw": 10.0,
            "export_price_jpy_per_mwh": 5_000.0,
        },
        "pv": {"capacity_mw": 20.0, "availability": "a"},
    }
    run = solve_verified(make_case(case, index, a=avail))
    assert run.kpis["grid_export_mwh"] == pytest.approx(2 * 4 * 10.0, abs=TOL)
    assert run.kpis["pv_curtailed_mwh"] == pytest.approx(2 * 4 * 5.0, abs=TOL)


def test_unserved_load_priced_at_value_of_lost_compute(make_case):
    """No battery, PUE 1.25, limit 10 MW below a facility load of 12.5 MW for 3 h a day:
    shed 2 MW of IT for 3 h a day; lost compute = α · v · shed MWh."""
    index = hourly_index(24)
    limit = np.where(index.hour < 3, 10.0, 20.0)
    case = {
        "dc": {"it_mw": 10.0, "pue": 1.25, "value_of_lost_compute_jpy_per_mwh": 50_000.0},
        "grid": {"import_limit_mw": "h", "energy_price_jpy_per_mwh": 0.0},
    }
    run = solve_verified(make_case(case, index, h=limit))
    assert run.kpis["dc_it_unserved_mwh"] == pytest.approx(6.0, abs=TOL)
    assert run.kpis["cost_dc_lost_compute_jpy"] == pytest.approx(365 * 6.0 * 50_000.0, rel=1e-9)


def test_capacity_charge_sets_contract_to_peak(make_case):
    """Contract sized: it equals the peak import; a battery too dear to shave leaves it there."""
    index = hourly_index(24)
    it = np.where(index.hour == 18, 14.0, 10.0)
    case = {
        "dc": {"it_mw": "it"},
        "grid": {
            "import_limit_mw": 50.0,
            "energy_price_jpy_per_mwh": 0.0,
            "capacity_charge_jpy_per_kw_year": 10_000.0,
        },
    }
    run = solve_verified(make_case(case, index, it=it))
    assert run.kpis["grid_contract_mw"] == pytest.approx(14.0, abs=TOL)
    assert run.kpis["cost_grid_capacity_charge_jpy"] == pytest.approx(14.0 * 1e7, rel=1e-9)


def test_standing_loss_and_fixed_soc(make_case):
    """A fixed 10 MWh battery with 1 %/h standing loss and the fixed rule at 50 % beside a DC that
    draws nothing: it must end at ≥ 5 MWh and cannot discharge anywhere, so the cheapest plan
    charges once, in the last step, exactly what 24 h of loss took: 5 − 5·0.99^24."""
    index = hourly_index(24)
    case = {
        "dc": {"it_mw": 0.0},
        "grid": {"import_limit_mw": 10.0, "energy_price_jpy_per_mwh": 1000.0},
        "battery": {
            "power_mw": 5.0,
            "energy_mwh": 10.0,
            "charge_efficiency": 1.0,
            "discharge_efficiency": 1.0,
            "standing_loss_per_h": 0.01,
            "soc_rule": "fixed",
            "initial_soc_fraction": 0.5,
        },
    }
    run = solve_verified(make_case(case, index))
    soc = run.results["battery_soc_mwh"].values
    assert soc[-1] == pytest.approx(5.0, abs=TOL)
    assert run.kpis["battery_charge_mwh"] == pytest.approx(5.0 - 5.0 * 0.99**24, abs=1e-6)
    assert run.results["battery_charge_mw"].values[-1] == pytest.approx(5.0 - 5.0 * 0.99**24)
