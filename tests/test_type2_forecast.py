"""Type ② under forecast error: real-time recourse in the committed day, AR(1) forecast errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import EXAMPLE, hourly_index, solve_verified

from wattbit.headroom import ar1_errors, issued_forecast
from wattbit.strategies.recourse import BatteryLimits, Realised, recourse, refill

LOSSLESS = BatteryLimits(
    power_mw=4.0, floor_mwh=0.0, keep_per_step=1.0, charge_efficiency=1.0, discharge_efficiency=1.0
)


def test_recourse_stops_charging_then_discharges_then_sheds():
    """Plan: import 14, 10, 10 MW for a 10 MW load, charging 4 MW in the first hour (4 MWh
    stored before). Realised headroom 12, 5, 3 MW:
    hour 0 — 2 MW short: charging drops to 2 MW, nothing shed (state of charge 6 MWh);
    hour 1 — 5 MW short: discharge 4 MW (its power), shed 1 MW (state of charge 2 MWh);
    hour 2 — 7 MW short: discharge the 2 MWh left, shed 5 MW."""
    done = recourse(
        import_mw=np.array([14.0, 10.0, 10.0]),
        facility_mw=np.full(3, 10.0),
        headroom_mw=np.array([12.0, 5.0, 3.0]),
        contract_mw=20.0,
        dt_h=1.0,
        charge_mw=np.array([4.0, 0.0, 0.0]),
        discharge_mw=np.zeros(3),
        battery=LOSSLESS,
        soc_before_mwh=4.0,
    )
    assert done.charge_mw.tolist() == [2.0, 0.0, 0.0]
    assert done.discharge_mw.tolist() == [0.0, 4.0, 2.0]
    assert done.shed_facility_mw.tolist() == [0.0, 1.0, 5.0]
    assert done.import_mw.tolist() == [12.0, 5.0, 3.0]
    assert done.soc_mwh.tolist() == [6.0, 2.0, 0.0]


def test_a_discharge_the_battery_can_no_longer_make_is_imported_where_room_allows():
    """Plan: discharge 4 MW in hour 2 (import 6 MW). Hour 1 falls 5 MW short, so the battery
    empties itself there (4 MW) and 1 MW is shed; in hour 2 the headroom (20 MW) lets the grid
    bring the 4 MW the battery no longer has: import 10 MW, nothing shed. With 7 MW of headroom in
    hour 2 only 1 MW more can come from the grid and 3 MW is shed."""
    plan = {
        "import_mw": np.array([10.0, 10.0, 6.0]),
        "facility_mw": np.full(3, 10.0),
        "contract_mw": 20.0,
        "dt_h": 1.0,
        "charge_mw": np.zeros(3),
        "discharge_mw": np.array([0.0, 0.0, 4.0]),
        "battery": LOSSLESS,
        "soc_before_mwh": 4.0,
    }
    done = recourse(headroom_mw=np.array([20.0, 5.0, 20.0]), **plan)
    assert done.discharge_mw.tolist() == [0.0, 4.0, 0.0]
    assert done.shed_facility_mw.tolist() == [0.0, 1.0, 0.0]
    assert done.import_mw.tolist() == [10.0, 5.0, 10.0]
    tight = recourse(headroom_mw=np.array([20.0, 5.0, 7.0]), **plan)
    assert tight.shed_facility_mw.tolist() == [0.0, 1.0, 3.0]
    assert tight.import_mw.tolist() == [10.0, 5.0, 7.0]


def test_recourse_with_losses_keeps_the_floor():
    """η = 0.9 each way, 20 % floor of 10 MWh, 4 MWh stored: 2 MWh may leave the battery,
    1.8 MWh reach the bus; a 3 MW shortfall sheds 1.2 MW."""
    battery = BatteryLimits(4.0, 2.0, 1.0, 0.9, 0.9)
    done = recourse(
        np.array([10.0]), np.array([10.0]), np.array([7.0]), 20.0, 1.0,
        np.zeros(1), np.zeros(1), battery, 4.0,
    )  # fmt: skip
    assert done.discharge_mw[0] == pytest.approx(1.8)
    assert done.shed_facility_mw[0] == pytest.approx(1.2)
    assert done.soc_mwh[0] == pytest.approx(2.0)


def test_ar1_forecast_is_reproducible_per_seed_and_window():
    truth = np.full(48, 10.0)
    first = issued_forecast(truth, 24, 0.1, 0.9, 1.0, seed=7)
    assert np.array_equal(first, issued_forecast(truth, 24, 0.1, 0.9, 1.0, seed=7))
    assert not np.array_equal(first, issued_forecast(truth, 24, 0.1, 0.9, 1.0, seed=8))
    assert not np.array_equal(first, issued_forecast(truth, 48, 0.1, 0.9, 1.0, seed=7))
    assert (first >= 0).all() and not np.allclose(first, truth)
    assert np.array_equal(issued_forecast(truth, 24, 0.0, 0.9, 1.0, seed=7), truth)


def test_ar1_errors_grow_with_lead_time_and_are_autocorrelated():
    """20 000 seeded paths: the standard deviation at lead k is σ·√(1 − ρ^(2k)) and the
    correlation of neighbouring leads at long lead is ρ, within sampling error (~1 %)."""
    sigma, rho, paths = 0.2, 0.8, 20_000
    rng = np.random.default_rng(11)
    errors = np.array([ar1_errors(24, sigma, rho, rng) for _ in range(paths)])
    lead = np.arange(1, 25)
    expected = sigma * np.sqrt(1.0 - rho ** (2 * lead))
    assert errors.std(axis=0) == pytest.approx(expected, rel=0.03)
    assert np.corrcoef(errors[:, 20], errors[:, 21])[0, 1] == pytest.approx(rho, abs=0.02)
    assert abs(errors.mean()) < 0.01


def test_forecast_mode_with_ar1_errors_is_reproducible(tmp_path):
    """Three days of the example (measured headroom), AR(1) errors: the same seed gives the same
    realised cost, never below perfect foresight with the same assets; another seed differs."""
    base = {
        "horizon.steps": 72,
        "horizon.start": "2026-01-12T00:00:00+09:00",
        "grid.mode": "type2_forecast",
        "grid.forecast.method": "ar1",
        "grid.forecast.error_std_fraction": 0.3,
    }
    runs = [solve_verified(EXAMPLE, **base, **{"grid.forecast.seed": s}) for s in (1, 1, 2)]
    costs = [r.kpis["total_cost_jpy"] for r in runs]
    assert costs[0] == costs[1]
    assert costs[2] != costs[0]
    for run in runs:
        foresight = run.results.attrs["foresight_objective_jpy"]
        assert run.kpis["total_cost_jpy"] >= foresight * (1 - 1e-9)
        assert run.results.attrs["battery_terminal_deficit_mwh"] == 0.0


def test_refill_restores_the_initial_energy_at_the_end():
    """After the recourse of the second test the battery ends empty; the year started with
    4 MWh. Hour 2 has 10 MW of spare headroom: charging 4 MW there (at its price) restores it.
    Where no headroom is left (the first test's 12, 5, 3 MW), the deficit stays and is returned."""
    done = Realised(
        import_mw=np.array([10.0, 5.0, 10.0]),
        charge_mw=np.zeros(3),
        discharge_mw=np.array([0.0, 4.0, 0.0]),
        soc_mwh=np.array([4.0, 0.0, 0.0]),
        shed_facility_mw=np.array([0.0, 1.0, 0.0]),
    )
    left = refill(done, np.array([20.0, 5.0, 20.0]), 20.0, 1.0, LOSSLESS, 8.0, 4.0)
    assert left == 0.0
    assert done.charge_mw.tolist() == [0.0, 0.0, 4.0]
    assert done.import_mw.tolist() == [10.0, 5.0, 14.0]
    assert done.soc_mwh.tolist() == [4.0, 0.0, 4.0]
    stuck = Realised(
        np.array([12.0, 5.0, 3.0]), np.array([2.0, 0.0, 0.0]), np.array([0.0, 4.0, 2.0]),
        np.array([6.0, 2.0, 0.0]), np.array([0.0, 1.0, 5.0]),
    )  # fmt: skip
    assert refill(stuck, np.array([12.0, 5.0, 3.0]), 20.0, 1.0, LOSSLESS, 8.0, 4.0) == 4.0


def _reoptimise_case(make_case):
    """Six hours, a 10 MW (IT, PUE 1) DC, a lossless 4 MW / 4 MWh battery, realised headroom
    6, 20, 20, 6, 20, 20 MW; the forecast misses the first gap (10 MW at hour 0)."""
    index = hourly_index(6)
    case = {
        "dc": {"it_mw": 10.0, "value_of_lost_compute_jpy_per_mwh": 100_000.0},
        "grid": {
            "import_limit_mw": "h",
            "energy_price_jpy_per_mwh": 10_000.0,
            "mode": "type2_forecast",
            "contract_mw": 20.0,
            "forecast": {"method": "series", "column": "f", "lookahead_h": 6.0, "commit_h": 6.0},
        },
        "battery": {
            "power_mw": 4.0,
            "energy_mwh": 4.0,
            "charge_efficiency": 1.0,
            "discharge_efficiency": 1.0,
            "throughput_cost_jpy_per_mwh": 100.0,
        },
    }
    h = np.array([6.0, 20.0, 20.0, 6.0, 20.0, 20.0])
    return make_case(case, index, h=h, f=np.array([10.0, 20.0, 20.0, 6.0, 20.0, 20.0]))


def test_hourly_reoptimisation_beats_the_rule_order(make_case):
    """Foresight starts the battery full (it must cover the 4 MW gap at hour 0). The day plan,
    on the forecast, keeps it full until hour 3's gap, discharges 4 MW there and recharges after.
    Rules: hour 0's shortfall empties the battery (discharge 4 MW); nothing in the plan
    recharges it, so hour 3's planned discharge cannot be made and 4 MWh are cut at once.
    Re-optimised at hour 0 (realised 6 MW known): discharge 4 MW now, recharge 4 MW at hour 1 or
    2, discharge again at hour 3 — nothing cut, one extra cycle of 4 MWh bought at
    10 000 JPY/MWh, its 4 MWh discharged at 100 JPY/MWh throughput. The saving is
    α (4 × 100 000 − 4 × 10 000 − 4 × 100) with α = 8760 / 6 (costs are annualised)."""
    path = _reoptimise_case(make_case)
    rules = solve_verified(path)
    again = solve_verified(path, **{"grid.forecast.recourse": "reoptimise"})
    assert rules.kpis["dc_emergency_curtailed_mwh"] == pytest.approx(4.0, abs=1e-6)
    assert again.kpis["dc_it_unserved_mwh"] == pytest.approx(0.0, abs=1e-6)
    assert again.results.attrs["rolling_reoptimisations"] == 1
    assert rules.results.attrs["rolling_reoptimisations"] == 0
    alpha = 8760.0 / 6.0
    saving = rules.kpis["total_cost_jpy"] - again.kpis["total_cost_jpy"]
    assert saving == pytest.approx(alpha * (4 * 100_000 - 4 * 10_000 - 4 * 100), rel=1e-9)
