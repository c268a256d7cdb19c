"""Network edge cases (issue 18): rows of fixed values that cannot hold, energy burnt behind a
reverse-flow limit, and the merchant batteries' ties made explicit.

Hourly steps from 2025-05-01 00:00+09:00: step k prints as ``2025-05-01 0k:00+09:00``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import hourly_index, write_series
from test_network import line, network_toml, slack
from typer.testing import CliRunner

from wattbit.cli import app
from wattbit.network.case import load_network_case
from wattbit.network.run import NetworkRun, solve_network_case

TOL = 1e-6


@pytest.fixture
def make_network(tmp_path: Path):
    def make(case: dict[str, Any], steps: int, **columns: Any) -> Path:
        write_series(tmp_path / "series.csv", hourly_index(steps), **columns)
        path = tmp_path / "case.toml"
        path.write_text(network_toml({"name": "test", "series": ["series.csv"], **case}))
        return path

    return make


def error_line(args: list[str]) -> str:
    """Run the CLI, expect exit 3 and one line on stderr, no traceback; return the line."""
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def run(path: Path, mode: str = "system") -> NetworkRun:
    return solve_network_case(load_network_case(path), mode)


# --------------------------------------------------------------------------- fixed rows


def test_ptdf_leaf_load_behind_a_smaller_branch(make_network):
    """5 MW of other customers' load behind a 4 MW branch: with the PTDF the flow is an
    expression of fixed injections, so the branch's limit is a row of fixed values."""
    case = {
        "horizon": {"steps": 4},
        "network": {"flow_model": "ptdf"},
        "nodes": [slack("s", 10_000.0), {"name": "leaf", "base_load_mw": 5.0}],
        "branches": [line("l", "s", "leaf", 4.0)],
    }
    text = error_line(["network", str(make_network(case, 4, unused=0.0))])
    assert "the flow limit of branch 'l' (N3) cannot hold at 2025-05-01 00:00+09:00" in text
    assert "all its terms are fixed" in text and "row branch.l.flow_max[0]" in text


def test_kvl_generation_behind_a_reverse_flow_limit(make_network):
    """A node with only 5 MW of generation (a −5 MW base load) and a 2 MW reverse-flow limit."""
    case = {
        "horizon": {"steps": 4},
        "network": {"flow_model": "kvl"},
        "nodes": [
            slack("s", 10_000.0),
            {"name": "g", "base_load_mw": -5.0, "reverse_flow_limit_mw": 2.0},
        ],
        "branches": [line("l", "s", "g", 10.0)],
    }
    text = error_line(["network", str(make_network(case, 4, unused=0.0))])
    assert "the reverse-flow limit of node 'g' (N2) cannot hold at 2025-05-01 00:00+09:00" in text
    assert "all its terms are fixed" in text and "row node.g.reverse_flow_max[0]" in text


def merchant_alone() -> dict[str, Any]:
    """A node with only a 2 MW / 2 MWh lossless merchant battery and a 1 MW reverse-flow limit;
    its owner's price is low, high, low, high."""
    return {
        "horizon": {"steps": 4},
        "nodes": [slack("s", "price"), {"name": "b", "reverse_flow_limit_mw": 1.0}],
        "branches": [line("l", "s", "b", 10.0)],
        "batteries": [
            {
                "name": "bess",
                "node": "b",
                "owner": "co",
                "power_mw": 2.0,
                "energy_mwh": 2.0,
                "charge_efficiency": 1.0,
                "discharge_efficiency": 1.0,
            }
        ],
        "owners": [{"name": "co", "energy_price_jpy_per_mwh": "price"}],
    }


def test_merchant_schedule_behind_a_reverse_flow_limit(make_network):
    """System-optimal, the battery stays within the limit. Merchant, it charges 2 MW at 00:00
    and sells 2 MW at 01:00 (20 000 JPY/MWh spread), which neither the 1 MW limit nor the slack
    (no load, no export upstream) can take: every price-optimal schedule is infeasible."""
    path = make_network(merchant_alone(), 4, price=[10_000.0, 30_000.0, 10_000.0, 30_000.0])
    assert run(path, "system").ok
    text = error_line(["network", str(path), "--mode", "merchant"])
    assert "with the merchant batteries' schedules fixed" in text
    assert "the reverse-flow limit of node 'b' (N2)" in text
    assert "at 2025-05-01 01:00+09:00" in text


# --------------------------------------------------------------------------- burning


def burning(exclusive: str) -> dict[str, Any]:
    """Node g: 5 MW of generation that cannot be curtailed, a 4 MW reverse-flow limit, a
    10 MW / 2 MWh battery (90 % each way); the slack s serves 4 MW of other customers and cannot
    export. g must absorb 1 MW every step: charging alone stores 0.9 MWh a step, so the battery
    (cyclic, at best starting empty) is full after 2.2 steps — from step 2 on only burning
    (charging and discharging at once: c − d = 1, 0.9 c = d / 0.9, c = 5.26 MW) keeps it."""
    return {
        "horizon": {"steps": 8},
        "nodes": [
            slack("s", 10_000.0, base_load_mw=4.0),
            {"name": "g", "base_load_mw": -5.0, "reverse_flow_limit_mw": 4.0},
        ],
        "branches": [line("l", "s", "g", 10.0)],
        "batteries": [
            {
                "name": "bess",
                "node": "g",
                "power_mw": 10.0,
                "energy_mwh": 2.0,
                "charge_efficiency": 0.9,
                "discharge_efficiency": 0.9,
                "exclusive": exclusive,
            }
        ],
    }


def test_burning_is_named_when_exclusivity_forbids_it(make_network):
    text = error_line(["network", str(make_network(burning("always"), 8, unused=0.0))])
    assert "only because battery 'bess' at node 'g' may not charge and discharge at once (B7)" in (
        text
    )
    assert "burns energy" in text and "at 2025-05-01 02:00+09:00" in text


def test_burning_with_exclusive_auto_is_reported_infeasible(make_network):
    result = run(make_network(burning("auto"), 8, unused=0.0))
    assert result.solution.status == "infeasible"
    assert "battery 'bess' at node 'g' may not charge and discharge at once" in (
        result.solution.message
    )


def test_burning_with_exclusive_never_solves_and_shows_it(make_network):
    result = run(make_network(burning("never"), 8, unused=0.0))
    assert result.ok, result.solution.message
    charge = result.results["battery_charge_mw"].sel(battery="bess").values
    discharge = result.results["battery_discharge_mw"].sel(battery="bess").values
    np.testing.assert_allclose(charge - discharge, 1.0, atol=TOL)  # the 1 MW g must absorb
    assert result.kpis["battery_simultaneous_steps"] >= 1


def test_curtailable_generation_needs_no_burning(make_network):
    """The same 5 MW as a PV entry (availability 1, fixed capacity, no capex): it may generate
    less, so even with exclusivity at every step nothing burns; 1 MW is curtailed a step once
    the battery is full."""
    case = burning("always")
    case["nodes"][1]["base_load_mw"] = 0.0
    case["pv"] = [{"name": "gen", "node": "g", "capacity_mw": 5.0, "availability": 1.0}]
    result = run(make_network(case, 8, unused=0.0))
    assert result.ok, result.solution.message
    assert result.kpis["battery_simultaneous_steps"] == 0
    assert result.kpis["pv_curtailed_mwh"] >= 8.0 - 2.0 / 0.9 - TOL


# --------------------------------------------------------------------------- merchant ties


def tied_merchant() -> dict[str, Any]:
    """Slack s — line (10 MW) — f, where a DC draws 11, 8, 8, 8 MW (value of lost compute
    10^6 JPY/MWh) and a lossless 2 MW / 2 MWh merchant battery (100 JPY/MWh wear) trades at
    10 000, 10 000, 30 000, 20 000 JPY/MWh, the slack's price too."""
    return {
        "horizon": {"steps": 4},
        "nodes": [slack("s", "price"), {"name": "f"}],
        "branches": [line("l", "s", "f", 10.0)],
        "dcs": [
            {"name": "dc", "node": "f", "it_mw": "it", "value_of_lost_compute_jpy_per_mwh": 1e6}
        ],
        "batteries": [
            {
                "name": "bess",
                "node": "f",
                "owner": "co",
                "power_mw": 2.0,
                "energy_mwh": 2.0,
                "charge_efficiency": 1.0,
                "discharge_efficiency": 1.0,
                "throughput_cost_jpy_per_mwh": 100.0,
            }
        ],
        "owners": [
            {"name": "co", "energy_price_jpy_per_mwh": "price"},
            {"name": "dc", "energy_price_jpy_per_mwh": "price"},
        ],
    }


def test_merchant_tie_both_ends_by_hand(make_network):
    """The owner's best: buy 2 MWh in the two cheap hours, sell 2 MW at 30 000 (step 2); wear
    200 JPY: cost α (200 + 20 000 − 60 000) = −39 800 α, α = 8760 / 4 = 2190. Any split
    a + (2 − a) of the buying between steps 0 and 1 ties. With a MW bought at step 0 the 11 MW
    DC and the battery need 11 + a on the 10 MW line: the DC sheds 1 + a; step 1 imports
    10 − a, step 2 8 − 2, step 3 8. System cost / α = 10^6 (1 + a) + 10 000 · 10
    + 10 000 (10 − a) + 30 000 · 6 + 20 000 · 8 + 200 = 1 540 200 + 990 000 a:
    best a = 0 (1 540 200 α), worst a = 2 (3 520 200 α). The run dispatches the best."""
    path = make_network(
        tied_merchant(),
        4,
        price=[10_000.0, 10_000.0, 30_000.0, 20_000.0],
        it=[11.0, 8.0, 8.0, 8.0],
    )
    result = run(path, "merchant")
    assert result.ok, result.solution.message
    assert result.verification.max_violation <= TOL
    attrs, alpha = result.results.attrs, 2190.0
    assert attrs["merchant_objective_jpy"] == pytest.approx(-39_800 * alpha, rel=1e-9)
    assert attrs["merchant_system_cost_best_jpy"] == pytest.approx(1_540_200 * alpha, rel=1e-8)
    assert attrs["merchant_system_cost_worst_jpy"] == pytest.approx(3_520_200 * alpha, rel=1e-8)
    assert result.kpis["merchant_system_cost_best_jpy"] == attrs["merchant_system_cost_best_jpy"]
    assert result.kpis["merchant_system_cost_worst_jpy"] == attrs["merchant_system_cost_worst_jpy"]
    assert result.kpis["total_cost_jpy"] == pytest.approx(1_540_200 * alpha, rel=1e-8)
    charge = result.results["battery_charge_mw"].sel(battery="bess").values
    np.testing.assert_allclose(charge[:2], [0.0, 2.0], atol=TOL)
    np.testing.assert_allclose(result.results["dc_shed_it_mw"].sel(dc="dc"), [1, 0, 0, 0], atol=TOL)


def test_merchant_without_a_tie_has_one_point(make_network):
    """With the price at step 1 raised to 11 000, buying both MWh at step 0 is the owner's only
    optimum: best = worst (a = 2 above). The owners' optimum is held to within 10^-9 of itself,
    which the system's best uses (a shift of ε MWh costs the owner 1 000 ε, saves the system
    ~10^6 ε): hence 10^-7, not 10^-9."""
    path = make_network(
        tied_merchant(),
        4,
        price=[10_000.0, 11_000.0, 30_000.0, 20_000.0],
        it=[11.0, 8.0, 8.0, 8.0],
    )
    attrs = run(path, "merchant").results.attrs
    # the owner buys 2 MW at step 0: shed 3 MW; imports 10, 8, 6, 8
    expected = 3e6 + 10_000 * 10 + 11_000 * 8 + 30_000 * 6 + 20_000 * 8 + 200
    assert attrs["merchant_system_cost_best_jpy"] == pytest.approx(expected * 2190, rel=1e-7)
    assert attrs["merchant_system_cost_worst_jpy"] == pytest.approx(expected * 2190, rel=1e-7)


def test_merchant_tie_that_the_system_cannot_take(make_network):
    """The battery alone behind its 1 MW reverse-flow limit, now with 5 MW of load at the slack
    to take what it sells; prices 10 000, 30 000, 30 000, 10 000. The owner buys 2 MWh at step 0
    and sells 2 MWh over steps 1–2 in any split: every split earns 40 000 α. Selling 1 + 1 fits
    the limit: imports 7, 4, 4, 5 MW, system cost (70 000 + 120 000 + 120 000 + 50 000) α. A split
    with more than 1 MW in an hour is price-optimal too and infeasible for the system, so the
    worst is infinite (HiGHS's own schedule sells 2 MW at step 1)."""
    case = merchant_alone()
    case["nodes"][0]["base_load_mw"] = 5.0
    path = make_network(case, 4, price=[10_000.0, 30_000.0, 30_000.0, 10_000.0])
    result = run(path, "merchant")
    assert result.ok, result.solution.message
    np.testing.assert_allclose(
        result.results["battery_discharge_mw"].sel(battery="bess"), [0, 1, 1, 0], atol=TOL
    )
    assert result.kpis["merchant_system_cost_best_jpy"] == pytest.approx(360_000 * 2190, rel=1e-7)
    assert result.kpis["merchant_system_cost_worst_jpy"] == float("inf")
    assert (
        result.results.attrs["merchant_tie_ascent_end"] == "a price-optimal schedule is infeasible"
    )
