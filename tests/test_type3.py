"""Type ③ (N-1 margin): hand-solved outages, the stochastic problem, survival, NPV, bad input.

The hand case: a 10 MW (IT, PUE 1) DC over 48 h behind a 20 MW margin (no firm part). A fault
from 10:00 lasting 12 h cuts the margin to 0. A 6 MW generator holds 5 h of fuel (30 MWh); a
4 MW / 8 MWh lossless battery is full when the fault starts (a lost MWh costs 1 MJPY, energy 10
kJPY/MWh). Over the 12 h the site needs 120 MWh and has 38: 82 MWh are lost whatever the
order. The simulator's rule (generator first, then battery) serves 10 MW for 2 h, then 6 MW for
3 h, then nothing: it survives 2 h. α = 8760 / 48 = 182.5.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import hourly_index, write_series
from type3_helpers import (
    ALPHA,
    FUEL,
    OPTIONS,
    REFERENCE,
    SIZED,
    VOLC,
    deterministic,
    solved,
    write_case,
)
from typer.testing import CliRunner

from wattbit.case import Connect, FirmTier, load_case
from wattbit.cli import app
from wattbit.inputs import build_inputs
from wattbit.n1 import OutageEvent, cut_steps, fault_model, scenario_events
from wattbit.optimise import solve_inputs
from wattbit.strategies import solve
from wattbit.strategies.stochastic import solve_stochastic, standard_error, verify_stochastic
from wattbit.studies.connection import Economics, annuity_factor, option_rows
from wattbit.studies.ridethrough import firm_reference_inputs
from wattbit.studies.survival import simulate, survival


def test_single_outage_by_hand(tmp_path):
    run = deterministic(write_case(tmp_path))
    k = run.kpis
    assert k["dc_it_unserved_mwh"] == pytest.approx(82.0, abs=1e-6)
    assert k["generator_output_mwh"] == pytest.approx(30.0, abs=1e-6)
    assert k["cost_dc_lost_compute_jpy"] == pytest.approx(ALPHA * VOLC * 82.0, rel=1e-9)
    assert k["cost_generator_fuel_jpy"] == pytest.approx(ALPHA * FUEL * 30.0, rel=1e-9)
    limit = run.results["grid_import_limit_mw"].values
    assert limit[10:22] == pytest.approx(0.0) and np.delete(limit, range(10, 22)) == pytest.approx(
        20.0
    )
    outcome = simulate(run.results, np.array([10]), 12)
    assert outcome.survived_steps[0] == 2
    assert outcome.unserved_mwh[:, 0] == pytest.approx(np.cumsum([0, 0, 4, 4, 4] + [10] * 7))
    assert outcome.fuel_used_mwh[0] == pytest.approx(30.0)


def test_ups_bridges_the_generator_start(tmp_path):
    """A 10 MW generator starts 15 min into a 3 h fault: it yields 7.5 MWh in the first hour.
    A UPS with 15 min at 10 MW (2.5 MWh) bridges the gap; with 6 min (1 MWh), 1.5 MWh is lost
    and the protected (here: whole) load is not kept in the first hour."""
    tables = {
        "battery": None,
        "generator": {"power_mw": 10.0, "start_delay_h": 0.25, "fuel_tank_h": 48.0},
        "ups": {
            "power_mw": 10.0,
            "autonomy_minutes": 15.0,
            "charge_efficiency": 1.0,
            "discharge_efficiency": 1.0,
        },
        "type3": {
            "margin_mw": 20.0,
            "scenarios": 1,
            "events": [{"start": "2025-05-01T10:00:00+09:00", "duration_h": 3.0}],
        },
    }
    path = write_case(tmp_path, **tables)
    run = deterministic(path)
    assert run.kpis["dc_it_unserved_mwh"] == pytest.approx(0.0, abs=1e-6)
    assert run.results["generator_availability"].values[10:13] == pytest.approx([0.75, 1, 1])
    assert simulate(run.results, np.array([10]), 3).survived_steps[0] == 3
    short = deterministic(path, **{"ups.autonomy_minutes": 6.0})
    assert short.kpis["dc_it_unserved_mwh"] == pytest.approx(1.5, abs=1e-6)
    outcome = simulate(short.results, np.array([10]), 3)
    assert outcome.survived_steps[0] == 0
    assert outcome.unserved_mwh[-1, 0] == pytest.approx(1.5)


def test_shutdown_after_notice_and_sla_penalty(tmp_path):
    """No generator or battery; the DC may shut down to 20 % after 2 h at 100 kJPY/MWh. Over the
    12 h fault it sheds 10 MW for 2 h (20 MWh at v), then shuts down 8 MW (80 MWh at v_z) and
    sheds the protected 2 MW (20 MWh at v). The event pays the SLA penalty once."""
    path = write_case(
        tmp_path,
        battery=None,
        generator=None,
        shutdown={
            "notice_h": 2.0,
            "protected_share": 0.2,
            "value_of_lost_compute_jpy_per_mwh": 100_000.0,
        },
    )
    run = deterministic(path, **{"type3.sla_penalty_jpy_per_event": 1e6})
    k = run.kpis
    assert k["dc_it_shutdown_mwh"] == pytest.approx(80.0, abs=1e-6)
    assert k["cost_dc_lost_compute_jpy"] == pytest.approx(ALPHA * VOLC * 40.0, rel=1e-9)
    assert k["cost_shutdown_lost_compute_jpy"] == pytest.approx(ALPHA * 1e5 * 80.0, rel=1e-9)
    assert k["cost_shutdown_sla_jpy"] == pytest.approx(ALPHA * 1e6, rel=1e-9)


def test_migration_moves_work_after_its_notice(tmp_path):
    """6 MW may move after 1 h at 50 kJPY/MWh: 11 h × 6 MW moved; the rest is lost (10 + 44 MWh)."""
    path = write_case(
        tmp_path,
        battery=None,
        generator=None,
        migration={"capacity_it_mw": 6.0, "cost_jpy_per_mwh": 50_000.0, "notice_h": 1.0},
    )
    k = deterministic(path).kpis
    assert k["dc_it_migrated_mwh"] == pytest.approx(66.0, abs=1e-6)
    assert k["dc_it_unserved_mwh"] == pytest.approx(54.0, abs=1e-6)
    assert k["cost_migration_transfer_jpy"] == pytest.approx(ALPHA * 50_000.0 * 66.0, rel=1e-9)


def test_the_simulator_migrates_only_the_unprotected_share(tmp_path):
    """R5 in the simulator. Protected share 0.2 (2 MW), a 12 MW link without notice, a 2 MW
    generator with a 5 h tank, no battery. Short at once (2 MW for 10): the link takes the
    unprotected 8 MW (not 10), the generator keeps the protected 2 MW for 5 h (10 MWh), so the
    site survives 5 h with the whole load here or moved. The optimisation (R5 binding) moves
    8 MW in each of the 12 h of the fault and loses the protected 2 MW once the tank is empty:
    7 h × 2 = 14 MWh."""
    path = write_case(
        tmp_path,
        battery=None,
        generator={"power_mw": 2.0, "fuel_tank_h": 5.0, "start_delay_h": 0.0},
        shutdown={"notice_h": 2.0, "protected_share": 0.2},
        migration={"capacity_it_mw": 12.0, "cost_jpy_per_mwh": 1_000.0},
    )
    run = deterministic(path)
    assert run.kpis["dc_it_migrated_mwh"] == pytest.approx(96.0, abs=1e-6)
    assert run.kpis["dc_it_unserved_mwh"] == pytest.approx(14.0, abs=1e-6)
    outcome = simulate(run.results, np.array([30]), 6, trace=True)
    assert outcome.trace["migrated_it_mw"][:, 0] == pytest.approx([8.0] * 6)
    assert outcome.survived_steps[0] == 5
    assert outcome.full_service_steps[0] == 5


def test_k1_stochastic_equals_deterministic(tmp_path):
    """One sampled scenario with sized battery and generator: the stochastic problem (a scenario
    block tied to first-stage sizes) and the single-site model give the same optimum."""
    t3 = {"margin_mw": 20.0, "scenarios": 1, "seed": 4, "area_faults_per_year": 300.0}
    path = write_case(tmp_path, type3=t3, **SIZED)
    inputs = build_inputs(load_case(path))
    assert inputs["type3_fault_cut"].values.sum() > 0  # the seed gives a fault
    single = solved(solve_inputs(inputs, OPTIONS))
    stochastic = solved(solve_stochastic(inputs, OPTIONS))
    assert stochastic.results.attrs["expected_cost_jpy"] == pytest.approx(
        single.kpis["total_cost_jpy"], rel=1e-9
    )
    for size in ("battery_power_mw", "battery_energy_mwh", "generator_power_mw"):
        assert stochastic.kpis[size] == pytest.approx(single.kpis[size], abs=1e-6)


def test_two_scenarios_share_sizes_and_weigh_costs(tmp_path):
    """Scenario 0 has the 12 h fault, scenario 1 none, with weights 0.25 / 0.75. Sizes are first
    stage (equal in both), the objective is the weighted total, and the same two scenarios at
    weights 1 / 0 give scenario 0's deterministic optimum."""
    t3 = {
        "margin_mw": 20.0,
        "scenarios": 2,
        "scenario_probabilities": [0.25, 0.75],
        "events": [{"start": "2025-05-01T10:00:00+09:00", "duration_h": 12.0, "scenario": 0}],
    }
    path = write_case(tmp_path, type3=t3, **SIZED)
    run = solved(solve_stochastic(build_inputs(load_case(path)), OPTIONS))
    totals = run.results["total_cost_jpy"].values
    assert run.results.attrs["expected_cost_jpy"] == pytest.approx(
        0.25 * totals[0] + 0.75 * totals[1], rel=1e-9
    )
    assert "scenario" not in run.results["generator_power_mw"].dims
    mean = 0.25 * totals[0] + 0.75 * totals[1]
    spread = 2 * (0.25**2 * (totals[0] - mean) ** 2 + 0.75**2 * (totals[1] - mean) ** 2)
    assert standard_error(run.results) == pytest.approx(spread**0.5, rel=1e-12)
    certain = solved(
        solve_stochastic(
            build_inputs(load_case(path, {"type3.scenario_probabilities": [1.0, 0.0]})), OPTIONS
        )
    )
    one = deterministic(path, **{"type3.scenarios": 1, "type3.scenario_probabilities": []})
    assert certain.results.attrs["expected_cost_jpy"] == pytest.approx(
        one.kpis["total_cost_jpy"], rel=1e-9
    )


def test_no_scenario_prepares_for_a_fault_it_cannot_foresee(tmp_path):
    """Energy is free except 40 kJPY/MWh at 10:00–29:00; a 10 MW / 10 MWh battery earns
    0.4 MJPY by discharging then. Scenario 0 (p = 0.01) has a 2 h fault at 30:00; scenario 1 none.
    Knowing its fault, scenario 0 would keep the battery full and lose 10 MWh, not 20; but until
    30:00 it cannot be told from scenario 1, so it must dispatch as scenario 1 does (K3), which
    pays: 0.99 × 0.4 MJPY > 0.01 × 10 MWh × 1 MJPY. It loses 20 MWh."""
    index = hourly_index(48)
    price = np.where((np.arange(48) >= 10) & (np.arange(48) < 30), 40_000.0, 0.0)
    t3 = {
        "margin_mw": 20.0,
        "scenarios": 2,
        "scenario_probabilities": [0.01, 0.99],
        "events": [{"start": "2025-05-02T06:00:00+09:00", "duration_h": 2.0, "scenario": 0}],
    }
    path = write_case(tmp_path, type3=t3, generator=None)
    write_series(tmp_path / "series.csv", index, price=price)
    inputs = build_inputs(load_case(path))
    assert inputs["scenario_branch_step"].values.tolist() == [30, 48]
    run = solved(solve_stochastic(inputs, OPTIONS))
    shed = run.results["dc_shed_it_mw"].values
    assert shed[0].sum() == pytest.approx(20.0, abs=1e-6)
    soc = run.results["battery_soc_mwh"]  # the same in both scenarios: no scenario axis
    assert "scenario" not in soc.dims and float(soc[29]) == pytest.approx(0.0, abs=1e-6)


def test_uncut_margin_equals_firm_at_full_capacity(tmp_path):
    """No event ever cuts the margin: type ③ is a firm connection of firm part + margin."""
    t3 = {"firm_mw": 5.0, "margin_mw": 8.0, "scenarios": 3, "area_faults_per_year": 0.0}
    path = write_case(tmp_path, type3=t3, **SIZED)
    type3 = solved(solve_stochastic(build_inputs(load_case(path)), OPTIONS))
    firm = deterministic(path, **{"grid.mode": "firm", "grid.firm_capacity_mw": 13.0})
    assert type3.kpis["total_cost_jpy"] == pytest.approx(firm.kpis["total_cost_jpy"], rel=1e-9)
    assert type3.kpis["generator_power_mw"] == pytest.approx(0.0, abs=1e-9)
    reference = solved(solve(firm_reference_inputs(build_inputs(load_case(path))), OPTIONS))
    assert reference.kpis["total_cost_jpy"] == pytest.approx(firm.kpis["total_cost_jpy"], rel=1e-9)


def test_events_rounding_sampling_and_statistics(tmp_path):
    path = write_case(tmp_path)
    t3 = load_case(path).case.type3
    assert list(cut_steps(OutageEvent(10.5, 1.0, "fault"), t3, 1.0, 48)) == [10, 11]
    assert list(cut_steps(OutageEvent(10.0, 0.001, "fault"), t3, 1.0, 48)) == []  # momentary
    assert list(cut_steps(OutageEvent(46.0, 9.0, "maintenance"), t3, 1.0, 48)) == [46, 47]
    sampled = {"margin_mw": 20.0, "scenarios": 3, "seed": 7, "area_faults_per_year": 500.0}
    loaded = load_case(write_case(tmp_path, type3=sampled))
    first, again = scenario_events(loaded), scenario_events(loaded)
    assert first == again and first[0] != first[1]
    stats = [
        {"max_duration_h": 0.01, "events_per_year": 60.0},
        {"max_duration_h": 12.0, "events_per_year": 30.0},
        {"max_duration_h": 72.0, "events_per_year": 10.0},
    ]
    published = {"margin_mw": 20.0, "fault_statistics": stats, "area_share": 0.02}
    rate, classes = fault_model(load_case(write_case(tmp_path, type3=published)).case.type3)
    assert rate == pytest.approx(2.0)
    flat = [x for c in classes for x in (c.probability, c.min_h, c.max_h)]
    assert flat == pytest.approx([0.6, 0.0, 0.01, 0.3, 0.01, 12.0, 0.1, 12.0, 72.0])


def test_survival_curve_of_a_stochastic_result(tmp_path):
    """Survival probability starts at most 1, never rises, and is 1 for 2 h in the hand case
    (generator and full battery carry 10 MW for 2 h from every start); expected unserved energy
    comes from the listed event at random starts."""
    run = deterministic(write_case(tmp_path))
    result = survival(run.results, 12)
    p = result.curve["survival_probability"].to_numpy()
    assert np.all(np.diff(p) <= 1e-12) and p[0] <= 1.0
    assert result.expected_unserved_mwh_per_year > 0


def test_npv_table_and_the_2_mw_threshold():
    """The seed's threshold: 1.5 MW connects firm in 10 months for 30 MJPY; 2.5 MW waits 4 years
    (300 MJPY) or splits into 2 blocks of 1.25 MW (60 MJPY, 10 months); 100 MW is not split."""
    connect = Connect(
        margin_jpy_per_mwh=1.0,
        analysis_years=10.0,
        firm_tiers=[
            FirmTier(below_mw=2.0, lead_time_months=10.0, cost_jpy=30e6),
            FirmTier(lead_time_months=48.0, cost_jpy=300e6),
        ],
        type3_cost_jpy=5e6,
        type3_lead_time_months=3.0,
    )
    costs = {"firm": 1e6, "type3": 3e6}
    small = pd.DataFrame(option_rows(connect, Economics(1.5, 10e6, 0.05, 10.0), costs))
    assert list(small.option) == ["firm (wait)", "type ③ now", "type ③ now, firm later"]
    assert small.lead_time_years[0] == pytest.approx(10 / 12)
    large = pd.DataFrame(option_rows(connect, Economics(2.5, 10e6, 0.05, 10.0), costs))
    firm, split = large.iloc[0], large.iloc[1]
    assert (firm.lead_time_years, firm.connection_cost_jpy) == (4.0, 300e6)
    assert split.option == "firm, split into blocks" and split.connection_cost_jpy == 60e6
    af = annuity_factor
    assert firm.npv_jpy == pytest.approx((af(0.05, 10) - af(0.05, 4)) * 9e6 - 300e6 * 1.05**-4)
    assert firm.lost_margin_while_waiting_jpy == pytest.approx(af(0.05, 4) * 10e6)
    huge = pd.DataFrame(option_rows(connect, Economics(100.0, 10e6, 0.05, 10.0), costs))
    assert "firm, split into blocks" not in set(huge.option)  # 51 blocks > split_max_blocks
    later = large[large.option == "type ③ now, firm later"].iloc[0]
    expected = (
        (af(0.05, 4) - af(0.05, 0.25)) * 7e6
        + (af(0.05, 10) - af(0.05, 4)) * 9e6
        - 5e6 * 1.05**-0.25
        - 300e6 * 1.05**-4
    )
    assert later.npv_jpy == pytest.approx(expected)


SHORT = [
    "--set",
    "horizon.start=2025-09-28T00:00:00+09:00",
    "--set",
    "horizon.steps=168",
    "--scenarios",
    "2",
]


def test_ridethrough_and_connect_end_to_end(tmp_path):
    """The reference case over one week (the maintenance window opens on day 4), K = 2."""
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["ridethrough", str(REFERENCE), *SHORT, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "ride-through cost" in result.output and "P(survive ≥ d)" in result.output
    for name in ("results.nc", "survival.csv", "survival.png", "ride_through_cost.csv"):
        assert (out / name).stat().st_size > 0, name
    curve = pd.read_csv(out / "survival.csv")
    assert len(curve) == 72 and curve.survival_probability.between(0, 1).all()
    result = CliRunner().invoke(app, ["connect", str(REFERENCE), *SHORT, "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "connect.csv")
    assert {"firm (wait)", "type ③ now", "type ② fixed now"} <= set(table.option)
    assert "Best:" in (out / "connect.txt").read_text()


EVENT = {"start": "2025-05-01T10:00:00+09:00", "duration_h": 12.0}


@pytest.mark.parametrize(
    ("command", "tables", "field"),
    [
        (
            "validate",
            {
                "type3": {
                    "margin_mw": 20.0,
                    "scenarios": 1,
                    "events": [{**EVENT, "start": "2025-06-01T00:00:00+09:00"}],
                }
            },
            "type3.events[0].start",
        ),
        (
            "validate",
            {
                "type3": {
                    "margin_mw": 20.0,
                    "scenarios": 1,
                    "events": [{**EVENT, "duration_h": -1.0}],
                }
            },
            "type3.events[0].duration_h",
        ),
        (
            "validate",
            {"type3": {"margin_mw": 20.0, "scenarios": 2, "scenario_probabilities": [0.5, 0.4]}},
            "type3.scenario_probabilities",
        ),
        (
            "ridethrough",
            {
                "type3": {
                    "margin_mw": 20.0,
                    "area_faults_per_year": 3.0,
                    "fault_classes": [
                        {"name": "short", "probability": 0.5, "min_h": 0.0, "max_h": 1.0},
                        {"name": "long", "probability": 0.3, "min_h": 1.0, "max_h": 9.0},
                    ],
                }
            },
            "type3.fault_classes",
        ),
        (
            "ridethrough",
            {"generator": {"power_mw": {"min": 5.0, "max": 10.0}, "fuel_tank_h": 0.0}},
            "fuel_tank_h",
        ),
        ("solve", {"type3": {"margin_mw": 20.0, "scenarios": 4}}, "type3.scenarios"),
        ("validate", {"type3": None}, "type3"),
    ],
)
def test_type3_bad_input(tmp_path, command, tables, field):
    path = write_case(tmp_path, **tables)
    result = CliRunner().invoke(app, [command, str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and field in lines[0], result.stderr


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    """Two scenarios with every ride-through resource and the SLA penalty, solved."""
    tmp = tmp_path_factory.mktemp("everything")
    t3 = {
        "margin_mw": 20.0,
        "scenarios": 2,
        "sla_penalty_jpy_per_event": 1e6,
        "events": [
            {"start": "2025-05-01T10:00:00+09:00", "duration_h": 12.0, "scenario": 0},
            {"start": "2025-05-02T04:00:00+09:00", "duration_h": 6.0, "scenario": 1},
        ],
    }
    path = write_case(
        tmp,
        type3=t3,
        ups={"power_mw": 10.0, "autonomy_minutes": 10.0},
        shutdown={"notice_h": 2.0, "protected_share": 0.2},
        migration={"capacity_it_mw": 3.0, "cost_jpy_per_mwh": 200_000.0},
        **SIZED,
    )
    return solved(solve_stochastic(build_inputs(load_case(path)), OPTIONS)).results


def _per_scenario(ds, name):
    if "scenario" not in ds[name].dims:
        ds[name] = ds[name].expand_dims(scenario=ds["scenario"].values).copy()
    return ds[name]


def _bump(name, index, by):
    def tamper(ds):
        da = _per_scenario(ds, name)
        values = da.values.copy()
        values[index] += by
        ds[name] = (da.dims, values, da.attrs)

    return tamper


def _objective(ds):
    ds.attrs["expected_cost_jpy"] *= 1.01


@pytest.mark.parametrize(
    ("check", "tamper"),
    [
        ("F3, F4 fuel recursion from a full tank", _bump("generator_fuel_mwh", (0, 15), 0.5)),
        ("U4 UPS SoC recursion", _bump("ups_soc_mwh", (0, 15), 0.1)),
        ("H1 0 ≤ shutdown ≤ unprotected share after notice", _bump("shutdown_it_mw", (0, 3), 1.0)),
        ("R1 0 ≤ migration ≤ capacity after notice", _bump("migration_it_mw", (0, 3), 1.0)),
        ("R5 migration + shutdown ≤ unprotected share", _bump("migration_it_mw", (0, 3), 9.0)),
        (
            "G1 type ③ limit = firm + margin or residual",
            _bump("grid_import_limit_mw", (0, 12), 1.0),
        ),
        ("K1 generator_power_mw equal in every scenario", _bump("generator_power_mw", (1,), 1.0)),
        ("K3 dispatch equal until the scenarios' data differ", _bump("dc_shed_it_mw", (1, 5), 1.0)),
        ("H6 cost_shutdown_sla_jpy recomputed", _bump("cost_shutdown_sla_jpy", (0,), 1e6)),
        ("K2 objective = expected total cost", _objective),
    ],
)
def test_the_verifier_catches_type3_tampering(everything, check, tamper):
    assert verify_stochastic(everything).ok
    ds = everything.copy(deep=True)
    tamper(ds)
    assert verify_stochastic(ds).violations[check] > 1e-6
