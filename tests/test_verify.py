"""The independent verifier passes a clean solve and catches every kind of tampering.

One small case with sized PV, a sized battery with losses, export and a sized contract is solved
once; each test tampers with a deep copy of its result Dataset in one way and asserts that
:func:`verify` reports a violation above the tolerance *under the right check's name*, with the
magnitude the tampering implies wherever that is exact.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pytest
import xarray as xr
from conftest import REPO, hourly_index, solve_verified, to_toml, write_series
from type3_helpers import OPTIONS, SIZED, write_case

from wattbit.case import load_case
from wattbit.inputs import build_inputs
from wattbit.network.case import load_network_case
from wattbit.network.run import solve_network_case
from wattbit.network.verify import verify_network
from wattbit.strategies.stochastic import solve_stochastic, verify_stochastic
from wattbit.verify import TOLERANCE, Verification, verify

STEPS = 24
TOWN = REPO / "cases" / "town" / "case.toml"


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    """24 h: 8 MW load, PV (sized ≤ 20 MW, availability 1 in hours 9–15), a sized battery with
    losses, export ≤ 6 MW paid 3 000 JPY/MWh, a sized contract, import limit 12 MW except 6 MW in
    hours 18–21, price 10 000 by day / 30 000 in the evening."""
    folder = tmp_path_factory.mktemp("verify")
    index = hourly_index(STEPS)
    hour = index.hour
    write_series(
        folder / "series.csv",
        index,
        avail=np.where((hour >= 9) & (hour < 15), 1.0, 0.0),
        h=np.where((hour >= 18) & (hour < 22), 6.0, 12.0),
        price=np.where((hour >= 17) & (hour < 22), 30_000.0, 10_000.0),
    )
    case = {
        "name": "verify",
        "series": ["series.csv"],
        "dc": {"it_mw": 8.0, "pue": 1.0, "value_of_lost_compute_jpy_per_mwh": 1e6},
        "grid": {
            "import_limit_mw": "h",
            "energy_price_jpy_per_mwh": "price",
            "export_limit_mw": 6.0,
            "export_price_jpy_per_mwh": 3_000.0,
            "capacity_charge_jpy_per_kw_year": 1_000.0,
        },
        "pv": {"capacity_mw": {"max": 20.0}, "availability": "avail", "capex_jpy_per_kw": 10_000.0},
        "battery": {
            "power_mw": {"max": 10.0},
            "energy_mwh": {"max": 40.0},
            "charge_efficiency": 0.9,
            "discharge_efficiency": 0.9,
            "standing_loss_per_h": 0.001,
            "power_capex_jpy_per_kw": 1_000.0,
            "energy_capex_jpy_per_kwh": 1_000.0,
            "throughput_cost_jpy_per_mwh": 100.0,
        },
    }
    (folder / "case.toml").write_text(to_toml(case))
    run = solve_verified(folder / "case.toml")
    ds = run.results
    # The tampering below needs a case where every component is active.
    assert float(ds["battery_power_mw"]) > 1.0
    assert float(ds["battery_discharge_mw"].sum()) > 1.0
    assert float(ds["pv_generation_mw"].max()) > 1.0
    assert float(ds["grid_export_mw"].sum()) > 0.0
    assert float(ds["cost_grid_energy_jpy"]) > 1e6
    return ds


def test_clean_solve_passes_every_check(solved):
    """A clean solve: every check ran (PV, battery, export, cyclic SoC, each cost term) and the
    largest violation is at most 1e-6."""
    result = verify(solved)
    assert result.max_violation <= 1e-6, result.violations
    assert result.ok
    expected = {
        "E1 site balance",
        "G1 0 ≤ import ≤ limit",
        "G3 0 ≤ export ≤ limit",
        "B5 battery SoC recursion",
        "B1, B2 0 ≤ charge, discharge ≤ power",
        "B6 battery cyclic SoC",
        "P1 0 ≤ PV ≤ capacity × availability",
        "battery_energy_mwh within bounds",
        "E2 cost terms all checked",
        "E2 total cost = sum of terms",
        "E2 objective = total cost",
        "B9 cost_battery_degradation_jpy recomputed",
        "G5 cost_grid_export_revenue_jpy recomputed",
    }
    assert expected <= set(result.violations)


def _step(ds: xr.Dataset, name: str, pick: Callable[[np.ndarray], int] = np.argmax) -> int:
    return int(pick(ds[name].values))


def lower_pv(ds):
    """PV generation lowered by 0.5 MW at its peak step: the balance is off by exactly 0.5."""
    ds["pv_generation_mw"][_step(ds, "pv_generation_mw")] -= 0.5
    return "E1 site balance", 0.5


def raise_soc(ds):
    """SoC + 1 MWh at one step: recursion off by 1 there (and by keep·1 ≤ 1 at the next)."""
    ds["battery_soc_mwh"][STEPS // 2] += 1.0
    return "B5 battery SoC recursion", 1.0


def exceed_import_limit(ds):
    """Import set to limit + 1 MW where the limit is tightest."""
    t = _step(ds, "grid_import_limit_mw", np.argmin)
    ds["grid_import_mw"][t] = float(ds["grid_import_limit_mw"][t]) + 1.0
    return "G1 0 ≤ import ≤ limit", 1.0


def exceed_battery_power(ds):
    """Charge set to P + 1 MW at one step."""
    ds["battery_charge_mw"][3] = float(ds["battery_power_mw"]) + 1.0
    return "B1, B2 0 ≤ charge, discharge ≤ power", 1.0


def energy_above_max(ds):
    """Battery energy size set 2 MWh above its upper bound."""
    ds["battery_energy_mwh"] = float(ds["battery_energy_mwh_max"]) + 2.0
    return "battery_energy_mwh within bounds", 2.0


def power_below_min(ds):
    """PV capacity below its lower bound (0): −1 MW."""
    ds["pv_capacity_mw"] = -1.0
    return "pv_capacity_mw within bounds", 1.0


def change_cost_term(ds):
    """Energy cost × 1.01: relative error 0.01/1.01."""
    ds["cost_grid_energy_jpy"] = float(ds["cost_grid_energy_jpy"]) * 1.01
    return "G4 cost_grid_energy_jpy recomputed", 0.01 / 1.01


def change_total_cost(ds):
    """Total cost × (1 + 1e-3): relative error 1e-3/(1 + 1e-3)."""
    ds["total_cost_jpy"] = float(ds["total_cost_jpy"]) * 1.001
    return "E2 total cost = sum of terms", 1e-3 / 1.001


def change_objective(ds):
    """The solver's objective 1e-3 (relative) above the sum of the cost terms: something was
    priced that no reported term holds."""
    ds.attrs["objective_jpy"] = float(ds["total_cost_jpy"]) * 1.001
    return "E2 objective = total cost", 1e-3 / 1.001


def break_cyclic_soc(ds):
    """Final SoC + 1 MWh: it no longer equals the initial SoC."""
    ds["battery_soc_mwh"][-1] += 1.0
    return "B6 battery cyclic SoC", 1.0


def drop_cost_term(ds):
    """A cost term missing from the result: it can be neither recomputed nor summed."""
    del ds["cost_battery_degradation_jpy"]
    return "E2 cost terms all checked", math.inf


def exceed_pv_availability(ds):
    """PV generation 1 MW above capacity × availability at a night step (availability 0)."""
    ds["pv_generation_mw"][0] = 1.0
    return "P1 0 ≤ PV ≤ capacity × availability", 1.0


def exceed_export_limit(ds):
    """Export at the limit + 1 MW."""
    ds["grid_export_mw"][5] = float(ds["grid_export_limit_mw"][5]) + 1.0
    return "G3 0 ≤ export ≤ limit", 1.0


def shed_more_than_load(ds):
    """Shed 1 MW more IT load than there is."""
    ds["dc_shed_it_mw"][2] = float(ds["dc_it_mw"][2]) + 1.0
    return "D1 0 ≤ shed ≤ IT load", 1.0


def negative_import(ds):
    """Import of −1 MW."""
    ds["grid_import_mw"][1] = -1.0
    return "G1 0 ≤ import ≤ limit", 1.0


def simultaneous_when_exclusive(ds):
    """The result claims exclusivity, yet charges and discharges 0.5 MW at once at one step."""
    ds.attrs["battery_exclusivity_enforced"] = 1
    ds["battery_charge_mw"][4] += 0.5
    ds["battery_discharge_mw"][4] += 0.5
    return "B7 battery exclusive charge/discharge", 0.5


def soc_above_energy(ds):
    """SoC 1 MWh above the energy capacity at one step."""
    ds["battery_soc_mwh"][7] = float(ds["battery_energy_mwh"]) + 1.0
    return "B3, B4 battery SoC window", 1.0


TAMPERS = [
    lower_pv,
    raise_soc,
    exceed_import_limit,
    exceed_battery_power,
    energy_above_max,
    power_below_min,
    change_cost_term,
    change_total_cost,
    change_objective,
    break_cyclic_soc,
    drop_cost_term,
    exceed_pv_availability,
    exceed_export_limit,
    shed_more_than_load,
    negative_import,
    simultaneous_when_exclusive,
    soc_above_energy,
]


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda f: f.__name__)
def test_tampering_is_caught_by_the_right_check(solved, tamper):
    ds = solved.copy(deep=True)
    check, amount = tamper(ds)
    result = verify(ds)
    assert not result.ok
    assert result.max_violation > TOLERANCE
    assert result.violations[check] > TOLERANCE, result.violations
    if math.isinf(amount):
        assert math.isinf(result.violations[check])
    else:
        assert result.violations[check] == pytest.approx(amount, rel=1e-6)
    # the clean copy is untouched
    assert verify(solved).ok


@pytest.mark.parametrize("name", ["battery_soc_mwh", "battery_charge_mw", "pv_generation_mw"])
def test_nan_in_a_result_is_a_violation(solved, name):
    """A NaN anywhere in a result must fail verification: NaN compares false with everything,
    so a plain ``max`` over the checks would skip it unless it happened to come first."""
    ds = solved.copy(deep=True)
    ds[name][STEPS // 2] = np.nan
    result = verify(ds)
    assert not result.ok
    assert result.max_violation > TOLERANCE


def test_verification_treats_nan_as_infinite():
    """Order-independence: a NaN check counts as an infinite violation wherever it stands."""
    for order in ([("a", 0.0), ("b", math.nan)], [("b", math.nan), ("a", 0.0)]):
        result = Verification(dict(order))
        assert math.isinf(result.max_violation)
        assert result.worst == "b"
        assert not result.ok


CHECK_NAME = re.compile(r"^[A-Z]\d+(, [A-Z]\d+)* \S| within bounds$")


def test_every_check_is_named_by_its_formulation_tags(solved):
    """Every check of a site with PV, battery, export and a sized contract names the equation
    tags it re-checks (``"B5 battery SoC recursion"``), or is a size bound."""
    names = set(verify(solved).violations)
    assert {"B5 battery SoC recursion", "G1 0 ≤ import ≤ limit", "E1 site balance"} <= names
    assert [n for n in names if not CHECK_NAME.search(n)] == []


def test_every_ride_through_and_scenario_check_is_named_by_its_formulation_tags(tmp_path):
    """The same for two type ③ scenarios with every ride-through resource (sized generator and
    battery, UPS, shutdown with the SLA penalty, migration) through the stochastic verifier."""
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
        tmp_path,
        type3=t3,
        ups={"power_mw": 10.0, "autonomy_minutes": 10.0},
        shutdown={"notice_h": 2.0, "protected_share": 0.2},
        migration={"capacity_it_mw": 3.0, "cost_jpy_per_mwh": 200_000.0},
        **SIZED,
    )
    run = solve_stochastic(build_inputs(load_case(path)), OPTIONS)
    names = set(verify_stochastic(run.results).violations)
    assert {
        "F3, F4 fuel recursion from a full tank",
        "U4 UPS SoC recursion",
        "H6 cost_shutdown_sla_jpy recomputed",
        "R1 0 ≤ migration ≤ capacity after notice",
        "K2 objective = expected total cost",
    } <= names, sorted(names)
    assert [n for n in names if not CHECK_NAME.search(n)] == []


def test_every_network_check_is_named_by_its_formulation_tags():
    """The same for the network verifier on a day of the town case (every kind of element);
    the owners' accounts are bookkeeping, not equations of the formulation."""
    run = solve_network_case(load_network_case(TOWN, {"horizon.steps": 24}))
    names = set(verify_network(run.results).violations)
    assert {"N1, N4 nodal balance", "V4 EV energy ≥ departure minimum"} <= names
    accounts = {"cost owners", "owner accounts recomputed", "owner accounts sum to the total"}
    assert [n for n in names - accounts if not CHECK_NAME.search(n)] == []


def _solve(folder, dc: dict, h: np.ndarray) -> xr.Dataset:
    index = hourly_index(STEPS)
    write_series(folder / "series.csv", index, h=h, price=10_000.0)
    case = {
        "name": "verify_dc",
        "series": ["series.csv"],
        "dc": {"pue": 1.0, "value_of_lost_compute_jpy_per_mwh": 1e6, **dc},
        "grid": {"import_limit_mw": "h", "energy_price_jpy_per_mwh": "price"},
    }
    (folder / "case.toml").write_text(to_toml(case))
    return solve_verified(folder / "case.toml").results


@pytest.fixture(scope="module")
def deferring(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    """24 h: 8 MW of IT load, half of it deferrable up to 4 h at 100 JPY/MWh/h, IT capacity
    12 MW; the import limit falls from 12 to 5 MW in hours 10–13, so work waits."""
    hour = hourly_index(STEPS).hour
    dc = {"it_mw": 8.0, "deferrable_share": 0.5, "max_delay_h": 4.0, "it_capacity_mw": 12.0}
    dc["deferral_cost_jpy_per_mwh_h"] = 100.0
    ds = _solve(
        tmp_path_factory.mktemp("deferring"), dc, np.where((hour >= 10) & (hour < 14), 5.0, 12.0)
    )
    assert float(ds["shift_backlog_mwh"].max()) > 1.0
    return ds


@pytest.fixture(scope="module")
def sized_dc(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    """24 h: a DC sized in [0, 20] MW on a flat profile, worth 1e8 JPY/MW/yr, import ≤ 10 MW."""
    dc = {"it_mw": 1.0, "size_mw": {"max": 20.0}, "value_of_size_jpy_per_mw_year": 1e8}
    ds = _solve(tmp_path_factory.mktemp("sized"), dc, np.full(STEPS, 10.0))
    assert float(ds["dc_size_mw"]) > 1.0
    return ds


def backlog_off_recursion(ds):
    """Backlog + 1 MWh at one step: W1 off by 1 there (and at the next step)."""
    ds["shift_backlog_mwh"][10] += 1.0
    return "W1 backlog recursion", 1.0


def backlog_over_the_delay(ds):
    """Arrivals are 4 MW, D = 4 steps: the bound at step 10 is 16 MWh; backlog 17 MWh."""
    ds["shift_backlog_mwh"][10] = 17.0
    return "W2 0 ≤ backlog ≤ arrivals within the max delay", 1.0


def served_over_the_room(ds):
    """Room for deferred work = 12 − 4 = 8 MW; serve 9 MW at one step."""
    ds["shift_served_it_mw"][3] = 9.0
    return "W3 0 ≤ served ≤ IT capacity − inflexible load", 1.0


def backlog_left_at_the_end(ds):
    ds["shift_backlog_mwh"][-1] = 0.5
    return "W4 backlog empty at the end", 0.5


def negative_drop(ds):
    ds["shift_dropped_it_mw"][2] = -1.0
    return "W1 dropped work ≥ 0", 1.0


def deferral_cost_changed(ds):
    ds["cost_shift_deferral_jpy"] = float(ds["cost_shift_deferral_jpy"]) * 1.01
    return "W7 cost_shift_deferral_jpy recomputed", 0.01 / 1.01


def load_off_the_profile(ds):
    """IT load + 1 MW at one step: no longer profile × size (D0)."""
    ds["dc_it_mw"][5] += 1.0
    return "D0 DC load = profile × size", 1.0


def size_above_max(ds):
    ds["dc_size_mw"] = float(ds["dc_size_mw_max"]) + 2.0
    return "dc_size_mw within bounds", 2.0


def size_value_changed(ds):
    ds["cost_dc_size_value_jpy"] = float(ds["cost_dc_size_value_jpy"]) * 1.01
    return "D4 cost_dc_size_value_jpy recomputed", 0.01 / 1.01


@pytest.mark.parametrize(
    ("fixture", "tamper"),
    [
        ("deferring", backlog_off_recursion),
        ("deferring", backlog_over_the_delay),
        ("deferring", served_over_the_room),
        ("deferring", backlog_left_at_the_end),
        ("deferring", negative_drop),
        ("deferring", deferral_cost_changed),
        ("sized_dc", load_off_the_profile),
        ("sized_dc", size_above_max),
        ("sized_dc", size_value_changed),
    ],
    ids=lambda x: x if isinstance(x, str) else x.__name__,
)
def test_dc_and_shift_tampering_is_caught_by_its_tag(request, fixture, tamper):
    """The DC's (D0, D4, size) and the workload shift's (W1–W4, W7) checks, by the same rule."""
    clean = request.getfixturevalue(fixture)
    assert verify(clean).ok
    ds = clean.copy(deep=True)
    check, amount = tamper(ds)
    assert verify(ds).violations[check] == pytest.approx(amount, rel=1e-6)
