"""Service levels as constraints, planned vs abrupt curtailment, the cyclic backlog, and the
warning for deferral that can never catch up.

Hand case (:func:`test_type2.hand_case`): a 10 MW (IT, PUE 1) DC over 48 h, fixed pattern 6 MW
at 18–20 h and 20 MW otherwise (480 MWh demanded, a 4 MW × 3 h × 2 days = 24 MWh gap), lost
compute 10 000 JPY/MWh. Battery-shaped use pays below c* ≈ 31 100 JPY/kWh
(test_type2.test_breakeven_battery_cost_by_hand).
"""

from __future__ import annotations

import pytest
from conftest import hourly_index, solve_verified
from test_type2 import ALPHA, ETA_D, VOLC, cell, hand_case

from wattbit.studies.compare import compare


def fresh(folder, **dc):
    folder.mkdir()
    return hand_case(folder, **dc)


DEAR = {"battery.energy_capex_jpy_per_kwh": 100_000.0}  # far above c*: no battery for cost


@pytest.mark.parametrize(
    "level",
    [{"min_served_share": 0.97}, {"max_unserved_it_mwh_per_year": 14.4 * ALPHA}],
)
def test_service_level_binds(tmp_path, level):
    """At most 3 % of 480 MWh (14.4 MWh, or 14.4 × α MWh/yr) may go unserved. A dear battery
    is built only to that bound: it covers 9.6 of the 24 MWh gap, 1.6 MW over the 3 evening
    hours of both days, 4.8 MWh a day stored at η_d = 0.9."""
    path = hand_case(tmp_path, **level)
    free = cell(path, "battery_shaped", "type2_fixed", **DEAR)
    assert free.kpis["dc_it_unserved_mwh"] == pytest.approx(14.4, abs=1e-6)
    assert free.kpis["battery_power_mw"] == pytest.approx(1.6, abs=1e-6)
    assert free.kpis["battery_energy_mwh"] == pytest.approx(4.8 / ETA_D, abs=1e-6)
    unbound = fresh(tmp_path / "plain")
    plain = cell(unbound, "battery_shaped", "type2_fixed", **DEAR)
    assert plain.kpis["dc_it_unserved_mwh"] == pytest.approx(24.0, abs=1e-6)


def test_planned_value_changes_the_choice(tmp_path):
    """At the case's 20 000 JPY/kWh a battery pays against an abrupt value of 10 000 JPY/MWh
    (it covers the whole 4 MW gap), but not against a planned value of 5 000: known a year
    ahead, the curtailment costs half, and c* falls to (α·5 000·24/(CRF·1000) − 4·k_P)·η_d/12
    ≈ 14 000 JPY/kWh. The planned value applies under the fixed pattern only: under the
    dynamic headroom shedding keeps the abrupt value."""
    path = hand_case(tmp_path, value_of_planned_curtailment_jpy_per_mwh=5_000.0)
    abrupt = cell(fresh(tmp_path / "abrupt"), "battery_shaped", "type2_fixed")
    assert abrupt.kpis["battery_power_mw"] == pytest.approx(4.0, abs=1e-6)
    planned = cell(path, "battery_shaped", "type2_fixed")
    assert planned.kpis["battery_power_mw"] == pytest.approx(0.0, abs=1e-6)
    assert planned.kpis["total_cost_jpy"] == pytest.approx(ALPHA * 5_000.0 * 24, rel=1e-9)
    dynamic = cell(path, "load_following", "type2_dynamic")
    assert dynamic.kpis["total_cost_jpy"] == pytest.approx(ALPHA * VOLC * 18, rel=1e-9)


def test_cyclic_backlog_wraps_to_the_start(make_case):
    """4 h of a flat 10 MW load, half deferrable by up to 2 h, 15 MW of IT capacity; the last
    hour has only 5 MW of headroom. With the backlog emptied at the end, the 5 MWh arriving in
    the last hour has nowhere to go: 5 MWh lost. Cyclic, it waits into the first hour (10 MW of
    room there): nothing lost, 5 MWh·h of waiting at 1 000 JPY/MWh/h, annualised × 8760/4."""
    case = {
        "dc": {
            "it_mw": 10.0,
            "deferrable_share": 0.5,
            "max_delay_h": 2.0,
            "it_capacity_mw": 15.0,
            "deferral_cost_jpy_per_mwh_h": 1_000.0,
            "value_of_lost_compute_jpy_per_mwh": 100_000.0,
        },
        "grid": {"import_limit_mw": "h", "energy_price_jpy_per_mwh": 0.0},
    }
    path = make_case(case, hourly_index(4), h=[20.0, 20.0, 20.0, 5.0])
    empty = solve_verified(path)
    assert empty.kpis["dc_it_unserved_mwh"] == pytest.approx(5.0, abs=1e-6)
    cyclic = solve_verified(path, **{"dc.backlog_rule": "cyclic"})
    assert cyclic.kpis["dc_it_unserved_mwh"] == pytest.approx(0.0, abs=1e-6)
    assert cyclic.results["shift_backlog_mwh"].values == pytest.approx([0, 0, 0, 5], abs=1e-6)
    assert cyclic.kpis["total_cost_jpy"] == pytest.approx(8760 / 4 * 1_000.0 * 5, rel=1e-9)


def test_warning_when_deferral_can_never_catch_up(tmp_path):
    """A flat 10 MW load with a 10 MW IT capacity: deferred work could only be dropped."""
    path = hand_case(tmp_path, deferrable_share=0.5, max_delay_h=3.0, it_capacity_mw=10.0)
    stuck = compare(path, ("load_following",), ("type2_fixed",), breakeven_modes=())
    assert len(stuck.warnings) == 1 and "can never catch up" in stuck.verdict()
    roomy = fresh(tmp_path / "roomy", deferrable_share=0.5, max_delay_h=3, it_capacity_mw=15.0)
    fine = compare(roomy, ("load_following",), ("type2_fixed",), breakeven_modes=())
    assert fine.warnings == []
