"""Sizes in units and generator commitment through the whole pipeline (docs/milp.md): case fields,
the rounded LP relaxation as MIP start, and the verifier's integrality and commitment checks on a
result file, each shown to fail on a result that breaks it."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from wattbit.case import load_case
from wattbit.errors import CaseError
from wattbit.formulations.common import Size
from wattbit.solve import SolverOptions, compile_model, rounded_relaxation, solve_model
from wattbit.strategies import solve_case
from wattbit.verify import verify

EXAMPLE = "cases/tokyo_substation_dc/case.toml"
# A winter day: the headroom binds in the evening, so battery, PV and gensets all have work.
DAY = {"horizon.start": "2026-01-20T00:00:00+09:00", "horizon.steps": 48}
UNITS = {
    **DAY,
    "battery.power_mw": {"min": 0.0, "max": 50.0, "unit": 2.5},
    "battery.energy_mwh": {"min": 0.0, "max": 300.0, "unit": 5.0, "unit_cost_jpy_per_year": 1e6},
    "pv.capacity_mw": {"min": 0.0, "max": 5.0, "unit": 0.5},
    "generator.power_mw": {"min": 0.0, "max": 20.0, "unit": 2.5},
    "generator.run_outside_events": True,
    "generator.min_load_fraction": 0.3,
    "generator.start_cost_jpy": 50_000.0,
    "generator.min_up_h": 2.0,
    "generator.redundant_units": 1,
}


@pytest.fixture(scope="module")
def solved():
    run = solve_case(load_case(EXAMPLE, UNITS))
    assert run.ok and run.verification.ok, run.verification and run.verification.worst
    return run


def test_the_result_reports_units_and_capacity(solved):
    res, k = solved.results, solved.kpis
    for size, unit in (("battery_power_mw", 2.5), ("battery_energy_mwh", 5.0)):
        n = float(res[f"{size}_units"])
        assert n == pytest.approx(round(n), abs=1e-6)
        assert float(res[size]) == pytest.approx(unit * round(n), abs=1e-6)
        assert k[f"{size}_units"] == round(n)
    assert "generator_units_on" in res and "cost_generator_startup_jpy" in res
    checks = solved.verification.violations
    assert "I1 battery_energy_mwh = whole units × unit size" in checks
    assert "I2 cost_battery_energy_mwh_units_jpy recomputed" in checks
    assert {c.split()[0] for c in checks} >= {"O1", "O2", "O3", "O4", "O6", "O7"}


def test_the_verifier_catches_a_size_between_units(solved):
    """(I1): 0.4 MWh off a whole number of 5 MWh containers is a 0.4 MWh violation."""
    broken = solved.results.copy()
    broken["battery_energy_mwh"] = broken["battery_energy_mwh"] + 0.4
    violations = verify(broken).violations
    assert violations["I1 battery_energy_mwh = whole units × unit size"] == pytest.approx(0.4)


def test_the_verifier_catches_a_genset_below_its_minimum_load(solved):
    """(O2): a step with gensets on and the output cut to 0 misses μ ū u_t."""
    broken = solved.results.copy()
    u = broken["generator_units_on"].values
    on = int(np.argmax(u > 0.5))
    assert u[on] > 0.5, "the fixture's gensets never run"
    y = broken["generator_output_mw"].values.copy()
    y[on] = 0.0
    broken["generator_output_mw"] = ("time", y)
    violations = verify(broken).violations
    assert violations["O2 min load × units on ≤ output ≤ available units on"] >= 0.3 * 2.5 - 1e-6


def test_the_verifier_catches_a_start_that_breaks_the_minimum_up_time(solved):
    """(O4): a genset started and stopped one step later breaks τ_up = 2 steps."""
    broken = solved.results.copy()
    u = np.zeros(broken.sizes["time"])
    u[10] = 1.0
    broken["generator_units_on"] = ("time", u)
    violations = verify(broken).violations
    assert violations["O4 units started within the min up time are on"] == pytest.approx(2.5)


def test_mip_start_is_the_relaxation_rounded_up():
    """The LP relaxation of the battery-in-units hand case (tests/test_components/test_modular.py)
    sizes 2.4 MWh, so 2.4 units of 1 MWh (3.6e6 JPY/yr at 1.5e6 JPY/MWh/yr): the MIP start is 3
    units with the dispatch re-solved (cost 4.5e6, the optimum there), and the MIP ends at 4.5e6
    with and without the start (with a partial start HiGHS 1.16 reported 1.872e6: see
    solve.rounded_relaxation). The start's bound is its branches': at most 2 units cost 3.0e6
    and 0.4 MWh unserved, 0.4 α p = 1.752e6 (4.752e6), at least 3 cost 4.5e6; so 4.5e6, and the
    start is proven optimal where the relaxation's bound left a gap of 0.2."""
    from test_components.test_modular import _battery_site

    m, bat = _battery_site(Size(0.0, 10.0, unit=1.0, unit_cost_jpy_per_year=5e5), 1_000.0)
    cm = compile_model(m)
    start = rounded_relaxation(cm, SolverOptions())
    column = {id(v): i for i, v in enumerate(cm.columns)}
    assert start.values[column[id(bat.energy_mwh_units)]] == 3.0
    assert start.values[column[id(bat.energy_mwh)]] == pytest.approx(3.0, abs=1e-9)
    assert start.objective == pytest.approx(4.5e6)
    assert start.bound == pytest.approx(4.5e6, rel=1e-9)
    assert start.gap == pytest.approx(0.0, abs=1e-9)
    with_start, _ = solve_model(m, SolverOptions())
    without, _ = solve_model(m, SolverOptions(mip_start=False))
    assert with_start.objective == pytest.approx(4.5e6, rel=1e-9)
    assert without.objective == pytest.approx(4.5e6, rel=1e-9)


def test_mip_start_takes_the_cheaper_of_floor_and_ceiling():
    """The same hand case with a MWh unserved at p = 500: the relaxation still sizes 2.4 MWh
    (bound 3.6e6), but 2 units cost 3.0e6 + 0.4 MWh unserved, 0.4 α p = 0.876e6 (3.876e6), less
    than 3 units (4.5e6; test_modular's rounds-down case). The start tries both and takes 2
    units, HiGHS's optimum, where rounding up alone started 0.624e6 above it. The branches on
    the units (at most 2, at least 3) are these two points: the bound is 3.876e6 too."""
    from test_components.test_modular import _battery_site

    m, bat = _battery_site(Size(0.0, 10.0, unit=1.0, unit_cost_jpy_per_year=5e5), 500.0)
    cm = compile_model(m)
    start = rounded_relaxation(cm, SolverOptions())
    column = {id(v): i for i, v in enumerate(cm.columns)}
    assert start.values[column[id(bat.energy_mwh_units)]] == 2.0
    assert start.objective == pytest.approx(3.0e6 + 0.4 * 4380 * 500.0)
    assert start.bound == pytest.approx(start.objective, rel=1e-9)
    sol, _ = solve_model(m, SolverOptions(mip_gap=0.0))
    assert sol.objective == pytest.approx(start.objective, rel=1e-9)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"pv.capacity_mw": {"min": 1.2, "max": 1.4, "unit": 0.5}}, "pv.capacity_mw"),
        ({"pv.capacity_mw": {"max": 5.0, "unit_cost_jpy_per_year": 1.0}}, "pv.capacity_mw"),
        ({"generator.power_mw": 10.0, "generator.min_load_fraction": 0.3}, "generator"),
    ],
    ids=["no-whole-unit", "unit-cost-without-unit", "commitment-without-units"],
)
def test_bad_unit_fields_name_the_field(overrides, field):
    with pytest.raises(CaseError) as err:
        load_case(EXAMPLE, {**DAY, **overrides})
    assert field in str(err.value)


def test_a_start_within_the_gap_of_its_branches_ends_the_solve():
    """With 0.007 MWh units (tests/test_components/test_modular.py) the relaxation's bound is
    2.4e6 JPY/yr (342.86 units) and its rounded point, 343 units, costs 2.401e6: 1000/2.401e6 =
    4.16e-4 above it. The branches on the units raise the bound to that point's cost (at most
    342 units: 2.394e6 and 0.006 MWh unserved, 0.006 α p = 26,280; at least 343: 2.401e6), so
    even at mip_gap 1e-4 the rounded point is the answer without HiGHS's branch and bound."""
    from test_components.test_modular import _battery_site

    m, bat = _battery_site(Size(0.0, 10.0, unit=0.007), 1_000.0)
    sol, _ = solve_model(m, SolverOptions(mip_gap=1e-4))
    assert sol.status == "optimal"
    assert "rounded LP relaxation" in sol.message
    assert sol.objective == pytest.approx(2.401e6, rel=1e-9)
    assert pyo.value(bat.energy_mwh_units) == pytest.approx(343, abs=1e-6)
    assert sol.mip_gap == pytest.approx(0.0, abs=1e-9)
