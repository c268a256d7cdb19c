"""Network cases solved by hand: the triangle's PTDF and congested optimum, a battery at the far
node, the EV departure minimum, geographic workload shift; PyPSA cross-check; bad input via CLI.

Every solved case passes the independent network verifier (max violation ≤ 1e-6).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import hourly_index, toml_value, write_series
from typer.testing import CliRunner

from wattbit.cli import app
from wattbit.formulations.network import BranchData, NetworkData, NodeData
from wattbit.network.case import load_network_case
from wattbit.network.inputs import build_network_inputs
from wattbit.network.model import network_data
from wattbit.network.run import NetworkRun, solve_network, solve_network_case
from wattbit.network.verify import verify_network
from wattbit.solve import SolverOptions

TOL = 1e-6
REPO = Path(__file__).resolve().parent.parent
TOWN = REPO / "cases" / "town" / "case.toml"


def network_toml(case: dict[str, Any]) -> str:
    """TOML of a case dict: scalars, then tables (dicts), then arrays of tables (lists of dicts)."""
    tables = [k for k, v in case.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
    lines = [
        f"{k} = {toml_value(v)}"
        for k, v in case.items()
        if not isinstance(v, dict) and k not in tables
    ]
    for name, body in case.items():
        if isinstance(body, dict):
            lines.append(f"\n[{name}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in body.items()]
    for name in tables:
        for entry in case[name]:
            lines.append(f"\n[[{name}]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


@pytest.fixture
def make_network(tmp_path: Path):
    def make(case: dict[str, Any], steps: int, start: str = "2025-05-01", **columns: Any) -> Path:
        write_series(tmp_path / "series.csv", hourly_index(steps, start), **columns)
        path = tmp_path / "case.toml"
        path.write_text(network_toml({"name": "test", "series": ["series.csv"], **case}))
        return path

    return make


def solved(path: Path, mode: str = "system", **overrides: Any) -> NetworkRun:
    """Solve and assert that the verifier passes (every solved network case in the suite)."""
    run = solve_network_case(load_network_case(path, overrides or None), mode)
    assert run.ok, run.solution.message
    assert run.verification.max_violation <= TOL, run.verification.violations
    return run


def flows(run: NetworkRun, branch: str) -> np.ndarray:
    return run.results["branch_flow_mw"].sel(branch=branch).values


def slack(name: str, price: Any, limit: float = 100.0, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "slack": True,
        "import_limit_mw": limit,
        "import_price_jpy_per_mwh": price,
        **extra,
    }


def line(name: str, a: str, b: str, limit: Any, x: float = 1.0) -> dict[str, Any]:
    return {"name": name, "from_node": a, "to_node": b, "reactance": x, "limit_mw": limit}


# --------------------------------------------------------------------------- triangle

TRIANGLE_PTDF = np.array(  # branches 12, 23, 13 × nodes 1, 2, 3; reference node 1
    [[0.0, -2 / 3, -1 / 3], [0.0, 1 / 3, -1 / 3], [0.0, -1 / 3, -2 / 3]]
)


def triangle(flow_model: str) -> dict[str, Any]:
    """Nodes 1 and 2 supply at 10 000 and 30 000 JPY/MWh, node 3 takes 30 MW; equal reactances;
    line 1–3 is limited to 18 MW, the others are ample."""
    return {
        "horizon": {"steps": 2},
        "network": {"flow_model": flow_model},
        "nodes": [
            slack("n1", 10_000.0),
            slack("n2", 30_000.0),
            {"name": "n3", "base_load_mw": 30.0},
        ],
        "branches": [
            line("l12", "n1", "n2", 100.0),
            line("l23", "n2", "n3", 100.0),
            line("l13", "n1", "n3", 18.0),
        ],
    }


def test_triangle_ptdf_is_the_textbook_one(make_network):
    ds = build_network_inputs(load_network_case(make_network(triangle("ptdf"), 2)))
    np.testing.assert_allclose(network_data(ds).ptdf(), TRIANGLE_PTDF, atol=1e-12)


@pytest.mark.parametrize("flow_model", ["kvl", "ptdf"])
def test_triangle_congested_optimum_by_hand(make_network, flow_model):
    """With the PTDF, f13 = (2 g1 + g2)/3, f23 = (g1 + 2 g2)/3, f12 = (g1 − g2)/3 and g1 + g2 = 30.
    All from the cheap node 1 would put 20 MW on line 1–3; its 18 MW limit gives 2 g1 + g2 = 54:
    g1 = 24, g2 = 6, flows 6, 12, 18; cost 8760 · (24 · 10 000 + 6 · 30 000) a year."""
    run = solved(make_network(triangle(flow_model), 2))
    supply = run.results["node_upstream_import_mw"]
    np.testing.assert_allclose(supply.sel(node="n1"), 24.0, atol=TOL)
    np.testing.assert_allclose(supply.sel(node="n2"), 6.0, atol=TOL)
    for branch, expected in (("l12", 6.0), ("l23", 12.0), ("l13", 18.0)):
        np.testing.assert_allclose(flows(run, branch), expected, atol=TOL)
    assert run.kpis["total_cost_jpy"] == pytest.approx(8760 * 420_000, rel=1e-9)
    assert run.kpis["branch_l13_hours_at_limit_h"] == 2.0


def test_cycle_basis_and_islands():
    """A triangle of lines with a link hanging off: one closed cycle, the link in none, and the
    link's far node an island of its own."""
    nodes = tuple(NodeData(n, np.zeros(1)) for n in ("a", "b", "c", "d"))
    branches = (
        BranchData("ab", "a", "b", np.ones(1), 1.0),
        BranchData("bc", "b", "c", np.ones(1), 2.0),
        BranchData("ca", "c", "a", np.ones(1), 3.0),
        BranchData("cd", "c", "d", np.ones(1), None),
    )
    net = NetworkData(nodes, branches)
    (cycle,) = net.cycles()
    K = net.incidence()
    signed = np.zeros(4)
    for j, s in cycle:
        signed[j] = s
    np.testing.assert_allclose(K @ signed, 0.0)  # a closed loop
    assert signed[3] == 0.0  # a link is in no cycle
    assert net.islands() == [[0, 1, 2], [3]]


# --------------------------------------------------------------------------- shared battery

PEAK = [12.0, 12.0, 6.0, 6.0]
PRICE = [10_000.0, 10_000.0, 30_000.0, 30_000.0]


def far_battery(power_mw: Any, energy_mwh: Any, **battery: Any) -> dict[str, Any]:
    """Slack s — line (50 MW) — b — line (10 MW) — far node f, where a DC draws 12 MW for two
    hours and 6 MW for two; a shared battery sits at f. Prices are low in the DC's peak."""
    return {
        "horizon": {"steps": 4},
        "nodes": [slack("s", "price"), {"name": "b"}, {"name": "f"}],
        "branches": [line("sb", "s", "b", 50.0), line("bf", "b", "f", 10.0)],
        "dcs": [
            {"name": "dc", "node": "f", "it_mw": "it", "value_of_lost_compute_jpy_per_mwh": 1e6}
        ],
        "batteries": [
            {
                "name": "bess",
                "node": "f",
                "owner": "bess_co",
                "power_mw": power_mw,
                "energy_mwh": energy_mwh,
                "charge_efficiency": 1.0,
                "discharge_efficiency": 1.0,
                **battery,
            }
        ],
        "owners": [
            {"name": "bess_co", "energy_price_jpy_per_mwh": "price"},
            {"name": "dc", "energy_price_jpy_per_mwh": "price"},
        ],
    }


def test_far_battery_is_sized_to_exactly_the_congestion(make_network):
    """2 MW above the 10 MW line for 2 h: with a token capex the battery is 2 MW / 4 MWh."""
    case = far_battery(
        {"max": 100.0},
        {"max": 100.0},
        power_capex_jpy_per_kw=1.0,
        energy_capex_jpy_per_kwh=1.0,
    )
    run = solved(make_network(case, 4, it=PEAK, price=PRICE))
    assert run.kpis["battery_discharge_mwh"] == pytest.approx(4.0, abs=TOL)
    assert float(run.results["battery_power_mw"].sel(battery="bess")) == pytest.approx(2.0, abs=TOL)
    assert float(run.results["battery_energy_mwh"].sel(battery="bess")) == pytest.approx(
        4.0, abs=TOL
    )
    assert run.kpis["dc_it_curtailed_mwh"] == pytest.approx(0.0, abs=TOL)
    np.testing.assert_allclose(flows(run, "bf")[:2], 10.0, atol=TOL)


def test_merchant_battery_congests_what_the_system_battery_relieves(make_network):
    """A fixed 2 MW / 4 MWh battery. System-optimal, it discharges 2 MW in the DC's peak: nothing
    is shed. Merchant, it buys in the cheap hours, which are the peak: 12 + 2 MW on a 10 MW line,
    so the DC sheds 4 MW for two hours (8 MWh), while the battery earns 2 · 2 · 20 000 JPY."""
    path = make_network(far_battery(2.0, 4.0), 4, it=PEAK, price=PRICE)
    system, merchant = solved(path, "system"), solved(path, "merchant")
    assert system.kpis["dc_it_curtailed_mwh"] == pytest.approx(0.0, abs=TOL)
    assert merchant.kpis["dc_it_curtailed_mwh"] == pytest.approx(8.0, abs=TOL)
    np.testing.assert_allclose(
        merchant.results["battery_charge_mw"].values[0], [2, 2, 0, 0], atol=TOL
    )
    assert merchant.results.attrs["merchant_objective_jpy"] == pytest.approx(
        -2190 * 2 * 2 * 20_000, rel=1e-9
    )
    for run in (system, merchant):
        np.testing.assert_allclose(
            flows(run, "bf"), [10, 10, 4, 4] if run is merchant else [10, 10, 8, 8], atol=TOL
        )
    accounts = merchant.results["account_total_jpy"]
    assert float(accounts.sum()) == pytest.approx(merchant.kpis["total_cost_jpy"], rel=1e-12)


def test_contract_reserves_part_of_the_battery_for_the_dc(make_network):
    """The DC reserves 1 MW / 2 MWh of the merchant battery: in merchant mode that part serves
    the peak (the DC sheds 1 MW less per peak hour) and the fee moves between the owners."""
    case = far_battery(2.0, 4.0)
    case["contracts"] = [
        {
            "name": "reserve",
            "battery": "bess",
            "dc": "dc",
            "reserved_power_mw": 1.0,
            "reserved_energy_mwh": 2.0,
            "fee_jpy_per_kw_year": 5_000.0,
        }
    ]
    run = solved(make_network(case, 4, it=PEAK, price=PRICE), "merchant")
    # merchant part 1 MW charges in the peak (+1), reserved part discharges 1 MW: net 0 at f
    assert run.kpis["dc_it_curtailed_mwh"] == pytest.approx(4.0, abs=TOL)
    fees = run.results["account_contract_fees_jpy"]
    assert float(fees.sel(account="dc")) == pytest.approx(5e6)
    assert float(fees.sel(account="bess_co")) == pytest.approx(-5e6)


# --------------------------------------------------------------------------- EV fleet


@pytest.mark.parametrize("departure_kwh", [40.0, 45.0])
def test_ev_fleet_energy_at_departure_is_exactly_the_minimum(make_network, departure_kwh):
    """10 vehicles × 50 kWh (0.5 MWh pool), 20 kW chargers, lossless V2G; plugged in except 08–18,
    0.3 MWh of driving then. Price 10 000, except 50 000 in the hour before the 08:00 departure:
    the fleet fills up (0.5 MWh) and sells down to exactly the departure minimum."""
    steps = 24
    hour = hourly_index(steps).hour
    case = {
        "horizon": {"steps": steps},
        "nodes": [slack("s", "price"), {"name": "depot", "base_load_mw": 1.0}],
        "branches": [line("sd", "s", "depot", 10.0)],
        "ev_fleets": [
            {
                "name": "buses",
                "node": "depot",
                "vehicles": 10,
                "battery_kwh": 50.0,
                "charger_kw": 20.0,
                "plugged_in": "plugged",
                "driving_mw": "drive",
                "departure_hours": [8],
                "departure_energy_kwh": departure_kwh,
                "charge_efficiency": 1.0,
                "v2g": True,
                "v2g_efficiency": 1.0,
            }
        ],
    }
    away = (hour >= 8) & (hour < 18)
    path = make_network(
        case,
        steps,
        plugged=np.where(away, 0.0, 1.0),
        drive=np.where(away, 0.03, 0.0),
        price=np.where(hour == 7, 50_000.0, 10_000.0),
    )
    run = solved(path)
    soc = run.results["ev_soc_mwh"].values[0]
    need = departure_kwh * 10 / 1000
    assert soc[7] == pytest.approx(need, abs=TOL)  # the step 07–08 ends at the departure
    assert soc[6] == pytest.approx(0.5, abs=TOL)
    departure = run.results["ev_departure"].values[0] > 0
    assert departure.sum() == 1 and departure[7]
    assert soc[departure].min() >= need - 1e-9
    v2g = run.results["ev_v2g_mw"].values[0] - run.results["ev_charge_mw"].values[0]
    assert v2g[7] == pytest.approx(0.5 - need, abs=TOL)


# --------------------------------------------------------------------------- workload shift


def two_campuses(link_mw: float) -> dict[str, Any]:
    """Campus a (8 MW IT) sits behind a 5 MW line; campus b (2 MW IT, 20 MW capacity) has room.
    All of a's work may migrate over a 10 km link of ``link_mw``; campus c is 80 km away,
    beyond the 50 km latency limit. Migrated work costs 10 % more energy at b."""
    dc = {"pue": 1.0, "value_of_lost_compute_jpy_per_mwh": 1e6}
    return {
        "horizon": {"steps": 3},
        "nodes": [slack("s", 10_000.0), {"name": "a"}, {"name": "b"}, {"name": "c"}],
        "branches": [
            line("sa", "s", "a", 5.0),
            line("sb", "s", "b", 50.0),
            line("sc", "s", "c", 50.0),
        ],
        "dcs": [
            {"name": "dc_a", "node": "a", "it_mw": 8.0, "migratable_share": 1.0, **dc},
            {"name": "dc_b", "node": "b", "it_mw": 2.0, "it_capacity_mw": 20.0, **dc},
            {"name": "dc_c", "node": "c", "it_mw": 2.0, "it_capacity_mw": 20.0, **dc},
        ],
        "links": [
            {
                "name": "ab",
                "dcs": ["dc_a", "dc_b"],
                "capacity_mw": link_mw,
                "distance_km": 10.0,
                "overhead_fraction": 0.1,
                "cost_jpy_per_mwh": 1_000.0,
            },
            {"name": "ac", "dcs": ["dc_a", "dc_c"], "capacity_mw": 10.0, "distance_km": 80.0},
        ],
    }


@pytest.mark.parametrize(("link_mw", "moved", "shed"), [(2.0, 2.0, 1.0), (10.0, 3.0, 0.0)])
def test_workload_shift_moves_exactly_what_the_link_allows(make_network, link_mw, moved, shed):
    run = solved(make_network(two_campuses(link_mw), 3))
    res = run.results
    assert res["route"].values.tolist() == ["dc_a_to_dc_b"]  # a→c is too far; b has no share
    np.testing.assert_allclose(res["route_move_it_mw"].values[0], moved, atol=TOL)
    np.testing.assert_allclose(res["dc_shed_it_mw"].sel(dc="dc_a"), shed, atol=TOL)
    np.testing.assert_allclose(res["dc_migrated_in_it_mw"].sel(dc="dc_b"), 1.1 * moved, atol=TOL)
    np.testing.assert_allclose(flows(run, "sa"), 5.0, atol=TOL)
    migration = res["cost_jpy"].sel(cost="dc_a_migration.migration")
    assert float(migration) == pytest.approx(8760 * 1_000 * moved, rel=1e-9)


# --------------------------------------------------------------------------- verifier


def test_verifier_catches_a_flow_that_breaks_kirchhoff(make_network):
    run = solved(make_network(triangle("kvl"), 2))
    tampered = run.results.copy(deep=True)
    tampered["branch_flow_mw"][0, 0] += 0.5  # l12
    violations = verify_network(tampered).violations
    assert violations["N1, N4 nodal balance"] == pytest.approx(0.5)
    assert violations["N5, N7 DC power flow (KVL)"] > 0.1


def test_verifier_catches_an_ev_below_its_departure_minimum(make_network):
    path = make_network(
        {
            "horizon": {"steps": 4},
            "nodes": [slack("s", 10_000.0)],
            "ev_fleets": [
                {
                    "name": "ev",
                    "node": "s",
                    "vehicles": 1,
                    "battery_kwh": 100.0,
                    "charger_kw": 50.0,
                    "plugged_in": 1.0,
                    "departure_hours": [2],
                    "departure_energy_kwh": 80.0,
                }
            ],
        },
        4,
    )
    run = solved(path)
    tampered = run.results.copy(deep=True)
    tampered["ev_departure_energy_mwh"][0] = 0.09  # above the pool energy kept at departure
    assert verify_network(tampered).violations["V4 EV energy ≥ departure minimum"] > 0.0


# --------------------------------------------------------------------------- PyPSA cross-check


def meshed_case() -> dict[str, Any]:
    """Four buses in a ring with a chord, two supply points at different prices, loads, PV, a
    battery with losses and wear cost, and a transport link: nothing DC-specific."""
    return {
        "horizon": {"steps": 24},
        "nodes": [
            slack("n1", "p1", limit=60.0),
            slack("n2", "p2", limit=60.0),
            {"name": "n3", "base_load_mw": "load3"},
            {"name": "n4", "base_load_mw": "load4"},
        ],
        "branches": [
            line("l12", "n1", "n2", 40.0, 0.10),
            line("l23", "n2", "n3", 25.0, 0.20),
            line("l34", "n3", "n4", 15.0, 0.15),
            line("l41", "n4", "n1", 30.0, 0.25),
            line("l13", "n1", "n3", 20.0, 0.30),
            {"name": "k24", "from_node": "n2", "to_node": "n4", "kind": "link", "limit_mw": 6.0},
        ],
        "pv": [{"name": "pv", "node": "n4", "capacity_mw": 12.0, "availability": "sun"}],
        "batteries": [
            {
                "name": "bess",
                "node": "n3",
                "power_mw": 5.0,
                "energy_mwh": 15.0,
                "charge_efficiency": 0.93,
                "discharge_efficiency": 0.91,
                "standing_loss_per_h": 0.001,
                "throughput_cost_jpy_per_mwh": 800.0,
                "exclusive": "never",
            }
        ],
    }


def pypsa_solved(ds):
    """The same LP in PyPSA, from the same inputs Dataset, solved."""
    import pandas as pd
    import pypsa

    dt, alpha = float(ds.attrs["dt_h"]), float(ds.attrs["annual_factor"])
    snapshots = pd.RangeIndex(ds.sizes["time"], name="snapshot")
    n = pypsa.Network()
    n.set_snapshots(snapshots)
    n.snapshot_weightings = pd.DataFrame(
        {"objective": alpha * dt, "stores": dt, "generators": dt}, index=snapshots, dtype=float
    )
    for i, bus in enumerate(ds["node"].values.tolist()):
        n.add("Bus", bus, v_nom=1.0)
        n.add("Load", f"load_{bus}", bus=bus, p_set=ds["node_base_load_mw"].values[i])
        if ds["node_slack"].values[i]:
            limit = ds["node_upstream_import_limit_mw"].values[i]
            n.add(
                "Generator",
                f"supply_{bus}",
                bus=bus,
                p_nom=float(limit.max()),
                p_max_pu=limit / limit.max(),
                marginal_cost=ds["node_upstream_import_price_jpy_per_mwh"].values[i],
            )
    for j, name in enumerate(ds["branch"].values.tolist()):
        a, b = str(ds["branch_from_node"].values[j]), str(ds["branch_to_node"].values[j])
        limit = float(ds["branch_limit_mw"].values[j].max())
        if str(ds["branch_kind"].values[j]) == "link":
            n.add("Link", name, bus0=a, bus1=b, p_nom=limit, p_min_pu=-1.0)
        else:
            x = float(ds["branch_reactance"].values[j])
            n.add("Line", name, bus0=a, bus1=b, x=x, r=0.0, s_nom=limit)
    n.add(
        "Generator",
        "pv",
        bus=str(ds["pv_node"].values[0]),
        p_nom=float(ds["pv_capacity_mw_max"][0]),
        p_max_pu=ds["pv_availability"].values[0],
    )
    power, energy = float(ds["battery_power_mw_max"][0]), float(ds["battery_energy_mwh_max"][0])
    n.add(
        "StorageUnit",
        "bess",
        bus=str(ds["battery_node"].values[0]),
        p_nom=power,
        max_hours=energy / power,
        efficiency_store=float(ds["battery_charge_efficiency"][0]),
        efficiency_dispatch=float(ds["battery_discharge_efficiency"][0]),
        standing_loss=float(ds["battery_standing_loss_per_h"][0]),
        marginal_cost=float(ds["battery_throughput_cost_jpy_per_mwh"][0]),
        cyclic_state_of_charge=True,
    )
    status, _ = n.optimize(solver_name="highs", log_to_console=False)
    assert status == "ok"
    return n


def pypsa_objective(ds) -> float:
    return float(pypsa_solved(ds).objective)


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning")
def test_meshed_lp_objective_equals_pypsa(make_network):
    pytest.importorskip("pypsa")
    hours = np.arange(24)
    sun = np.clip(np.sin((hours - 6) / 12 * np.pi), 0, None)
    path = make_network(
        meshed_case(),
        24,
        p1=10_000 + 8_000 * np.sin(hours / 24 * 2 * np.pi),
        p2=14_000 - 3_000 * np.cos(hours / 24 * 2 * np.pi),
        load3=35 + 10 * np.sin((hours - 14) / 24 * 2 * np.pi),
        load4=25 + 8 * np.cos((hours - 19) / 24 * 2 * np.pi),
        sun=sun,
    )
    expected = pypsa_objective(build_network_inputs(load_network_case(path)))
    for flow_model in ("kvl", "ptdf"):
        loaded = load_network_case(path, {"network.flow_model": flow_model})
        run = solve_network(build_network_inputs(loaded), "system", SolverOptions())
        assert run.ok and run.verification.max_violation <= TOL
        assert run.kpis["congested_hours_h"] > 0  # the limits bind: the test is not trivial
        assert run.kpis["total_cost_jpy"] == pytest.approx(expected, rel=1e-6)


# --------------------------------------------------------------------------- bad input, CLI


def small_case() -> dict[str, Any]:
    return {
        "horizon": {"steps": 2},
        "nodes": [slack("s", 10_000.0), {"name": "a"}, {"name": "island"}],
        "branches": [line("sa", "s", "a", 10.0)],
    }


def _cli_error(path: Path) -> str:
    result = CliRunner().invoke(app, ["network", str(path)])
    assert result.exit_code == 2, result.output
    text = (result.stderr if result.stderr else result.output).strip()
    assert "\n" not in text
    return text


def test_cli_branch_to_unknown_node(make_network):
    case = small_case()
    case["branches"].append(line("sx", "s", "nowhere", 10.0))
    path = make_network(case, 2)
    text = _cli_error(path)
    assert str(path) in text and "branches[1].to_node" in text and "nowhere" in text


def test_cli_node_without_path_to_slack(make_network):
    path = make_network(small_case(), 2)
    text = _cli_error(path)
    assert str(path) in text and "nodes[2]" in text and "no path to a slack" in text


def test_cli_ev_departure_energy_above_battery(make_network):
    case = small_case()
    case["branches"].append(line("si", "s", "island", 10.0))
    case["ev_fleets"] = [
        {
            "name": "ev",
            "node": "a",
            "vehicles": 5,
            "battery_kwh": 60.0,
            "charger_kw": 7.0,
            "plugged_in": 1.0,
            "departure_energy_kwh": 80.0,
        }
    ]
    path = make_network(case, 2)
    text = _cli_error(path)
    assert str(path) in text and "ev_fleets[0].departure_energy_kwh" in text


def test_cli_refuses_a_single_site_field_the_network_ignores(make_network):
    case = small_case()
    case["branches"].append(line("si", "s", "island", 10.0))
    case["dcs"] = [{"name": "dc", "node": "a", "it_mw": 1.0, "min_served_share": 0.9}]
    text = _cli_error(make_network(case, 2))
    assert "dcs[0]" in text and "min_served_share is not available in network cases" in text


def test_cli_solves_and_writes(make_network, tmp_path):
    path = make_network(far_battery(2.0, 4.0), 4, it=PEAK, price=PRICE)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["network", str(path), "--mode", "merchant", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    for name in ("results.nc", "kpis.json", "branch_loading.png", "schematic.png"):
        assert (out / name).is_file()


def test_town_case_solves_a_short_horizon_in_both_modes():
    for mode in ("system", "merchant"):
        run = solved(TOWN, mode, **{"horizon.steps": 48})
        assert run.kpis["dc_it_demand_mwh"] > 0
