"""Out-of-sample fixed patterns: a pattern derived from one period (or other years) evaluated on
another, who bears its exceedance, and the multi-year rule.

Hand case (:func:`test_type2.hand_case`): a 10 MW (IT, PUE 1) DC; headroom 20 MW except hours
18–20, 6 MW on day 1 and 8 MW on day 2. A pattern derived from day 2 promises 8 MW at 18–20; on
day 1 the grid has only 6 MW: it exceeds the realised headroom by 2 MW for 3 h, 6 MWh.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import hourly_index, solve_verified
from test_type2 import cell, hand_case

from wattbit.case import load_case
from wattbit.headroom import operating_pattern
from wattbit.studies.compare import compare

DAY2 = "2025-05-02T00:00:00+09:00"
ON_DAY1 = {"horizon.steps": 24, "grid.pattern.reference_start": DAY2}
ALPHA = 8760 / 24
PLANNED, ABRUPT = 5_000.0, 10_000.0


def test_pattern_from_day_two_exceeds_day_one_by_hand(tmp_path):
    """Load-following plans to shed 2 MW for 3 h (planned, 5 000 JPY/MWh); where the DC bears
    the exceedance the grid then cuts 2 MW more at once (abrupt, 10 000 JPY/MWh)."""
    path = hand_case(tmp_path, value_of_planned_curtailment_jpy_per_mwh=PLANNED)
    dc = cell(path, "load_following", "type2_fixed", **ON_DAY1)
    assert dc.kpis["dc_it_unserved_mwh"] == pytest.approx(12.0, abs=1e-6)
    assert dc.kpis["dc_emergency_curtailed_mwh"] == pytest.approx(6.0, abs=1e-6)
    assert dc.kpis["total_cost_jpy"] == pytest.approx(ALPHA * (PLANNED + ABRUPT) * 6, rel=1e-9)
    assert dc.results.attrs["plan_objective_jpy"] == pytest.approx(ALPHA * PLANNED * 6, rel=1e-9)
    comparison = compare(
        path, ("load_following",), ("type2_fixed",), overrides=ON_DAY1, breakeven_modes=()
    )
    row = comparison.table().iloc[0]
    assert row["pattern_exceedance_hours_per_year"] == pytest.approx(3 * ALPHA)
    assert row["pattern_exceedance_energy_mwh_per_year"] == pytest.approx(6 * ALPHA)
    assert row["pattern_exceedance_max_mw"] == pytest.approx(2.0)
    assert row["pattern_exceedance_borne_by"] == "dc"
    assert row["pattern_exceedance_cost_jpy"] == pytest.approx(ALPHA * ABRUPT * 6, rel=1e-9)
    # the plan imports 8 MW at 18–20 h where the grid has 6: 6 MWh above H, annualised
    assert row["pattern_exceedance_planned_import_above_mwh_per_year"] == pytest.approx(6 * ALPHA)
    assert "exceeds the realised headroom 1,095 h/yr by 2,190.0 MWh/yr" in comparison.verdict()


def test_the_grid_may_bear_the_exceedance(tmp_path):
    """Borne by the grid: the DC keeps its plan (import 8 MW at 18–20), and the grid relieves
    6 MWh of overload at its redispatch cost, 20 000 JPY/MWh, annualised."""
    path = hand_case(tmp_path, value_of_planned_curtailment_jpy_per_mwh=PLANNED)
    grid = {
        **ON_DAY1,
        "grid.pattern.exceedance_borne_by": "grid",
        "grid.pattern.grid_redispatch_cost_jpy_per_mwh": 20_000.0,
    }
    run = cell(path, "load_following", "type2_fixed", **grid)
    assert run.kpis["total_cost_jpy"] == pytest.approx(ALPHA * PLANNED * 6, rel=1e-9)
    comparison = compare(
        path, ("load_following",), ("type2_fixed",), overrides=grid, breakeven_modes=()
    )
    row = comparison.table().iloc[0]
    assert row["pattern_exceedance_borne_by"] == "grid"
    assert row["pattern_exceedance_planned_import_above_mwh_per_year"] == pytest.approx(6 * ALPHA)
    assert row["pattern_exceedance_cost_jpy"] == pytest.approx(ALPHA * 6 * 20_000.0, rel=1e-9)


def test_in_sample_pattern_never_exceeds(tmp_path):
    path = hand_case(tmp_path)
    run = cell(path, "load_following", "type2_fixed")
    assert "plan_objective_jpy" not in run.results.attrs
    comparison = compare(path, ("load_following",), ("type2_fixed",), breakeven_modes=())
    assert comparison.table().iloc[0]["pattern_exceedance_energy_mwh_per_year"] == 0.0


def test_minimum_over_several_reference_years(make_case):
    """Two reference years' base flows under a 30 MW limit: year A has 20 MW at 18 h on day 1,
    year B 24 MW at 19 h on day 2, 10 MW otherwise. The pattern is the minimum over both:
    10 MW at 18 h, 6 MW at 19 h, 20 MW at every other hour of both days."""
    index = hourly_index(48)
    base_a = np.where((index.hour == 18) & (index.day == 1), 20.0, 10.0)
    base_b = np.where((index.hour == 19) & (index.day == 2), 24.0, 10.0)
    case = {
        "dc": {"it_mw": 10.0},
        "grid": {
            "limit_mw": 30.0,
            "base_flow_mw": "base",
            "energy_price_jpy_per_mwh": 0.0,
            "mode": "type2_fixed",
            "pattern": {"reference_base_flow_mw": ["base_a", "base_b"]},
        },
    }
    path = make_case(case, index, base=10.0, base_a=base_a, base_b=base_b)
    pattern = operating_pattern(load_case(path)).to_numpy()
    expected = np.where(index.hour == 18, 10.0, np.where(index.hour == 19, 6.0, 20.0))
    assert pattern == pytest.approx(expected)
    one = operating_pattern(
        load_case(path, {"grid.pattern.reference_base_flow_mw": "base_a"})
    ).to_numpy()
    assert one == pytest.approx(np.where(index.hour == 18, 10.0, 20.0))
    solve_verified(path)


def test_realised_operation_keeps_within_the_pattern_where_the_headroom_is_higher(make_case):
    """Day 1 has more headroom than day 2 (25 MW against 12, 11 after 21 h) except at 18–20 h
    (6 MW against 8). A fixed 4 MW battery, half full at the start, planned on day 2's pattern
    discharges 2 MW at 18–20 h; on day 1 it discharges more, runs out and ends short of its
    initial energy. The refill may then use the headroom only up to the pattern, never day 1's
    25 MW: the pattern stays the DC's contract; what it cannot restore is reported."""
    index = hourly_index(48)
    evening = (index.hour >= 18) & (index.hour < 21)
    h = np.where(index.day == 1, 25.0, 12.0)
    h[evening] = np.where(index.day == 1, 6.0, 8.0)[evening]
    h[(index.day == 2) & (index.hour >= 21)] = 11.0
    case = {
        "horizon": {"steps": 24},
        "dc": {"it_mw": 10.0, "value_of_lost_compute_jpy_per_mwh": 10_000.0},
        "grid": {
            "import_limit_mw": "h",
            "energy_price_jpy_per_mwh": 0.0,
            "mode": "type2_fixed",
            "pattern": {"reference_start": DAY2},
        },
        "battery": {
            "power_mw": 4.0,
            "energy_mwh": 12.0 / 0.9,
            "discharge_efficiency": 0.9,
            "soc_rule": "fixed",
            "initial_soc_fraction": 0.5,
        },
    }
    run = solve_verified(make_case(case, index, h=h))
    r = run.results
    plan = r["plan_grid_import_mw"].values
    assert (r["grid_import_mw"].values <= r["grid_import_limit_mw"].values + 1e-9).all()
    assert r["battery_discharge_mw"].values[18] == pytest.approx(4.0, abs=1e-6)
    assert (r["grid_import_mw"].values[:18] > plan[:18] + 1e-6).any()  # refilled before 18 h
    end = float(r["battery_soc_mwh"][-1]) + r.attrs["battery_terminal_deficit_mwh"]
    assert end == pytest.approx(6.0 / 0.9, abs=1e-6)  # what is not refilled is reported
