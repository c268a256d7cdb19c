"""A generator plant of several genset types through the whole pipeline (docs/milp.md, J1–J4):
the case file's ``[[generator.types]]``, the results per type, the verifier's checks per type and
what it catches, a plant of one type equal to the single-genset case, each type's own start
delay in type ③, and the case errors."""

from __future__ import annotations

import re

import numpy as np
import pyomo.environ as pyo
import pytest
from type3_helpers import write_case

from wattbit.api import ridethrough
from wattbit.case import load_case
from wattbit.errors import CaseError
from wattbit.infeasibility import family
from wattbit.inputs import build_inputs
from wattbit.model import create_model
from wattbit.strategies import solve_case
from wattbit.verify import verify

EXAMPLE = "cases/tokyo_substation_dc/case.toml"
# Two winter days of the example (hourly): the headroom binds in the evenings; the gensets work.
DAY = {"horizon.start": "2026-01-20T00:00:00+09:00", "horizon.steps": 48}
BIG = {
    "name": "big",
    "unit_mw": 2.5,
    "max_units": 8,
    "min_load_fraction": 0.3,
    "start_cost_jpy": 50_000.0,
    "min_up_h": 2.0,
}
SMALL = {
    "name": "small",
    "unit_mw": 0.5,
    "max_units": 10,
    "start_delay_h": 0.05,
    "start_cost_jpy": 2_000.0,
    "fuel_cost_jpy_per_mwh": 36_000.0,
    "unit_cost_jpy_per_year": 100_000.0,
}
PLANT = {
    **DAY,
    "generator.power_mw": None,
    "generator.run_outside_events": True,
    "generator.redundant_units": 1,
}
TWO_TYPES = {**PLANT, "generator.types": [{**BIG, "fuel_cost_jpy_per_mwh": 30_000.0}, SMALL]}


@pytest.fixture(scope="module")
def solved():
    run = solve_case(load_case(EXAMPLE, TWO_TYPES))
    assert run.ok and run.verification.ok, run.verification and run.verification.worst
    return run


def test_the_result_reports_each_type(solved):
    """Units, capacity, starts and genset-hours on per type; the plant is the types summed."""
    res, k = solved.results, solved.kpis
    dt = float(res.attrs["dt_h"])
    # Measured: two big gensets (one the N+1 spare) of which one carries the evenings; for an
    # hour one small genset adds 0.5 MW to the big one at its rating (cheaper than a big start).
    assert k["generator_big_power_mw_units"] >= 2
    assert k["generator_small_output_mwh"] > 0 and k["generator_big_output_mwh"] > 0
    for name, unit in (("big", 2.5), ("small", 0.5)):
        n = k[f"generator_{name}_power_mw_units"]
        assert k[f"generator_{name}_power_mw"] == pytest.approx(unit * n, abs=1e-6)
        u = res[f"generator_{name}_units_on"].values
        assert k[f"generator_{name}_run_unit_h"] == pytest.approx(float(u.sum()) * dt)
        starts = np.maximum(np.diff(np.round(u), prepend=0.0), 0.0).sum()
        assert k[f"generator_{name}_starts"] == pytest.approx(starts, abs=1e-6)
    assert k["generator_power_mw"] == pytest.approx(
        k["generator_big_power_mw"] + k["generator_small_power_mw"], abs=1e-6
    )
    assert k["generator_output_mwh"] == pytest.approx(
        k["generator_big_output_mwh"] + k["generator_small_output_mwh"], abs=1e-6
    )
    checks = solved.verification.violations
    assert {c.split()[0] for c in checks} >= {"J1", "J2", "J3", "J4", "O1", "O2", "O3", "O4", "O7"}
    assert "O2 min load × units on ≤ output ≤ available units on (small)" in checks


def test_the_verifier_catches_a_type_over_its_rating(solved):
    """(J2): 1 MW more from 'big' at a step where the plant's output is left as it was."""
    broken = solved.results.copy()
    y = broken["generator_big_output_mw"].values.copy()
    y[0] += 1.0
    broken["generator_big_output_mw"] = ("time", y)
    check = "J2 plant output = Σ type outputs, each ≤ its availability × rating"
    assert verify(broken).violations[check] >= 1.0 - 1e-6


def test_the_verifier_catches_a_plant_without_its_spare(solved):
    """(J3): the plant's rating cut by one big genset leaves no spare of the largest unit when
    the plant runs at more than its rating less two big gensets."""
    broken = solved.results.copy()
    broken["generator_power_mw"] = broken["generator_power_mw"] - 2.5
    peak = float(broken["generator_output_mw"].max())
    rating = float(broken["generator_power_mw"])
    violations = verify(broken).violations
    assert violations["J3 output ≤ rating − k × the largest unit installed"] == pytest.approx(
        max(0.0, peak - (rating - 2.5)), abs=1e-6
    )
    assert violations["J1 plant rating = Σ type ratings"] == pytest.approx(2.5)


def test_a_plant_of_one_type_is_the_single_genset_case():
    """The example's two days with two gensets of 2.5 MW (min load, start cost, min up time,
    N+1) as ``power_mw`` in units and as one genset type: the same objective and output."""
    single = {
        **DAY,
        "generator.power_mw": {"min": 5.0, "max": 5.0, "unit": 2.5},
        "generator.run_outside_events": True,
        "generator.redundant_units": 1,
        "generator.fuel_cost_jpy_per_mwh": 30_000.0,
        **{f"generator.{f}": BIG[f] for f in ("min_load_fraction", "start_cost_jpy", "min_up_h")},
    }
    one = solve_case(load_case(EXAMPLE, single))
    two = {**BIG, "min_units": 2, "max_units": 2}  # the type's fuel cost is the plant's
    plant = {**PLANT, "generator.fuel_cost_jpy_per_mwh": 30_000.0, "generator.types": [two]}
    typed = solve_case(load_case(EXAMPLE, plant))
    assert one.verification.ok and typed.verification.ok
    assert typed.kpis["total_cost_jpy"] == pytest.approx(one.kpis["total_cost_jpy"], rel=1e-9)
    assert one.kpis["generator_output_mwh"] > 1.0  # the gensets run: the comparison is not of 0
    assert typed.kpis["generator_big_output_mwh"] == pytest.approx(
        one.kpis["generator_output_mwh"], rel=1e-6
    )


def test_each_type_starts_after_its_own_delay(tmp_path):
    """Type ③ hand case (a 12 h fault from 10:00, hourly steps): 'fast' gensets deliver at once,
    'slow' ones half an hour into the fault, so slow may run half of the fault's first step
    (a = 0.5) and the plant the whole of it (a = max over its types = 1)."""
    types = [
        {"name": "fast", "unit_mw": 3.0, "min_units": 1, "max_units": 1, "start_delay_h": 0.0},
        {"name": "slow", "unit_mw": 3.0, "min_units": 1, "max_units": 1, "start_delay_h": 0.5},
    ]
    generator = {"fuel_tank_h": 5.0, "fuel_cost_jpy_per_mwh": 20_000.0, "types": types}
    loaded = load_case(write_case(tmp_path, generator=generator))
    ds = build_inputs(loaded)
    first = int(np.argmax(ds["type3_fault_cut"].values > 0))
    assert ds["generator_availability_fast"].values[first] == 1.0
    assert ds["generator_availability_slow"].values[first] == 0.5
    assert ds["generator_availability"].values[first] == 1.0
    run = solve_case(loaded)
    assert run.ok and run.verification.ok, run.verification.worst
    assert float(run.results["generator_slow_output_mw"][first]) <= 1.5 + 1e-6


@pytest.mark.parametrize(
    ("generator", "words"),
    [
        ({"power_mw": 5.0, "types": [BIG]}, "not both"),
        ({"types": [BIG, {**SMALL, "name": "big"}]}, "distinct names"),
        ({"types": [BIG], "min_load_fraction": 0.3}, "goes on each [[generator.types]]"),
        ({"types": [{**BIG, "min_units": 9}]}, "min_units 9 exceeds max_units 8"),
        ({"types": [{**BIG, "name": "Big_1"}]}, "name"),
    ],
    ids=["power-and-types", "same-name", "plant-min-load", "counts", "bad-name"],
)
def test_bad_types_name_the_generator(tmp_path, generator, words):
    with pytest.raises(CaseError) as err:
        load_case(write_case(tmp_path, generator={"fuel_tank_h": 5.0, **generator}))
    assert "generator" in str(err.value) and words in str(err.value)


def _two_scenarios_of_types(tmp_path):
    """Type ③ with two genset types and N+1 in two scenarios (a 12 h and a 4 h fault)."""
    types = [{**BIG, "start_delay_h": 0.0}, {**SMALL, "start_delay_h": 0.5}]
    events = [
        {"start": "2025-05-01T10:00:00+09:00", "duration_h": 12.0, "scenario": 0},
        {"start": "2025-05-01T20:00:00+09:00", "duration_h": 4.0, "scenario": 1},
    ]
    return write_case(
        tmp_path,
        generator={"fuel_tank_h": 5.0, "redundant_units": 1, "types": types},
        type3={"margin_mw": 20.0, "scenarios": 2, "events": events},
    )


def test_two_scenarios_size_the_types_once(tmp_path):
    """Type ③ with two scenarios (a 12 h and a 4 h fault): the types' sizes are first-stage
    sizes, benders refuses their integers from the inputs, the extensive form solves and every
    scenario verifies (the firm reference, which drops the generator, too)."""
    path = _two_scenarios_of_types(tmp_path)
    result = ridethrough(path)
    run = result.run
    assert run.verification.ok and result.firm.verification.ok, run.verification.worst
    note = run.results.attrs["stochastic_method_note"]
    assert "generator_big_power_mw, generator_small_power_mw" in note
    for name in ("big", "small"):
        size = run.results[f"generator_{name}_power_mw"]
        assert float(size.max() - size.min()) == pytest.approx(0.0, abs=1e-9)


def test_a_scenario_s_units_are_integer_in_scenario_0_only(tmp_path):
    """(K5) on that two-scenario case: each type's units and N+1's ``installed`` are
    integer columns of scenario 0 alone; scenario 1's copies are continuous, tied to them by one
    equality each, and keep their bounds."""
    from wattbit.strategies.stochastic import create_stochastic_model

    path = _two_scenarios_of_types(tmp_path)
    m = create_stochastic_model(build_inputs(load_case(path)))
    steps = set(m.scenario[0].T)
    names = sorted(
        v.name
        for v in m.component_data_objects(pyo.Var)
        if v.is_integer() and v.index() not in steps
    )
    assert names == [
        "scenario[0].generator.big_power_mw_units",
        "scenario[0].generator.installed[big]",
        "scenario[0].generator.installed[small]",
        "scenario[0].generator.small_power_mw_units",
    ]
    ties = m.first_stage.integer_nonanticipative
    assert len(ties) == 4
    copy = m.scenario[1].generator.big_power_mw_units
    assert (
        not copy.is_integer() and copy.bounds == m.scenario[0].generator.big_power_mw_units.bounds
    )


def test_running_hours_counted_on_the_gensets_on(tmp_path):
    """``running_hours = "on"`` (O9): the type ③ hand case's 12 h fault with three 2 MW gensets
    of at most 4 h each: at most 12 genset-hours on in the fault, checked by the verifier, which
    catches a 13th."""
    generator = {
        "power_mw": {"min": 6.0, "max": 6.0, "unit": 2.0},
        "fuel_tank_h": 5.0,
        "start_delay_h": 0.0,
        "min_load_fraction": 0.5,
        "max_run_h_per_event": 4.0,
        "running_hours": "on",
    }
    run = solve_case(load_case(write_case(tmp_path, generator=generator)))
    assert run.ok and run.verification.ok, run.verification.worst
    res = run.results
    fault = res["type3_fault_cut"].values > 0
    on = res["generator_units_on"].values
    assert float(on[fault].sum()) <= 12.0 + 1e-6
    check = "O9 unit-hours on per fault ≤ cap × units"
    assert run.verification.violations[check] == 0.0
    broken = res.copy()
    off = np.nonzero(fault & (on < 2.5))[0][0]
    more = on.copy()
    more[off] += 13.0 - float(on[fault].sum())
    broken["generator_units_on"] = ("time", more)
    assert verify(broken).violations[check] == pytest.approx(
        max(0.0, float(more[fault].sum()) - 12.0), abs=1e-6
    )


def test_running_hours_on_need_gensets_in_units(tmp_path):
    with pytest.raises(CaseError, match="running_hours needs the generator in units"):
        load_case(
            write_case(tmp_path, generator={"power_mw": 6.0, "running_hours": "on"}),
        )


def test_every_row_of_a_plant_of_types_reads_as_words(tmp_path):
    """Each constraint of a plant of two types with every commitment row, N+1 and hours on
    (O1–O10, J1–J3, I1) reads as words with its tag; a type's rows name the type."""
    types = [
        {**BIG, "min_down_h": 2.0, "no_load_cost_jpy_per_h": 1.0},
        {**SMALL, "min_load_fraction": 0.2},
    ]
    generator = {
        "fuel_tank_h": 5.0,
        "redundant_units": 1,
        "running_hours": "on",
        "max_run_h_per_year": 500.0,
        "types": types,
    }
    m = create_model(build_inputs(load_case(write_case(tmp_path, generator=generator))))
    named = {
        family(next(iter(con.values())), {})
        for con in m.generator.component_objects(pyo.Constraint, active=True)
    }
    assert all(re.search(r" \([A-Z]\d+\)$", words) for words in named), named
    assert (
        "the minimum stable load of the gensets on ('small' gensets) of the generator (O2)" in named
    )
    assert "the N+k redundancy over genset types of the generator (J3)" in named
    assert (
        "the running hours of the gensets on per fault ('big' gensets) of the generator (O9)"
        in named
    )
