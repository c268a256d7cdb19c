"""Sizes found by one naming rule (wattbit.sizes), and the economics that read them.

Regression tests of issue #9: a sized DC or generator under ``type2_forecast`` ended in a KeyError
(the rolling horizon kept its own list of sizes), and the sweep economics counted generator and
UPS capex as operating cost (``economics.capital`` knew battery and PV only). The example case
on short horizons of its measured data.
"""

from __future__ import annotations

from typing import Any

import pyomo.environ as pyo
import pytest
from conftest import EXAMPLE

from wattbit.case import load_case
from wattbit.formulations.common import capital_recovery_factor
from wattbit.inputs import build_inputs
from wattbit.model import create_model
from wattbit.sizes import bounds, investment_name, lifetime_name, size_names, size_vars
from wattbit.strategies import solve_case
from wattbit.sweep.engine import run_case
from wattbit.sweep.spec import Task

RIDE_THROUGH: dict[str, Any] = {
    "dc.size_mw": {"min": 5.0, "max": 30.0},
    "generator.power_mw": 3.0,
    "generator.capex_jpy_per_kw": 150_000,
    "generator.lifetime_years": 20,
    "ups.power_mw": 4.0,
    "ups.capex_jpy_per_kw": 50_000,
    "ups.lifetime_years": 10,
}


def test_sizes_are_the_model_size_variables():
    """Every ``<name>_min``/``<name>_max`` pair, and nothing else, is a size: a variable of the
    block its name starts with, bounded by the pair."""
    inputs = build_inputs(load_case(EXAMPLE, {"horizon.steps": 4, **RIDE_THROUGH}))
    assert sorted(size_names(inputs)) == sorted(
        [
            "dc_size_mw",
            "generator_power_mw",
            "ups_power_mw",
            "grid_contract_mw",
            "pv_capacity_mw",
            "battery_power_mw",
            "battery_energy_mwh",
        ]
    )
    m = create_model(inputs)
    for size in size_vars(inputs):
        var = m.component(size.block).component(size.attribute)
        assert isinstance(var, pyo.Var), size.name
        assert (var.lb, var.ub) == bounds(inputs, size.name)
    assert bounds(inputs, "dc_size_mw") == (5.0, 30.0)
    assert bounds(inputs, "ups_power_mw") == (4.0, 4.0)


@pytest.mark.parametrize(
    "sized",
    [{"dc.size_mw": {"min": 5.0, "max": 30.0}}, {"generator.power_mw": {"max": 10.0}}],
    ids=["dc", "generator"],
)
def test_type2_forecast_fixes_every_size_of_its_foresight_solve(sized):
    """The rolling horizon operates the sizes of its perfect-foresight solve, whatever they are:
    each is fixed (min = max = the size) in the result, within the case's bounds, and the
    realised cost is not below the foresight cost."""
    overrides = {"horizon.steps": 96, "grid.mode": "type2_forecast", **sized}
    run = solve_case(load_case(EXAMPLE, overrides))
    assert run.ok, run.solution.message
    assert run.verification.ok, run.verification.worst
    results = run.results
    name = next(iter(sized)).replace(".", "_")
    assert name in size_names(results)
    lo, hi = (sized[next(iter(sized))].get(k, 0.0) for k in ("min", "max"))
    assert lo - 1e-9 <= float(results[name]) <= hi + 1e-9
    for size in size_names(results):
        assert bounds(results, size) == (float(results[size]),) * 2, size
    foresight = results.attrs["foresight_objective_jpy"]
    assert results.attrs["objective_jpy"] >= foresight - 1e-6 * abs(foresight)


def test_sweep_economics_count_generator_and_ups_capex_as_investment():
    """Fixed sizes, so the investment is capex × size by hand (JPY/kW × 1000 kW/MW):
    PV 2 MW × 200 000, battery 5 MW × 30 000 + 20 MWh × 40 000 (the example's capex),
    generator 3 MW × 150 000, UPS 4 MW × 50 000; its recovery is each part × CRF(5 %, lifetime)
    and the operating cost is the annualised total less that recovery."""
    fixed = {
        "horizon.steps": 24,
        "pv.capacity_mw": 2.0,
        "battery.power_mw": 5.0,
        "battery.energy_mwh": 20.0,
        **{k: v for k, v in RIDE_THROUGH.items() if not k.startswith("dc.")},
    }
    record = run_case(Task("econ", str(EXAMPLE), fixed, (0,)))
    assert record["status"] == "ok", record["message"]
    parts = {  # JPY, lifetime
        "pv": (2.0 * 200_000 * 1000, 25),
        "battery": ((5.0 * 30_000 + 20.0 * 40_000) * 1000, 15),
        "generator": (3.0 * 150_000 * 1000, 20),
        "ups": (4.0 * 50_000 * 1000, 10),
    }
    investment = sum(cost for cost, _ in parts.values())
    recovery = sum(cost * capital_recovery_factor(0.05, life) for cost, life in parts.values())
    economics = record["economics"]
    assert economics["investment_jpy"] == pytest.approx(investment, rel=1e-12)
    assert economics["operating_cost_jpy_per_year"] == pytest.approx(
        record["kpis"]["total_cost_jpy"] - recovery, rel=1e-12
    )
    assert economics["discount_rate"] == 0.05


def test_inputs_carry_the_capital_of_every_size_that_costs_capital():
    """Up-front capital per unit and lifetime beside the annualised coefficient, for the sizes
    bought up front; the contract (a yearly charge) and the DC size (a value) have none."""
    inputs = build_inputs(load_case(EXAMPLE, {"horizon.steps": 4, **RIDE_THROUGH}))
    with_capital = [s for s in size_names(inputs) if investment_name(s) in inputs]
    assert sorted(with_capital) == sorted(
        [
            "generator_power_mw",
            "ups_power_mw",
            "pv_capacity_mw",
            "battery_power_mw",
            "battery_energy_mwh",
        ]
    )
    assert float(inputs["generator_power_mw_investment_jpy_per_mw"]) == 150_000 * 1000
    assert float(inputs["battery_energy_mwh_investment_jpy_per_mwh"]) == 40_000 * 1000
    assert inputs["battery_energy_mwh_investment_jpy_per_mwh"].attrs["units"] == "JPY/MWh"
    assert float(inputs[lifetime_name("ups_power_mw")]) == 10
    crf = capital_recovery_factor(0.05, 20)
    assert float(inputs["generator_capex_jpy_per_mw_year"]) == pytest.approx(
        crf * 150_000 * 1000, rel=1e-15
    )
