"""Prices in the network, solved by hand: nodal prices and branch shadow prices (L1–L3) on a 2- and
a 3-node case in both flow models, congestion rent (L4), a size bound's value, the duals of a MIP
from its LP with the binaries fixed, PyPSA's nodal prices, and the contract that aligns a merchant
battery (wattbit.network.align).

Nodal prices are JPY/MWh; a case of S hourly steps is annualised by α = 8760 / S.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import hourly_index, write_series
from test_network import (
    PEAK,
    PRICE,
    far_battery,
    line,
    meshed_case,
    network_toml,
    pypsa_solved,
    slack,
    solved,
    triangle,
)
from typer.testing import CliRunner

from wattbit.cli import app
from wattbit.errors import CaseError
from wattbit.network.align import align
from wattbit.network.case import load_network_case
from wattbit.network.inputs import build_network_inputs
from wattbit.network.model import network_data
from wattbit.network.run import solve_network
from wattbit.solve import FIXED_DUALS, LP_DUALS, SolverOptions

TOL = 1e-6
FLOW_MODELS = ("kvl", "ptdf")


@pytest.fixture
def make_network(tmp_path: Path):
    def make(case: dict[str, Any], steps: int, **columns: Any) -> Path:
        write_series(tmp_path / "series.csv", hourly_index(steps, "2025-05-01"), **columns)
        path = tmp_path / "case.toml"
        path.write_text(network_toml({"name": "test", "series": ["series.csv"], **case}))
        return path

    return make


def prices(run) -> np.ndarray:
    return run.results["node_price_jpy_per_mwh"].values


def shadow(run) -> np.ndarray:
    return run.results["branch_shadow_price_jpy_per_mwh"].values


def two_nodes(flow_model: str) -> dict[str, Any]:
    """Supply at a (10 000 JPY/MWh) and at b (30 000 JPY/MWh), 30 MW load at b, line a→b 20 MW."""
    return {
        "horizon": {"steps": 3},
        "network": {"flow_model": flow_model},
        "nodes": [slack("a", 10_000.0), slack("b", 30_000.0) | {"base_load_mw": 30.0}],
        "branches": [line("ab", "a", "b", 20.0)],
    }


@pytest.mark.parametrize("flow_model", FLOW_MODELS)
def test_two_nodes_price_difference_is_the_line_shadow_price(make_network, flow_model):
    """a serves 20 MW (the line's limit), b the other 10 MW. One more MWh at a comes from a:
    λ_a = 10 000; at b from b: λ_b = 30 000. One more MW on the line replaces b's supply by a's:
    μ = 20 000, and with Φ_{ab,b} = −1 (inject at b, withdraw at a: −1 on a→b),
    λ_b − λ_a = −Φ μ = 20 000 (L3). Rent (L4): μ · 20 MW · 3 h · α (α = 8760/3)."""
    run = solved(make_network(two_nodes(flow_model), 3))
    np.testing.assert_allclose(prices(run), [[10_000.0] * 3, [30_000.0] * 3], atol=TOL)
    np.testing.assert_allclose(shadow(run), [[20_000.0] * 3], atol=TOL)
    assert network_data(run.results).ptdf()[0, 1] == pytest.approx(-1.0)
    assert run.kpis["branch_ab_congestion_rent_jpy"] == pytest.approx(20_000 * 20 * 8760, rel=1e-9)
    assert run.kpis["branch_ab_congested_hours_h"] == 3.0
    assert run.results.attrs["duals_source"] == LP_DUALS


@pytest.mark.parametrize("flow_model", FLOW_MODELS)
def test_triangle_prices_by_hand(make_network, flow_model):
    """The triangle of test_network (g1 = 24, g2 = 6, line 1–3 at its 18 MW). One more MWh at
    n3, with f13 = (2 g1 + g2)/3 held: Δg1 + Δg2 = 1, 2 Δg1 + Δg2 = 0, so Δg1 = −1, Δg2 = 2 and
    λ3 = −10 000 + 60 000 = 50 000. One more MW on line 1–3: 2 Δg1 + Δg2 = 3, Δg1 + Δg2 = 0, so
    3 MW move from n2 to n1: μ13 = 3 · 20 000 = 60 000. L3 with Φ_{13,n2} = −1/3 and
    Φ_{13,n3} = −2/3: λ2 = 10 000 + 60 000/3, λ3 = 10 000 + 2 · 60 000/3. The rent μ13 · 18 MW
    equals the merchandising surplus 50 000 · 30 − 10 000 · 24 − 30 000 · 6 = 1 080 000 per hour."""
    run = solved(make_network(triangle(flow_model), 2))
    np.testing.assert_allclose(prices(run), [[10_000.0] * 2, [30_000.0] * 2, [50_000.0] * 2])
    np.testing.assert_allclose(shadow(run), [[0.0] * 2, [0.0] * 2, [60_000.0] * 2], atol=TOL)
    phi = network_data(run.results).ptdf()
    assert phi[2, 1] == pytest.approx(-1 / 3) and phi[2, 2] == pytest.approx(-2 / 3)
    differences = prices(run) - prices(run)[0]
    np.testing.assert_allclose(differences, -phi.T @ shadow(run), atol=TOL)
    assert run.kpis["congestion_rent_jpy"] == pytest.approx(1_080_000 * 8760, rel=1e-9)
    assert run.kpis["branch_l13_congested_hours_h"] == 2.0
    assert run.kpis["branch_l12_congested_hours_h"] == 0.0


def test_far_battery_value_at_nodal_prices(make_network):
    """A 1 MW / 2 MWh battery at the far node f (test_network.far_battery): the DC's 2 MW excess
    over the 10 MW line in hours 0–1 is half met by the battery, half shed at 1e6 JPY/MWh, so
    λ_f = 1e6 then; in hours 2–3 the line has room and λ_f = the slack's 30 000. The battery
    discharges 1 MW in 0–1 and recharges 1 MW in 2–3: at nodal prices it earns
    α (2 · 1e6 − 2 · 30 000) (α = 2190); all of it but the slack's own spread
    (2 · 10 000 − 2 · 30 000) is congestion value: α (2 · 990 000)."""
    run = solved(make_network(far_battery(1.0, 2.0), 4, it=PEAK, price=PRICE))
    np.testing.assert_allclose(
        run.results["node_price_jpy_per_mwh"].sel(node="f"), [1e6, 1e6, 30_000, 30_000]
    )
    np.testing.assert_allclose(run.results["battery_discharge_mw"].values[0], [1, 1, 0, 0])
    value = run.kpis["battery_bess_value_at_nodal_prices_jpy"]
    assert value == pytest.approx(2190 * (2e6 - 60_000), rel=1e-9)
    assert run.kpis["battery_bess_congestion_value_jpy"] == pytest.approx(2190 * 1.98e6, rel=1e-9)
    totals = [run.kpis[f"account_{a}_at_nodal_prices_jpy"] for a in ("bess_co", "dc", "network")]
    assert sum(totals) == pytest.approx(run.kpis["total_cost_jpy"], rel=1e-12)
    surplus = -2190 * float((prices(run) * run.results["node_net_injection_mw"].values).sum())
    rents = run.kpis["congestion_rent_jpy"] + run.kpis["reverse_flow_rent_jpy"]
    assert surplus == pytest.approx(rents, rel=1e-9)  # (L5)


def test_size_bound_value_is_the_cost_slope(make_network):
    """The battery's power is capped at 1 MW (energy free up to 100 MWh, token capex): its bound's
    value (reduced cost, JPY/yr per MW) is the slope of the optimum in the bound, checked against
    the optimum with the cap raised by 0.1 MW (the LP's optimum is linear on that interval)."""

    def run_with(cap: float):
        case = far_battery(
            {"max": cap}, {"max": 100.0}, power_capex_jpy_per_kw=1.0, energy_capex_jpy_per_kwh=1.0
        )
        return solved(make_network(case, 4, it=PEAK, price=PRICE))

    low, high = run_with(1.0), run_with(1.1)
    value = float(low.results["battery_power_mw_bound_value_jpy"].sel(battery="bess"))
    assert value < 0  # binding upper bound: more power saves
    slope = (high.kpis["total_cost_jpy"] - low.kpis["total_cost_jpy"]) / 0.1
    assert value == pytest.approx(slope, rel=1e-7)


def test_mip_prices_come_from_the_lp_with_binaries_fixed(make_network):
    """With an exclusivity binary at every step the run is a MIP; its prices are those of the LP
    with the binaries fixed, said so in attrs — here the same as the LP's (no binary binds)."""
    path = make_network(far_battery(1.0, 2.0), 4, it=PEAK, price=PRICE)
    lp = solved(path)
    mip = solved(path, **{"batteries.bess.exclusive": "always"})
    assert mip.results.attrs["battery_exclusivity_binaries"] == 4
    assert mip.results.attrs["duals_source"] == FIXED_DUALS
    np.testing.assert_allclose(prices(mip), prices(lp), atol=TOL)


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")
def test_meshed_prices_equal_pypsa(make_network):
    """PyPSA's marginal prices (duals of its nodal balances over the objective weighting α Δt) on
    the meshed cross-check network of test_network equal ours in both flow models."""
    pytest.importorskip("pypsa")
    hours = np.arange(24)
    path = make_network(
        meshed_case(),
        24,
        p1=10_000 + 8_000 * np.sin(hours / 24 * 2 * np.pi),
        p2=14_000 - 3_000 * np.cos(hours / 24 * 2 * np.pi),
        load3=35 + 10 * np.sin((hours - 14) / 24 * 2 * np.pi),
        load4=25 + 8 * np.cos((hours - 19) / 24 * 2 * np.pi),
        sun=np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None),
    )
    n = pypsa_solved(build_network_inputs(load_network_case(path)))
    expected = n.buses_t.marginal_price.T.values
    for flow_model in FLOW_MODELS:
        loaded = load_network_case(path, {"network.flow_model": flow_model})
        run = solve_network(build_network_inputs(loaded), "system", SolverOptions())
        assert run.kpis["congested_hours_by_price_h"] > 0
        np.testing.assert_allclose(prices(run), expected, rtol=1e-6, atol=1e-6)


def test_nodal_price_signal_makes_the_merchant_reproduce_the_optimum(make_network):
    """Merchant at flat prices, the 1 MW / 2 MWh battery buys in the cheap hours 0–1, which are
    the DC's peak: the DC sheds more. Settled instead at the system optimum's nodal prices
    (1e6, 1e6, 30 000, 30 000 at f), its best response — blind to the network — is the system
    optimum itself: discharge 1 MW in hours 0–1, recharge in 2–3 (with 1 MW and 2 MWh to restore
    in two hours, the only schedule). The price-signal payment is α Σ (λ − p)(discharge − charge)
    = 2190 · 2 · (1e6 − 10 000); the owner earns far more than as a merchant, so no availability
    payment is needed. Every settlement sums to the system's total cost."""
    path = make_network(far_battery(1.0, 2.0), 4, it=PEAK, price=PRICE)
    system, merchant = solved(path, "system"), solved(path, "merchant")
    assert merchant.kpis["total_cost_jpy"] > system.kpis["total_cost_jpy"] + 1e6
    result = align(system.results, SolverOptions())
    assert result.owner_cost_merchant_jpy == pytest.approx(
        merchant.results.attrs["merchant_objective_jpy"], rel=1e-9
    )
    for response in (result.price_only, result.contract):
        assert response.max_deviation_mw <= TOL
        assert result.reproduces_optimum(response)
        assert response.system_cost_jpy == pytest.approx(system.kpis["total_cost_jpy"], rel=1e-9)
    assert result.price_signal_payment_jpy["bess"] == pytest.approx(2190 * 2 * 990_000, rel=1e-9)
    assert result.availability_payment_jpy == 0.0
    assert result.owner_cost_contract_jpy < result.owner_cost_merchant_jpy
    totals = result.accounts["account_total_jpy"].sum("account").values
    np.testing.assert_allclose(totals, system.kpis["total_cost_jpy"], rtol=1e-12)
    contract = result.accounts["account_total_jpy"].sel(settlement="contract")
    flat = result.accounts["account_total_jpy"].sel(settlement="flat")
    assert float(flat.sel(account="bess_co") - contract.sel(account="bess_co")) == pytest.approx(
        2190 * 2 * 990_000, rel=1e-9
    )


def test_deviation_charge_breaks_the_owners_ties(make_network):
    """The 2 MW / 4 MWh battery of test_network relieves the 2 MW overload in full, so nothing is
    shed and λ_f = 30 000 in every hour (test_far_battery shows the slack's prices): at nodal
    prices, with no losses and no wear, every schedule earns the owner the same — idle included.
    The price alone makes x* one best response among many (owner's cost equal); with the 1 JPY/MWh
    deviation charge x* is the only one, and imposed it costs the system its optimum exactly."""
    path = make_network(far_battery(2.0, 4.0), 4, it=PEAK, price=PRICE)
    system = solved(path, "system")
    np.testing.assert_allclose(
        system.results["node_price_jpy_per_mwh"].sel(node="f"), 30_000.0, atol=TOL
    )
    result = align(system.results, SolverOptions())
    assert result.price_only.owner_cost_jpy == pytest.approx(
        result.contract.owner_cost_jpy, rel=1e-12
    )
    assert result.contract.max_deviation_mw <= TOL
    assert result.reproduces_optimum(result.contract)
    assert result.price_only.system_cost_jpy >= result.system_cost_jpy * (1 - 1e-12)


def test_cli_align_prints_and_writes_the_contract(make_network, tmp_path):
    """``wattbit network --align`` on the case of the nodal-price-signal test: the same terms
    (payment 2190 · 2 · 990 000 JPY/yr, no availability payment, the contract's response
    reproduces the optimum) in alignment.json, and the accounts per settlement in alignment.csv,
    each column summing to the system's total cost."""
    path = make_network(far_battery(1.0, 2.0), 4, it=PEAK, price=PRICE)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["network", str(path), "--align", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "contract aligning bess" in result.output and "accounts" in result.output
    terms = json.loads((out / "alignment.json").read_text())["terms"]
    assert terms["price_signal_payment_bess_jpy"] == pytest.approx(2190 * 2 * 990_000, rel=1e-9)
    assert terms["availability_payment_jpy"] == 0.0
    assert terms["contract_reproduces_optimum"] == 1.0
    accounts = pd.read_csv(out / "alignment.csv", index_col="account")
    assert list(accounts.columns) == ["flat", "nodal", "contract"]
    total = json.loads((out / "kpis.json").read_text())["kpis"]["total_cost_jpy"]
    np.testing.assert_allclose(accounts.sum().values, total, rtol=1e-12)


def test_cli_align_through_format_csv_and_json(make_network, tmp_path):
    """``wattbit network --align --format json|csv``: stdout holds the run's KPIs, the contract's
    terms and the accounts per settlement as parseable tables, equal to alignment.json/.csv."""
    path = make_network(far_battery(1.0, 2.0), 4, it=PEAK, price=PRICE)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["network", str(path), "--align", "--format", "json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert set(shown) == {"kpis", "alignment_terms", "alignment_accounts", "notes"}
    terms = json.loads((out / "alignment.json").read_text())["terms"]
    assert {r["kpi"]: r["value"] for r in shown["alignment_terms"]} == pytest.approx(terms)
    accounts = pd.read_csv(out / "alignment.csv", index_col="account")
    frame = pd.DataFrame(shown["alignment_accounts"]).set_index("account")
    pd.testing.assert_frame_equal(frame, accounts, check_dtype=False, rtol=1e-12)
    result = CliRunner().invoke(app, ["network", str(path), "--align", "--format", "csv"])
    assert result.exit_code == 0, result.output
    blocks = {}
    for block in result.stdout.strip().split("\n\n"):
        name, *lines = block.splitlines()
        blocks[name.removeprefix("# ")] = pd.read_csv(io.StringIO("\n".join(lines)))
    assert list(blocks) == ["kpis", "alignment_terms", "alignment_accounts"]
    csv_accounts = blocks["alignment_accounts"].set_index("account")
    pd.testing.assert_frame_equal(csv_accounts, accounts, check_dtype=False, rtol=1e-9)
    csv_terms = blocks["alignment_terms"].set_index("kpi")["value"].to_dict()
    assert csv_terms == pytest.approx(terms, rel=1e-9)


def test_cli_align_needs_system_mode(make_network):
    path = make_network(far_battery(1.0, 2.0), 4, it=PEAK, price=PRICE)
    result = CliRunner().invoke(app, ["network", str(path), "--mode", "merchant", "--align"])
    assert result.exit_code == 2, result.output
    assert "--align" in result.stderr and "Traceback" not in result.output


def secure_triangle(flow_model: str, outages: list[str]) -> dict[str, Any]:
    """n1 supplies at 10 000 JPY/MWh; n3 takes 3 MW and supplies at 30 000; equal reactances;
    limits l12 10, l23 1.5, l13 1.6 MW; the listed outages must be survived (N9)."""
    return {
        "horizon": {"steps": 2},
        "network": {"flow_model": flow_model, "contingencies": outages},
        "nodes": [
            slack("n1", 10_000.0),
            {"name": "n2"},
            slack("n3", 30_000.0) | {"base_load_mw": 3.0},
        ],
        "branches": [
            line("l12", "n1", "n2", 10.0),
            line("l23", "n2", "n3", 1.5),
            line("l13", "n1", "n3", 1.6),
        ],
    }


@pytest.mark.parametrize("flow_model", FLOW_MODELS)
def test_n1_security_prices_by_hand(make_network, flow_model):
    """With l13's outage to survive, n1 sends n3 at most 1.5 MW (after the outage all of it
    crosses l23; tests/test_components/test_network.py derives the factors), n3 makes up 1.5.
    Prices: λ1 = 10 000, λ3 = 30 000; one more MWh at n2 comes from n1 and changes nothing on
    l23 after the outage, so λ2 = 10 000. One more MW of l23's limit after the outage moves 1 MW
    from n3's supply to n1's: its N-1 shadow price is 20 000. The rent, 20 000 · 1.5 MW per hour,
    is the merchandising surplus 30 000 · 3 − 10 000 · 1.5 − 30 000 · 1.5. The verifier recomputes
    the flows after the outage from voltage angles (N9 check)."""
    run = solved(make_network(secure_triangle(flow_model, ["l13"]), 2))
    supply = run.results["node_upstream_import_mw"]
    np.testing.assert_allclose(supply.sel(node="n1"), 1.5, atol=TOL)
    np.testing.assert_allclose(prices(run), [[10_000.0] * 2, [10_000.0] * 2, [30_000.0] * 2])
    n1 = run.results["branch_n1_shadow_price_jpy_per_mwh"]
    np.testing.assert_allclose(n1.sel(branch="l23", contingency="l13"), 20_000.0, atol=TOL)
    np.testing.assert_allclose(shadow(run), 0.0, atol=TOL)  # no limit binds before the outage
    assert run.kpis["congestion_rent_jpy"] == pytest.approx(30_000 * 8760, rel=1e-9)
    assert run.kpis["n1_binding_hours_h"] == run.kpis["congested_hours_by_price_h"] == 2.0
    assert run.kpis["branch_l23_congested_hours_h"] == 2.0
    assert run.verification.violations["N9 flow after each listed outage ≤ limit"] <= TOL


@pytest.mark.parametrize(
    ("outages", "message"),
    [(["l99"], "unknown branch 'l99'"), (["k"], "is a link"), (["ln"], "splits the grid")],
)
def test_n1_contingencies_must_be_lines_whose_loss_leaves_a_path(make_network, outages, message):
    case = secure_triangle("kvl", outages)
    case["nodes"].append({"name": "n4"})
    case["branches"] += [
        {"name": "k", "from_node": "n2", "to_node": "n4", "kind": "link", "limit_mw": 1.0},
        line("ln", "n3", "n4", 1.0),
    ]
    with pytest.raises(CaseError, match=message) as raised:
        load_network_case(make_network(case, 2))
    assert "network.contingencies[0]" in str(raised.value)


def test_reverse_flow_rent_closes_the_merchandising_surplus(make_network):
    """A node that may feed back at most 5 MW holds 12 MW of free generation (slack price 10 000
    JPY/MWh, no load anywhere else but 20 MW at the slack): it feeds back 5 MW, so one more MWh
    consumed there is worth nothing (λ = 0: it would use spilled generation) and one more MW of
    its reverse-flow limit saves 10 000 (ρ = 10 000). The network collects −Σ λ p = 10 000 · 5 per
    hour, all of it reverse-flow rent (L5): no branch binds."""
    case = {
        "horizon": {"steps": 2},
        "nodes": [
            slack("s", 10_000.0) | {"base_load_mw": 20.0},
            {"name": "g", "reverse_flow_limit_mw": 5.0},
        ],
        "branches": [line("sg", "s", "g", 50.0)],
        "pv": [{"name": "pv", "node": "g", "capacity_mw": 12.0, "availability": 1.0}],
    }
    run = solved(make_network(case, 2))
    np.testing.assert_allclose(prices(run), [[10_000.0] * 2, [0.0] * 2], atol=TOL)
    reverse = run.results["node_reverse_flow_shadow_price_jpy_per_mwh"].sel(node="g")
    np.testing.assert_allclose(reverse, 10_000.0, atol=TOL)
    assert run.kpis["congestion_rent_jpy"] == pytest.approx(0.0, abs=1e-3)
    assert run.kpis["reverse_flow_rent_jpy"] == pytest.approx(10_000 * 5 * 8760, rel=1e-9)
