"""Type ③ foresight: what a scenario may know, and when (K3 over every pair of scenarios).

The case (a variant of the hand case in ``type3_helpers``): a 10 MW DC, a 4 MW / 8 MWh lossless
battery, no generator; energy is free except 40 kJPY/MWh at 12:00–14:00; abrupt loss costs
5 kJPY/MWh, graceful shutdown (notice 2 h, nothing protected) 1 kJPY/MWh. Two equally likely
scenarios both lose the margin at 10:00: for 2 h (A) or for 6 h (B). Their data are the same until
12:00, when A reconnects.

By hand (α = 182.5): the battery is full at 10:00 (free energy before). In both, 10:00–12:00
can only be served by the battery (the shutdown notice has not passed): 8 MWh, 12 MWh shed at
5 kJPY = 60 kJPY. A then sheds 20 MWh at 12:00–14:00 rather than buy at 40 kJPY (100 kJPY);
B shuts down 40 MWh at 12:00–16:00 (40 kJPY). Expected cost α (½ 160 + ½ 100) kJPY.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import hourly_index, write_series
from type3_helpers import OPTIONS, SIZED, solved, write_case

from wattbit.case import load_case
from wattbit.inputs import build_inputs
from wattbit.n1 import scenario_events
from wattbit.strategies.stochastic import first_difference, solve_stochastic
from wattbit.studies.out_of_sample import Fault, in_sample_faults, out_of_sample

LOSS, SHUTDOWN, PEAK = 5_000.0, 1_000.0, 40_000.0  # JPY/MWh


def same_first_hour(tmp_path):
    t3 = {
        "margin_mw": 20.0,
        "scenarios": 2,
        "events": [
            {"start": "2025-05-01T10:00:00+09:00", "duration_h": 2.0, "scenario": 0},
            {"start": "2025-05-01T10:00:00+09:00", "duration_h": 6.0, "scenario": 1},
        ],
    }
    path = write_case(
        tmp_path,
        type3=t3,
        generator=None,
        dc={"it_mw": 10.0, "value_of_lost_compute_jpy_per_mwh": LOSS},
        shutdown={
            "notice_h": 2.0,
            "protected_share": 0.0,
            "value_of_lost_compute_jpy_per_mwh": SHUTDOWN,
        },
    )
    price = np.where((np.arange(48) >= 12) & (np.arange(48) < 14), PEAK, 0.0)
    write_series(tmp_path / "series.csv", hourly_index(48), price=price)
    return build_inputs(load_case(path))


def per_scenario(results, name):
    """``(scenario, time)`` values of a result series (equal series have no scenario axis)."""
    da = results[name]
    if "scenario" not in da.dims:
        da = da.expand_dims(scenario=results["scenario"].values)
    return da.transpose("scenario", "time").values


def test_same_first_hour_scenarios_do_not_know_the_duration(tmp_path):
    """Both scenarios' first fault starts at the same hour (this used to end in a TypeError):
    their data first differ at 12:00, and until then they dispatch alike."""
    inputs = same_first_hour(tmp_path)
    assert first_difference(inputs).tolist() == [[48, 12], [12, 48]]
    run = solved(solve_stochastic(inputs, OPTIONS))
    assert run.results.attrs["expected_cost_jpy"] == pytest.approx(182.5 * 130_000.0, rel=1e-9)
    discharge = per_scenario(run.results, "battery_discharge_mw")
    assert discharge[:, 10:12].sum(axis=1) == pytest.approx([8.0, 8.0], abs=1e-6)
    shed = per_scenario(run.results, "dc_shed_it_mw")
    assert shed.sum(axis=1) == pytest.approx([32.0, 12.0], abs=1e-6)
    shutdown = per_scenario(run.results, "shutdown_it_mw")
    assert shutdown.sum(axis=1) == pytest.approx([0.0, 40.0], abs=1e-6)
    assert run.verification.violations["K3 dispatch equal until the scenarios' data differ"] <= 1e-6


STATISTICS = [
    {"max_duration_h": 0.01, "events_per_year": 1.0},
    {"max_duration_h": 12.0, "events_per_year": 0.3},
    {"max_duration_h": 2160.0, "events_per_year": 0.01},
]


@pytest.mark.parametrize("scenarios", [2, 3, 5, 8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stratified_sample_always_holds_a_long_fault(tmp_path, scenarios, seed):
    """0.01 long (12–2160 h) faults a year over a 48 h horizon: P(at least one) =
    1 − exp(−0.01 × 48/8760) ≈ 5.5e-5, so plain sampling almost never draws one. Stratified, one
    scenario (K_L = max(1, round(K × 5.5e-5))) holds at least one and weighs 5.5e-5; the other
    K − 1 share the rest and hold none."""
    t3 = {
        "margin_mw": 20.0,
        "fault_statistics": STATISTICS,
        "sampling": "stratified",
        "scenarios": scenarios,
        "seed": seed,
    }
    loaded = load_case(write_case(tmp_path, type3=t3))
    events = scenario_events(loaded)
    long = [sum(e.duration_h > 12.0 for e in scenario) for scenario in events]
    assert long[0] >= 1 and long[1:] == [0] * (scenarios - 1)
    p_long = -np.expm1(-0.01 * 48 / 8760)
    weights = build_inputs(loaded)["scenario_probability"].values
    assert weights == pytest.approx([p_long] + [(1 - p_long) / (scenarios - 1)] * (scenarios - 1))


def test_out_of_sample_cost_exceeds_the_over_fitted_in_sample_cost(tmp_path):
    """Faults of 2 h, ~2 per 48 h (365 a year); energy free at night, 40 kJPY/MWh by day; a
    sized battery, no generator. K = 2 draws one fault (scenario 1, 16:00–19:00: three steps),
    and the shared dispatch keeps 30 MWh in the battery for exactly those hours, which costs
    nothing since every daytime hour is priced alike: in sample the fault is free, the expected
    cost equals the no-fault plan's. Operated on 200 fresh years, faults find the battery where
    the plan left it, and the sizes cost far more (by more than two standard errors)."""
    t3 = {
        "margin_mw": 20.0,
        "scenarios": 2,
        "seed": 3,
        "area_faults_per_year": 365.0,
        "fault_classes": [{"name": "two_hours", "probability": 1.0, "min_h": 2.0, "max_h": 2.0}],
    }
    path = write_case(tmp_path, type3=t3, generator=None, battery=SIZED["battery"])
    day = np.arange(48) % 24 >= 8
    write_series(tmp_path / "series.csv", hourly_index(48), price=np.where(day, PEAK, 0.0))
    loaded = load_case(path)
    inputs = build_inputs(loaded)
    run = solved(solve_stochastic(inputs, OPTIONS))
    assert in_sample_faults(run.results) == [Fault(year=1, start=16, steps=3)]
    result = out_of_sample(loaded, inputs, run, OPTIONS, years=200)
    assert result.in_sample_jpy == pytest.approx(result.plan_jpy, rel=1e-9)
    assert result.mean_jpy - 2 * result.standard_error_jpy > result.in_sample_jpy
    assert result.in_sample_policy_jpy > result.in_sample_jpy
