"""The single-site price (E1's dual) and a size bound's value, solved by hand."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import hourly_index, solve_verified

from wattbit.solve import LP_DUALS


def test_site_price_is_the_import_price_until_the_limit_then_lost_compute(make_case):
    """A 10 MW IT load at PUE 1.25 (12.5 MW at the bus), import up to 20 MW then 8 MW at 5 000 and
    7 000 JPY/MWh, lost compute at 1e6 JPY/MWh. Hour 0: one more MWh at the bus is imported,
    5 000. Hour 1: the import is at its limit, so one more MWh at the bus sheds 1/1.25 MWh of IT:
    1e6 / 1.25 = 800 000 JPY/MWh."""
    case = {
        "dc": {"it_mw": 10.0, "pue": 1.25, "value_of_lost_compute_jpy_per_mwh": 1e6},
        "grid": {"import_limit_mw": "h", "energy_price_jpy_per_mwh": "p"},
    }
    path = make_case(case, hourly_index(2), h=[20.0, 8.0], p=[5_000.0, 7_000.0])
    run = solve_verified(path)
    np.testing.assert_allclose(run.results["site_price_jpy_per_mwh"], [5_000.0, 800_000.0])
    assert run.results.attrs["duals_source"] == LP_DUALS


def test_battery_power_bound_value_is_the_cost_slope(make_case):
    """A battery capped at 1 MW (energy ample, token capex) covers part of a 2 MW gap below the
    headroom for two hours; the rest is shed. The power bound's value (the size's reduced cost)
    is the optimum's slope in the cap: the optimum with the cap at 1.1 MW, less that at 1 MW, over
    0.1 (the LP's optimum is linear between them: the battery stays short of the gap)."""

    def run_with(cap: float):
        case = {
            "dc": {"it_mw": 10.0, "pue": 1.0, "value_of_lost_compute_jpy_per_mwh": 1e6},
            "grid": {"import_limit_mw": "h", "energy_price_jpy_per_mwh": 10_000.0},
            "battery": {
                "power_mw": {"max": cap},
                "energy_mwh": {"max": 100.0},
                "power_capex_jpy_per_kw": 1.0,
                "energy_capex_jpy_per_kwh": 1.0,
            },
        }
        return solve_verified(make_case(case, hourly_index(4), h=[20.0, 8.0, 8.0, 20.0]))

    low, high = run_with(1.0), run_with(1.1)
    value = float(low.results["battery_power_mw_bound_value_jpy"])
    assert value < 0
    slope = (high.kpis["total_cost_jpy"] - low.kpis["total_cost_jpy"]) / 0.1
    assert value == pytest.approx(slope, rel=1e-7)
