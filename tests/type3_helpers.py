"""The hand case of the type ③ tests and helpers to write and solve it.

A 10 MW (IT, PUE 1) DC over 48 h behind a 20 MW margin (no firm part). A fault from 10:00 lasting
12 h cuts the margin to 0. A 6 MW generator holds 5 h of fuel (30 MWh); a 4 MW / 8 MWh lossless
battery is full when the fault starts (a lost MWh costs 1 MJPY, energy 10 kJPY/MWh).
α = 8760 / 48 = 182.5.
"""

from __future__ import annotations

from conftest import REPO, hourly_index, to_toml, write_series

from wattbit.case import load_case
from wattbit.inputs import build_inputs
from wattbit.optimise import solve_inputs
from wattbit.solve import SolverOptions

ALPHA = 8760 / 48
VOLC = 1e6
FUEL = 20_000.0
PRICE = 10_000.0
OPTIONS = SolverOptions()
REFERENCE = REPO / "cases" / "type3_substation" / "case.toml"


def write_case(tmp_path, **tables):
    """The hand case, with tables replaced or added (a table given as None is dropped)."""
    write_series(tmp_path / "series.csv", hourly_index(48), price=PRICE)
    case = {
        "name": "hand",
        "series": ["series.csv"],
        "dc": {"it_mw": 10.0, "value_of_lost_compute_jpy_per_mwh": VOLC},
        "grid": {"import_limit_mw": 20.0, "energy_price_jpy_per_mwh": "price", "mode": "type3_n1"},
        "battery": {
            "power_mw": 4.0,
            "energy_mwh": 8.0,
            "charge_efficiency": 1.0,
            "discharge_efficiency": 1.0,
        },
        "generator": {
            "power_mw": 6.0,
            "fuel_tank_h": 5.0,
            "start_delay_h": 0.0,
            "fuel_cost_jpy_per_mwh": FUEL,
        },
        "type3": {
            "margin_mw": 20.0,
            "scenarios": 1,
            "events": [{"start": "2025-05-01T10:00:00+09:00", "duration_h": 12.0}],
        },
    }
    case.update(tables)
    case = {k: v for k, v in case.items() if v is not None}
    path = tmp_path / "case.toml"
    path.write_text(to_toml(case))
    return path


def solved(run):
    assert run.ok, run.solution.message
    assert run.verification.ok, run.verification.violations
    assert run.verification.max_violation <= 1e-6
    return run


def deterministic(path, **overrides):
    return solved(solve_inputs(build_inputs(load_case(path, overrides or None)), OPTIONS))


SIZED = {
    "battery": {
        "power_mw": {"max": 20.0},
        "energy_mwh": {"max": 100.0},
        "energy_capex_jpy_per_kwh": 20_000.0,
        "power_capex_jpy_per_kw": 10_000.0,
    },
    "generator": {
        "power_mw": {"max": 20.0},
        "fuel_tank_h": 8.0,
        "capex_jpy_per_kw": 80_000.0,
        "fuel_cost_jpy_per_mwh": FUEL,
    },
}
