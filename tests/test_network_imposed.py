"""The merchant mode's imposed system LP compiled once (wattbit.network.imposed) gives what the
cold path gives: the same worst system cost over the merchant ties, after the same rounds, on a
summer week of the town case (measured data); and it is the path the merchant mode takes."""

from __future__ import annotations

from pathlib import Path

import pytest

from wattbit.network.case import load_network_case
from wattbit.network.imposed import ImposedLP
from wattbit.network.inputs import build_network_inputs
from wattbit.network.merchant import cold_imposed, schedules_of, worst_for_system
from wattbit.network.model import create_merchant_model, merchant_parts
from wattbit.network.run import _solve_exclusive, solve_network
from wattbit.solve import SolverOptions

TOWN = Path(__file__).resolve().parent.parent / "cases" / "town" / "case.toml"
WEEK = {"horizon.start": "2025-07-28T00:00:00+09:00", "horizon.steps": 72}


@pytest.fixture(scope="module")
def town_week():
    return build_network_inputs(load_network_case(TOWN, WEEK))


def test_imposed_lp_compiled_once_equals_the_cold_climb(town_week):
    ds, options, timings = town_week, SolverOptions(), {}

    def solve(build):
        return _solve_exclusive(ds, build, options, timings)

    merchant = solve(lambda x: create_merchant_model(ds, x))
    start = schedules_of(merchant.model, ds, merchant_parts(ds))
    optimum = float(merchant.solution.objective)
    cold = worst_for_system(ds, start, optimum, solve)
    imposed = ImposedLP(ds, options, cold_imposed(ds, solve), timings)
    warm = worst_for_system(ds, start, optimum, solve, imposed)
    assert imposed.warm_solves == warm.rounds + 1  # every V(S) from the one compiled LP
    assert warm.rounds == cold.rounds and warm.note == cold.note
    assert warm.cost_jpy == pytest.approx(cold.cost_jpy, rel=1e-9)


def test_merchant_mode_uses_the_compiled_lp(town_week):
    run = solve_network(town_week, "merchant", SolverOptions())
    assert run.ok and run.verification.ok
    attrs = run.results.attrs
    assert attrs["merchant_imposed_warm_solves"] == attrs["merchant_tie_ascent_rounds"] + 1
    assert attrs["merchant_system_cost_worst_jpy"] >= attrs["merchant_system_cost_best_jpy"]
