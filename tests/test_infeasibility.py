"""Infeasibility placed in time: the first step at which a case cannot hold, printed as the case's
own time stamp, with the constraint families in plain words and their formulation tags.

Every case here is infeasible from a step placed by hand; the horizon starts at
2025-05-01 00:00+09:00 in hourly steps, so step k prints as ``2025-05-01 0k:00+09:00``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyomo.environ as pyo
import pytest
from conftest import EXAMPLE, REPO, hourly_index, write_series
from test_network import line, network_toml, slack
from type3_helpers import write_case
from typer.testing import CliRunner

from wattbit.case import load_case
from wattbit.cli import app
from wattbit.infeasibility import asset_kinds, family
from wattbit.inputs import build_inputs
from wattbit.model import create_model
from wattbit.network.case import load_network_case
from wattbit.network.inputs import build_network_inputs
from wattbit.network.model import create_network_model
from wattbit.network.run import solve_network_case
from wattbit.solve import SolverOptions, solve_model
from wattbit.strategies.stochastic import create_stochastic_model, solve_stochastic

runner = CliRunner()
TOWN = REPO / "cases" / "town" / "case.toml"


def error_line(args: list[str]) -> str:
    """Run the CLI, expect exit 3 and exactly one line on stderr; return it."""
    result = runner.invoke(app, args)
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def draining_battery(loss_per_h: float, soc_min: float) -> dict[str, Any]:
    """A fixed 10 MWh battery at 50 % with the fixed SoC rule and no way to charge (import limit
    0, no PV, no IT load): its energy after step t is e_t = 5 (1 − λ)^(t+1) MWh (B5), held at
    or above σ_min · 10 MWh (B4)."""
    return {
        "dc": {"it_mw": 0.0},
        "grid": {"import_limit_mw": 0.0, "energy_price_jpy_per_mwh": 1000.0},
        "battery": {
            "power_mw": 5.0,
            "energy_mwh": 10.0,
            "standing_loss_per_h": loss_per_h,
            "soc_min_fraction": soc_min,
            "soc_rule": "fixed",
            "initial_soc_fraction": 0.5,
        },
    }


@pytest.mark.parametrize(
    ("loss_per_h", "stamp"),
    [
        # 5 · 0.8 = 4 < 4.5 MWh already after the first step
        (0.2, "2025-05-01 00:00+09:00"),
        # 5 · 0.99^(t+1) ≥ 4.5 ⇔ t + 1 ≤ ln 0.9 / ln 0.99 = 10.48: steps 0–9 hold, step 10 not
        (0.01, "2025-05-01 10:00+09:00"),
    ],
)
def test_single_site_first_infeasible_step(make_case, loss_per_h, stamp):
    path = make_case(draining_battery(loss_per_h, 0.45), hourly_index(24), unused=0.0)
    text = error_line(["solve", str(path)])
    assert text.startswith(f"error: {path}: infeasible: ")
    assert "the minimum state of charge of the battery (B4)" in text
    assert "the energy balance of the battery (B5)" in text
    assert text.endswith(f"cannot all hold at {stamp}")


def test_the_time_stamp_is_the_case_time_zone(make_case):
    """The same case read in UTC: step 10 is 01:00 UTC (the series says 10:00+09:00)."""
    case = draining_battery(0.01, 0.45)
    case["horizon"] = {"timezone": "UTC"}
    path = make_case(case, hourly_index(24), unused=0.0)
    assert error_line(["solve", str(path)]).endswith("at 2025-05-01 01:00+00:00")


# --------------------------------------------------------------------------- network


def leaf_with_battery(steps: int, low_from: int, **extra_nodes: Any) -> dict[str, Any]:
    """Slack s — line l — leaf f with 5 MW of other customers' load; l carries 10 MW until
    ``low_from``, then 3 MW. A lossless 2 MW / 4 MWh battery at f covers the 2 MW gap for two
    steps at most (it may start full: the cyclic rule binds only at the end)."""
    return {
        "horizon": {"steps": steps},
        "nodes": [
            slack("s", 10_000.0),
            {"name": "f", "base_load_mw": 5.0},
            *extra_nodes.get("nodes", []),
        ],
        "branches": [line("l", "s", "f", "limit"), *extra_nodes.get("branches", [])],
        "batteries": [
            {
                "name": "bess",
                "node": "f",
                "power_mw": 2.0,
                "energy_mwh": 4.0,
                "charge_efficiency": 1.0,
                "discharge_efficiency": 1.0,
            }
        ],
    }


@pytest.fixture
def make_network(tmp_path: Path):
    def make(case: dict[str, Any], steps: int, **columns: Any) -> Path:
        write_series(tmp_path / "series.csv", hourly_index(steps), **columns)
        path = tmp_path / "case.toml"
        path.write_text(network_toml({"name": "test", "series": ["series.csv"], **case}))
        return path

    return make


def test_network_first_infeasible_step(make_network):
    """The line drops to 3 MW at step 4: the battery covers steps 4 and 5 (4 MWh), step 6 not."""
    limit = [10.0] * 4 + [3.0] * 4
    path = make_network(leaf_with_battery(8, 4), 8, limit=limit)
    text = error_line(["network", str(path)])
    assert "the flow limit of branch 'l' (N3)" in text
    assert "battery 'bess' at node 'f'" in text
    assert text.endswith("cannot all hold at 2025-05-01 06:00+09:00")


def test_an_earlier_conflict_comes_before_a_row_of_fixed_values(make_network):
    """A second leaf g with a fixed 5 MW load behind a line that drops to 3 MW at step 7 breaks
    a row of fixed values at step 7; the battery's leaf is infeasible from step 6 already."""
    limit = [10.0] * 4 + [3.0] * 4
    g_limit = [10.0] * 7 + [3.0]
    case = leaf_with_battery(
        8,
        4,
        nodes=[{"name": "g", "base_load_mw": 5.0}],
        branches=[line("lg", "s", "g", "g_limit")],
    )
    run = solve_network_case(load_network_case(make_network(case, 8, limit=limit, g_limit=g_limit)))
    assert run.solution.status == "infeasible"
    assert run.solution.message.endswith("at 2025-05-01 06:00+09:00")
    assert "branch 'lg'" not in run.solution.message


def test_a_row_of_fixed_values_at_a_middle_step(make_network):
    """Only the fixed leaf: its line's limit drops below its 5 MW load at step 7."""
    case = {
        "horizon": {"steps": 8},
        "nodes": [slack("s", 10_000.0), {"name": "g", "base_load_mw": 5.0}],
        "branches": [line("lg", "s", "g", "g_limit")],
        "network": {"flow_model": "ptdf"},
    }
    path = make_network(case, 8, g_limit=[10.0] * 7 + [3.0])
    text = error_line(["network", str(path)])
    assert "the flow limit of branch 'lg' (N3) cannot hold at 2025-05-01 07:00+09:00" in text
    assert "all its terms are fixed" in text and "branch.lg.flow_max[7]" in text


def test_a_row_of_fixed_values_met_within_tolerance_solves(make_network):
    """0.1 + 0.2 MW of load behind a 0.3 MW line: met to 6e-17, which Pyomo's compiler alone
    would reject as infeasible."""
    case = {
        "horizon": {"steps": 2},
        "nodes": [slack("s", 10_000.0), {"name": "g", "base_load_mw": 0.1 + 0.2}],
        "branches": [line("lg", "s", "g", 0.3)],
        "network": {"flow_model": "ptdf"},
    }
    run = solve_network_case(load_network_case(make_network(case, 2, unused=0.0)))
    assert run.ok, run.solution.message
    assert run.kpis["upstream_import_mwh"] == pytest.approx(0.6, abs=1e-9)


def test_type3_scenarios_first_infeasible_step(tmp_path):
    """The draining battery (no charging: P = 0, 8 MWh at 50 %, σ_min 0.45, 1 %/h) in the type ③
    hand case with two scenarios: 4 · 0.99^(t+1) ≥ 3.6 holds for t ≤ 9, in every scenario."""
    path = write_case(
        tmp_path,
        battery={
            "power_mw": 0.0,
            "energy_mwh": 8.0,
            "standing_loss_per_h": 0.01,
            "soc_rule": "fixed",
            "soc_min_fraction": 0.45,
            "initial_soc_fraction": 0.5,
        },
        type3={
            "margin_mw": 20.0,
            "scenarios": 2,
            "events": [{"start": "2025-05-01T10:00:00+09:00", "duration_h": 12.0}],
        },
    )
    run = solve_stochastic(build_inputs(load_case(path)), SolverOptions())
    assert run.solution.status == "infeasible"
    assert "the minimum state of charge of the battery in scenario" in run.solution.message
    assert run.solution.message.endswith("cannot all hold at 2025-05-01 10:00+09:00")


# --------------------------------------------------------------------------- words


def test_every_constraint_is_named_in_words_with_its_tag(tmp_path):
    """Every constraint family of a single site (the example), a type ③ site with every
    ride-through resource in two scenarios, and the town network reads as words with its
    formulation tag: a new constraint without an entry in ``infeasibility.ROWS`` fails here."""
    site = create_model(build_inputs(load_case(EXAMPLE, {"horizon.steps": 24})), [0])
    hand = write_case(
        tmp_path,
        type3={
            "margin_mw": 20.0,
            "scenarios": 2,
            "events": [{"start": "2025-05-01T10:00:00+09:00", "duration_h": 12.0}],
        },
        ups={"power_mw": 1.0, "autonomy_minutes": 10.0},
        shutdown={"notice_h": 1.0},
        migration={"capacity_it_mw": 2.0},
    )
    scenarios = create_stochastic_model(build_inputs(load_case(hand)), {})
    town = build_network_inputs(load_network_case(TOWN, {"horizon.steps": 24}))
    named = []
    for m, kinds in ((site, {}), (scenarios, {}), (create_network_model(town), asset_kinds(town))):
        for con in m.component_objects(pyo.Constraint, active=True, descend_into=True):
            named.append(family(next(iter(con.values())), kinds))
    untagged = [words for words in named if not re.search(r" \([A-Z]\d+\)$", words)]
    assert not untagged
    assert "the charge/discharge exclusivity of the battery (B7)" in named
    assert "the same dispatch until scenarios differ (K3)" in named
    assert "the flow limit of branch 't_north' (N3)" in named


def test_rows_of_fixed_values_in_any_model():
    """On a bare model: x[t] fixed at 1, 1, 3 against x[t] ≤ 2 (t = 0, 1, 2) and y ≥ 0 free.
    A row met to 1e-12 is left out and the model solves; the row at t = 2 misses by 1: infeasible
    there, named, with every term fixed. Pyomo's compiler alone raises on both."""
    m = pyo.ConcreteModel()
    m.T = pyo.RangeSet(0, 2)
    m.x = pyo.Var(m.T)
    m.y = pyo.Var(m.T, bounds=(0, None))
    m.cap = pyo.Constraint(m.T, rule=lambda b, t: b.x[t] <= 2.0)
    m.link = pyo.Constraint(m.T, rule=lambda b, t: b.y[t] >= b.x[t])
    m.objective = pyo.Objective(expr=pyo.quicksum(m.y[t] for t in m.T))
    for t, value in enumerate((1.0, 2.0 + 1e-12, 1.0)):
        m.x[t].fix(value)
    sol, _ = solve_model(m, SolverOptions())
    assert sol.status == "optimal" and sol.objective == pytest.approx(4.0)
    m.x[2].fix(3.0)
    sol, cm = solve_model(m, SolverOptions())
    assert cm is None and sol.status == "infeasible"
    assert sol.conflict.fixed and sol.conflict.step == 2
    assert [row.name for row in sol.conflict.rows] == ["cap[2]"]
    assert sol.message.endswith(
        "at step 2: all its terms are fixed (loads, limits or schedules "
        "given in the case), row cap[2]"
    )
