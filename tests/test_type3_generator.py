"""Type ③ generator as the seed's minutes describe it, and what the survival simulator counts.

All on the hand case of ``type3_helpers``: a 10 MW DC, a 12 h fault from 10:00 to 0 MW, a 6 MW
generator (no start delay) with 5 h of fuel (30 MWh), a full 4 MW / 8 MWh lossless battery,
α = 182.5. Without limits the site serves 38 of the 120 MWh and loses 82.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from figure_rules import saved_figures
from type3_helpers import ALPHA, OPTIONS, SIZED, deterministic, solved, write_case
from typer.testing import CliRunner

from wattbit.case import load_case
from wattbit.cli import app
from wattbit.inputs import build_inputs
from wattbit.n1 import OutageEvent, cut_steps
from wattbit.strategies.stochastic import solve_stochastic
from wattbit.studies.plots import plot_survival
from wattbit.studies.ridethrough import carried_by, horizon_warnings
from wattbit.studies.survival import simulate, survival
from wattbit.verify import verify

GENERATOR = {"power_mw": 6.0, "fuel_tank_h": 5.0, "start_delay_h": 0.0}


def test_running_hours_per_event_cap_binds(tmp_path):
    """At most 3 h at rated power per fault: 18 MWh instead of 30, so 94 MWh are lost
    (120 − 18 − 8), in the optimisation and in the simulator (which runs the generator first:
    10 MW for 2 h with the battery, 6 MW in the third hour, then nothing)."""
    path = write_case(tmp_path, generator={**GENERATOR, "max_run_h_per_event": 3.0})
    run = deterministic(path)
    assert run.kpis["generator_output_mwh"] == pytest.approx(18.0, abs=1e-6)
    assert run.kpis["dc_it_unserved_mwh"] == pytest.approx(94.0, abs=1e-6)
    outcome = simulate(run.results, np.array([10]), 12)
    assert outcome.fuel_used_mwh[0] == pytest.approx(18.0)
    assert outcome.survived_steps[0] == 2
    assert outcome.unserved_mwh[:4, 0] == pytest.approx([0.0, 0.0, 4.0, 14.0])


def test_running_hours_per_year_cap_binds(tmp_path):
    """365 h a year at rated power over a 48 h horizon (α = 182.5): 365 × 6 / 182.5 = 12 MWh of
    generation, so 100 MWh are lost (120 − 12 − 8)."""
    path = write_case(tmp_path, generator={**GENERATOR, "max_run_h_per_year": 365.0})
    run = deterministic(path)
    assert run.kpis["generator_output_mwh"] == pytest.approx(12.0, abs=1e-6)
    assert run.kpis["dc_it_unserved_mwh"] == pytest.approx(100.0, abs=1e-6)


def test_no_refuelling_without_a_delivery_contract(tmp_path):
    """No contract (the default): the tank's 30 MWh and no more in the fault, 82 MWh lost (the tank
    is refilled once it is over). A contract that delivers half the rated use (3 MW) from 6 h into
    the fault adds 6 h × 3 MW = 18 MWh: 64 lost."""
    bare = deterministic(write_case(tmp_path, generator=GENERATOR))
    assert bare.results["generator_refuel_mw"].values[10:22].sum() == pytest.approx(0.0, abs=1e-6)
    assert bare.kpis["dc_it_unserved_mwh"] == pytest.approx(82.0, abs=1e-6)
    contract = {**GENERATOR, "refuel_delay_h": 6.0, "refuel_rate_fraction": 0.5}
    run = deterministic(write_case(tmp_path, generator=contract))
    assert run.results["generator_refuel_mw"].values[10:22].sum() == pytest.approx(18.0, abs=1e-6)
    assert run.kpis["dc_it_unserved_mwh"] == pytest.approx(64.0, abs=1e-6)
    outcome = simulate(run.results, np.array([10]), 12)
    assert outcome.fuel_used_mwh[0] == pytest.approx(48.0)


def maintenance_case(tmp_path, **generator):
    """The 12 h outage is planned maintenance (to 0 MW), not a fault."""
    t3 = {
        "margin_mw": 20.0,
        "scenarios": 1,
        "events": [
            {"start": "2025-05-01T10:00:00+09:00", "duration_h": 12.0, "kind": "maintenance"}
        ],
    }
    return write_case(tmp_path, type3=t3, generator={**GENERATOR, **generator})


def test_generator_refused_in_planned_maintenance_by_default(tmp_path):
    """An emergency generator is not a prime mover: through the planned window it does not run,
    and 112 MWh are lost (120 − 8). With a permit it runs through the window on planned
    deliveries (72 MWh, 40 lost) and its emissions are priced at the default 4,300 JPY/t
    (0.7 t/MWh)."""
    refused = deterministic(maintenance_case(tmp_path))
    assert refused.results["generator_availability"].values[10:22] == pytest.approx(0.0)
    assert refused.kpis["generator_output_mwh"] == pytest.approx(0.0, abs=1e-6)
    assert refused.kpis["dc_it_unserved_mwh"] == pytest.approx(112.0, abs=1e-6)
    carried = carried_by(refused.results).set_index("kind")
    expected = {"hours_per_year": 12.0, "it_demand_mwh": 120.0, "generator_mwh": 0.0}
    expected |= {"battery_mwh": 8.0, "lost_it_mwh": 112.0, "grid_mwh": 0.0}
    for column, value in expected.items():
        assert carried.loc["maintenance", column] == pytest.approx(ALPHA * value, abs=1e-6)
    assert carried.loc["fault", "hours_per_year"] == 0.0
    permitted = deterministic(maintenance_case(tmp_path, maintenance_permit=True))
    assert permitted.kpis["generator_output_mwh"] == pytest.approx(72.0, abs=1e-6)
    assert permitted.kpis["dc_it_unserved_mwh"] == pytest.approx(40.0, abs=1e-6)
    emissions = permitted.kpis["cost_generator_emissions_jpy"]
    assert emissions == pytest.approx(ALPHA * 4_300.0 * 0.7 * 72.0, rel=1e-9)


def test_a_momentary_trip_cuts_until_reconnection(tmp_path):
    """A 3.6 s fault at 10:00 trips the relay; the operator reconnects 2 h after it clears, in
    step 12: steps 10–12 are cut. The site needs 30 MWh, the generator gives 18 and the battery 8:
    4 MWh are lost. Without a reconnect time the dip is the UPS's and cuts nothing."""
    t3 = {
        "margin_mw": 20.0,
        "scenarios": 1,
        "reconnect_h": 2.0,
        "events": [{"start": "2025-05-01T10:00:00+09:00", "duration_h": 0.001}],
    }
    path = write_case(tmp_path, type3=t3, generator=GENERATOR)
    trip = OutageEvent(10.0, 0.001, "fault")
    assert list(cut_steps(trip, load_case(path).case.type3, 1.0, 48)) == [10, 11, 12]
    run = deterministic(path)
    assert run.results["grid_import_limit_mw"].values[9:14] == pytest.approx([20, 0, 0, 0, 20])
    assert run.kpis["dc_it_unserved_mwh"] == pytest.approx(4.0, abs=1e-6)
    no_wait = load_case(path, {"type3.reconnect_h": 0.0}).case.type3
    assert list(cut_steps(trip, no_wait, 1.0, 48)) == []


def test_pv_counts_during_a_simulated_outage(tmp_path):
    """4 MW of PV (8 MW at availability 0.5), no generator or battery, the DC may shut down to 3 MW
    after 2 h. From any start the PV carries the protected 3 MW: it survives the whole 12 h; it
    loses 6 MWh in each of the first 2 h (10 MW needed), nothing after the shutdown."""
    path = write_case(
        tmp_path,
        generator=None,
        battery=None,
        pv={"capacity_mw": 8.0, "availability": 0.5},
        shutdown={"notice_h": 2.0, "protected_share": 0.3},
    )
    run = deterministic(path)
    outcome = simulate(run.results, np.array([0, 30]), 12)
    assert outcome.survived_steps.tolist() == [12, 12]
    assert outcome.unserved_mwh[:, 0] == pytest.approx([6.0, 12.0] + [12.0] * 10)
    no_pv = run.results.assign(pv_capacity_mw=0.0)
    assert simulate(no_pv, np.array([0]), 12).survived_steps[0] == 0


def test_survival_from_inside_maintenance(tmp_path):
    """No battery; the DC may shut down to 2 MW after 2 h; planned maintenance (to 0 MW, no
    generator permit) from 30:00 to the end of the horizon. The site is short at once (a 6 MW
    generator, a 10 MW load), so it sheds the unprotected 8 MW at once and keeps the 30 MWh tank
    for the protected 2 MW: 15 h from every start. What the window changes is how the 8 MW go:
    from a normal hour (start 2) they are lost abruptly until the shutdown notice has passed
    (2 h × 8 = 16 MWh), from inside the window (start 32) the shutdown is planned (nothing
    lost), from start 29 one normal hour (8 MWh) before the window. After 15 h the protected
    2 MW are lost each hour."""
    t3 = {
        "margin_mw": 20.0,
        "scenarios": 1,
        "events": [
            {"start": "2025-05-02T06:00:00+09:00", "duration_h": 18.0, "kind": "maintenance"}
        ],
    }
    path = write_case(
        tmp_path,
        type3=t3,
        battery=None,
        generator=GENERATOR,
        shutdown={"notice_h": 2.0, "protected_share": 0.2},
    )
    run = deterministic(path)
    outcome = simulate(run.results, np.array([2, 29, 32]), 17)
    assert outcome.survived_steps.tolist() == [15, 15, 15]
    after = [2.0, 4.0]
    assert outcome.unserved_mwh[:, 0] == pytest.approx(
        [8.0] + [16.0] * 14 + [16 + a for a in after]
    )
    assert outcome.unserved_mwh[:, 1] == pytest.approx([8.0] * 15 + [8 + a for a in after])
    assert outcome.unserved_mwh[:, 2] == pytest.approx([0.0] * 15 + after)
    assert outcome.fuel_used_mwh.tolist() == pytest.approx([30.0] * 3)
    curve = survival(run.results, 16).curve.set_index("duration_h")
    for column in ("survival_probability_normal", "survival_probability_maintenance"):
        assert curve.loc[15.0, column] == pytest.approx(1.0)
        assert curve.loc[16.0, column] == pytest.approx(0.0)


def test_cut_horizons_say_what_they_weight(tmp_path):
    """A 12 h planned window in a 48 h horizon is 25 % of it but 12/8760 = 0.14 % of a year: the
    annual figures weight maintenance ×183, and no fault is drawn. The hand case (one listed
    12 h fault, no maintenance) warns of nothing."""
    path = maintenance_case(tmp_path)
    results = deterministic(path).results
    warnings = horizon_warnings(load_case(path), results)
    assert len(warnings) == 2
    assert (
        "25% of this 48 h horizon but 0.1% of a year" in warnings[0] and "×1.8e+02" in warnings[0]
    )
    assert warnings[1].startswith("no scenario draws a fault")
    hand = write_case(tmp_path)
    assert horizon_warnings(load_case(hand), deterministic(hand).results) == []


def test_minimum_survival_hours_as_a_constraint(tmp_path):
    """Lost compute costs 15 kJPY/MWh; a battery MWh costs 10 kJPY of wear when discharged and
    10 kJPY to buy back: 20 kJPY, so without a service level the site lets the whole 12 h fault
    go (120 MWh lost). With ``min_survival_h = 4`` it must keep the protected 20 % (2 MW) through
    the first 4 h: the battery gives 8 MWh and 112 MWh are lost, α 8 (20 − 15) kJPY more."""
    battery = {
        "power_mw": 4.0,
        "energy_mwh": 8.0,
        "charge_efficiency": 1.0,
        "discharge_efficiency": 1.0,
        "throughput_cost_jpy_per_mwh": 10_000.0,
    }
    tables = {
        "generator": None,
        "battery": battery,
        "dc": {"it_mw": 10.0, "value_of_lost_compute_jpy_per_mwh": 15_000.0},
        "shutdown": {"notice_h": 2.0, "protected_share": 0.2},
    }
    free = deterministic(write_case(tmp_path, **tables))
    assert free.kpis["dc_it_unserved_mwh"] == pytest.approx(120.0, abs=1e-6)
    kept = deterministic(write_case(tmp_path, **tables), **{"type3.min_survival_h": 4.0})
    served = 10.0 - kept.results["dc_shed_it_mw"].values - kept.results["shutdown_it_mw"].values
    assert served[10:14] == pytest.approx(2.0, abs=1e-6)
    assert kept.kpis["dc_it_unserved_mwh"] == pytest.approx(112.0, abs=1e-6)
    extra = kept.kpis["total_cost_jpy"] - free.kpis["total_cost_jpy"]
    assert extra == pytest.approx(ALPHA * 8 * 5_000.0, rel=1e-9)
    tampered = kept.results.copy(deep=True)
    tampered["dc_shed_it_mw"].values[12] += 1.0  # 3rd hour of the fault: only 1 MW kept
    assert (
        verify(tampered).violations["H7 protected load kept through the first hours of a fault"]
        > 0.5
    )


def _service_level_case(tmp_path: Path, chance: float, **type3: Any) -> Path:
    """Two scenarios, a 2 h fault (p = 0.7) and a 12 h fault (p = 0.3), the protected 20 % of
    10 MW kept through 12 h with probability ``chance``; a sized generator, no battery."""
    t3 = {
        "margin_mw": 20.0,
        "scenarios": 2,
        "scenario_probabilities": [0.7, 0.3],
        "min_survival_h": 12.0,
        "min_survival_probability": chance,
        "events": [
            {"start": "2025-05-01T10:00:00+09:00", "duration_h": 2.0, "scenario": 0},
            {"start": "2025-05-02T04:00:00+09:00", "duration_h": 12.0, "scenario": 1},
        ],
        **type3,
    }
    return write_case(
        tmp_path,
        type3=t3,
        battery=None,
        generator={**SIZED["generator"], "start_delay_h": 0.0},
        dc={"it_mw": 10.0, "value_of_lost_compute_jpy_per_mwh": 15_000.0},
        shutdown={"notice_h": 2.0, "protected_share": 0.2},
    )


@pytest.mark.parametrize(
    ("chance", "power_mw", "required"), [(1.0, 3.0, [1, 1]), (0.7, 2.0, [1, 0])]
)
def test_a_service_level_with_probability_p(tmp_path, chance, power_mw, required):
    """K4. Two scenarios: a 2 h fault (p = 0.7) and a 12 h fault (p = 0.3); lost compute costs
    15 kJPY/MWh, less than the generator's fuel, so only the service level builds one. The
    protected 20 % (2 MW) must be kept through the first 12 h of a fault; the generator is sized
    (tank 8 h at rated power). Met in both scenarios (P = 1): 24 MWh in the long fault, so
    8 P ≥ 24, P = 3 MW. With P = 0.7 the long fault, the lighter scenario, may fail: only the
    2 MW of the short one, P = 2 MW. The verifier recomputes which scenarios keep the protected
    load, from the dispatch, and finds weight ≥ P."""
    path = _service_level_case(tmp_path, chance)
    run = solved(solve_stochastic(build_inputs(load_case(path)), OPTIONS))
    assert run.kpis["generator_power_mw"] == pytest.approx(power_mw, abs=1e-6)
    if chance < 1:
        assert run.results["scenario_survival_required"].values.tolist() == required
        check = "K4 scenarios keeping the protected load weigh at least P"
        assert run.verification.violations[check] == pytest.approx(0.0, abs=1e-9)
        assert "H7 protected load kept through the first hours of a fault" in (
            run.verification.violations
        )


def test_ridethrough_names_the_scenarios_held_to_the_service_level(tmp_path):
    """The case of the test above at P = 0.7 through `wattbit ridethrough`: only scenario 0
    (weight 0.7) is held to the service level, and the command says so."""
    path = _service_level_case(tmp_path, 0.7, out_of_sample_years=0)
    result = CliRunner().invoke(app, ["ridethrough", str(path)])
    assert result.exit_code == 0, result.output
    assert "in scenarios 0 (weight 0.700 ≥ P = 0.7)" in " ".join(result.output.split())


def test_the_survival_plot_is_labelled_with_units(tmp_path):
    """survival.png of the maintenance case: every axis labelled with its unit (figure_rules)."""
    results = deterministic(maintenance_case(tmp_path)).results
    with saved_figures() as seen:
        plot_survival(survival(results, 12), tmp_path / "survival.png", "hand case")
    assert seen == {"survival.png": []}
