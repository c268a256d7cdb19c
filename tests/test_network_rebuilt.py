"""A network LP solved with its Pyomo model freed while HiGHS runs and built again after
(wattbit.rebuilt, the network runs' default) gives what the model kept alive gives: the same
objective, every result variable and price equal, on a summer week of the town case (its LP
under ``REBUILD_ROWS``: the threshold is lowered so that the week takes the rebuilt path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import wattbit.rebuilt
from wattbit.network.case import load_network_case
from wattbit.network.inputs import build_network_inputs
from wattbit.network.model import create_network_model
from wattbit.network.prices import with_duals
from wattbit.network.run import _solve_exclusive, build_network_results
from wattbit.solve import SolverOptions

TOWN = Path(__file__).resolve().parent.parent / "cases" / "town" / "case.toml"
WEEK = {"horizon.start": "2025-07-28T00:00:00+09:00", "horizon.steps": 72}


def _results(ds, rebuild: bool):
    timings: dict[str, float] = {}
    build = with_duals(lambda x: create_network_model(ds, x))
    done = _solve_exclusive(ds, build, SolverOptions(), timings, rebuild)
    return done, build_network_results(ds, done.model, {}), timings


def test_rebuilt_model_gets_the_kept_models_solution(monkeypatch):
    monkeypatch.setattr(wattbit.rebuilt, "REBUILD_ROWS", 0)
    ds = build_network_inputs(load_network_case(TOWN, WEEK))
    kept, kept_results, _ = _results(ds, rebuild=False)
    rebuilt, results, timings = _results(ds, rebuild=True)
    assert rebuilt.solution.status == kept.solution.status == "optimal"
    assert rebuilt.solution.objective == pytest.approx(kept.solution.objective, rel=1e-9)
    assert rebuilt.solution.duals_source == kept.solution.duals_source
    assert "node_price_jpy_per_mwh" in results  # the duals reached the rebuilt model
    assert set(results.data_vars) == set(kept_results.data_vars)
    for name in kept_results.data_vars:
        np.testing.assert_array_equal(results[name].values, kept_results[name].values, name)
    assert {"build", "hand_off", "solve", "load"} <= set(timings)
