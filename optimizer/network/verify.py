"""Independent verifier of a network result: re-checks it against its own inputs, without the model.

Written again here, not imported from ``formulations`` or the network model: the nodal balances
from every asset's flows, the DC power flow (flows of lines and transformers must be those of
*some* voltage angles: the least-squares angles of each island reproduce them exactly), branch and
reverse-flow limits, every state-of-charge recursion, the workload backlogs, the migration routes
and the distance rule, every cost term, and the owners' accounts summing to the total.

As in :mod:`wattbit.verify`, one function per component (``verify_batteries`` and the other
assets in :mod:`wattbit.network.verify_assets`; ``_verify_power_flow``, … here) returns its
:class:`~wattbit.network.verify_assets.NetworkChecks`, each check named by its
formulation tags (``docs/formulation.md``, ``docs/network.md``) and meaning, e.g.
``"V4 EV energy ≥ departure minimum"``; each cost term ``<element>.<term>`` is recomputed under
``"<tag> cost <element>.<term> recomputed"``. To add a check, add it to the component's function;
to add a cost term, record it with :meth:`NetworkChecks.term`.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx
import numpy as np
import xarray as xr

from wattbit.network.verify_assets import (
    DEFERRABLE,
    MIGRATION,
    NetworkChecks,
    NetworkResult,
    verify_batteries,
    verify_dcs,
    verify_ev_fleets,
    verify_geo_shift,
    verify_pv,
    verify_shift,
)
from wattbit.sizes import LOWER, UPPER, size_names
from wattbit.verify import Verification, excess, relative, within

NETWORK = "network"


def _power_flow_residual(ds: xr.Dataset, flow: np.ndarray) -> float:
    """Largest flow (MW) on a line or transformer that no set of voltage angles explains."""
    nodes = ds["node"].values.tolist()
    kind = ds["branch_kind"].values
    x = ds["branch_reactance"].values
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    lines = [j for j in range(ds.sizes["branch"]) if kind[j] != "link"]
    ends = [
        (str(ds["branch_from_node"].values[j]), str(ds["branch_to_node"].values[j])) for j in lines
    ]
    graph.add_edges_from(ends)
    worst = 0.0
    for island in nx.connected_components(graph):
        rows = [k for k, (a, _) in enumerate(ends) if a in island]
        if not rows:
            continue
        members = sorted(island)
        A = np.zeros((len(rows), len(members)))
        for r, k in enumerate(rows):
            A[r, members.index(ends[k][0])] = 1.0
            A[r, members.index(ends[k][1])] = -1.0
        idx = [lines[k] for k in rows]
        drop = x[idx][:, None] * flow[idx]  # angle difference each flow needs
        theta = np.linalg.lstsq(A, drop, rcond=None)[0]
        worst = max(worst, float(np.max(np.abs((A @ theta - drop) / x[idx][:, None]))))
    return worst


def _after_outage_excess(ds: xr.Dataset, flow: np.ndarray) -> float:
    """Largest excess (MW) over its limit of a line or transformer after any listed outage: the
    injections into the lines and transformers (the links' flows taken out) spread again over
    the others by voltage angles, B θ = q with B the susceptance Laplacian without the outage."""
    nodes = ds["node"].values.tolist()
    K = np.zeros((len(nodes), ds.sizes["branch"]))
    for j in range(ds.sizes["branch"]):
        K[nodes.index(ds["branch_from_node"].values[j]), j] = 1.0
        K[nodes.index(ds["branch_to_node"].values[j]), j] = -1.0
    line = ds["branch_kind"].values != "link"
    q = K[:, line] @ flow[line]
    limit = ds["branch_limit_mw"].values
    worst = 0.0
    for k in ds["contingency"].values.tolist():
        up = line & (ds["branch"].values != k)
        b = 1.0 / ds["branch_reactance"].values[up]
        theta = np.linalg.pinv(K[:, up] @ np.diag(b) @ K[:, up].T) @ q
        after = b[:, None] * (K[:, up].T @ theta)
        worst = max(worst, excess(np.abs(after), limit[up]))
    return worst


def _verify_upstream(r: NetworkResult) -> NetworkChecks:
    """The upstream supply of the slack nodes: a connection block each (G1, G3–G6)."""
    v = NetworkChecks()
    imp, exp = r["node_upstream_import_mw"], r["node_upstream_export_mw"]
    slack = r["node_slack"] > 0
    v["N1 upstream only at slack nodes"] = float(
        np.max(np.abs(imp[~slack]), initial=0.0) + np.max(np.abs(exp[~slack]), initial=0.0)
    )
    v["G1 0 ≤ upstream import ≤ limit"] = within(
        imp[slack], 0.0, r["node_upstream_import_limit_mw"][slack]
    )
    v["G3 0 ≤ upstream export ≤ reverse-flow limit"] = within(
        exp[slack], 0.0, r["node_reverse_flow_limit_mw"][slack]
    )
    for k in np.flatnonzero(slack):
        name = r.nodes[k]
        price = r["node_upstream_import_price_jpy_per_mwh"][k]
        v.term("G4", name, "energy", r.annual_sum(price, imp[k]))
        revenue = -r.annual_sum(r["node_upstream_export_price_jpy_per_mwh"][k], exp[k])
        v.term("G5", name, "export_revenue", revenue)
        v.term("G6", name, "capacity_charge", 0.0)
    return v


def _verify_power_flow(r: NetworkResult) -> NetworkChecks:
    """Nodal balances, branch and reverse-flow limits, the DC power flow (N1–N5, N7)."""
    v = NetworkChecks()
    ds = r.ds
    slack = r["node_slack"] > 0
    injection = r["node_upstream_import_mw"] - r["node_upstream_export_mw"] - r["node_base_load_mw"]
    for dim, draw in r.draws().items():
        for i, k in enumerate(r.node_of(dim)):
            injection[k] -= draw[i]
    flow = r["branch_flow_mw"]
    K = np.zeros((len(r.nodes), ds.sizes["branch"]))
    for j in range(ds.sizes["branch"]):
        K[r.nodes.index(ds["branch_from_node"].values[j]), j] += 1.0
        K[r.nodes.index(ds["branch_to_node"].values[j]), j] -= 1.0
    v["N1, N4 nodal balance"] = float(np.max(np.abs(injection - K @ flow), initial=0.0))
    v["N2 reverse flow ≤ limit"] = excess(
        injection[~slack], r["node_reverse_flow_limit_mw"][~slack]
    )
    v["N3 branch flow ≤ limit"] = excess(np.abs(flow), r["branch_limit_mw"])
    v["N5, N7 DC power flow (KVL)"] = _power_flow_residual(ds, flow)
    if ds.sizes.get("contingency", 0):
        v["N9 flow after each listed outage ≤ limit"] = _after_outage_excess(ds, np.asarray(flow))
    return v


def _verify_sizes(r: NetworkResult) -> NetworkChecks:
    """Every size (:func:`wattbit.sizes.size_names`) within its bounds, element by element."""
    v = NetworkChecks()
    for size in size_names(r.ds):
        hi, lo = r[size + UPPER], r[size + LOWER]
        v[f"{size} within bounds"] = within(r[size], lo, hi) if size in r.g else np.inf
    return v


def _verify_costs(r: NetworkResult, expected: NetworkChecks) -> NetworkChecks:
    """Every reported cost term recomputed, its owner, the total and the objective (E2)."""
    v = NetworkChecks()
    ds = r.ds
    for el, term, value in zip(
        ds["cost_element"].values, ds["cost_term"].values, r["cost_jpy"], strict=True
    ):
        key = f"{el}.{term}"
        expect = expected.costs.get(key)
        tag = expected.tags.get(key, "E2")
        v[f"{tag} cost {key} recomputed"] = (
            np.inf if expect is None else relative(float(value), expect)
        )
    owner_of = _owners(r)
    reported = zip(ds["cost_element"].values, ds["cost_owner"].values, strict=True)
    v["cost owners"] = 0.0 if all(owner_of[str(e)] == str(o) for e, o in reported) else np.inf
    total = float(r["total_cost_jpy"])
    v["E2 total cost = sum of all cost terms"] = relative(sum(expected.costs.values()), total)
    if "objective_jpy" in ds.attrs:
        v["E2 objective = total cost"] = relative(float(ds.attrs["objective_jpy"]), total)
    return v


def _owners(r: NetworkResult) -> dict[str, str]:
    """The owner of every element that carries a cost; the network owns the nodes."""
    owner_of = {str(x): NETWORK for x in r.nodes}
    for dim in ("dc", "pv", "battery", "ev"):
        owner_of.update(
            zip(r.names(dim), (str(o) for o in r.ds[f"{dim}_owner"].values), strict=True)
        )
    for name, owner in zip(r.names("dc"), r.ds["dc_owner"].values, strict=True):
        owner_of[name + DEFERRABLE] = owner_of[name + MIGRATION] = str(owner)
    return owner_of


def _verify_accounts(r: NetworkResult, expected: NetworkChecks) -> NetworkChecks:
    """Each owner's account: its cost terms, energy settlement and contract fees."""
    v = NetworkChecks()
    ds = r.ds
    accounts = ds["account"].values.tolist()
    owners = ds["owner"].values.tolist()
    settlement = np.zeros(len(accounts))
    for dim, draw in r.draws().items():
        for i, owner in enumerate(ds[f"{dim}_owner"].values):
            price = r["owner_energy_price_jpy_per_mwh"][owners.index(owner)]
            settlement[accounts.index(owner)] += r.annual_sum(price, draw[i])
    settlement[accounts.index(NETWORK)] = -settlement.sum()
    owner_of = _owners(r)
    terms = np.zeros(len(accounts))
    for key, value in expected.costs.items():
        terms[accounts.index(owner_of[key.rsplit(".", 1)[0]])] += value
    fees = np.zeros(len(accounts))
    for k in range(ds.sizes["contract"]):
        fee = r["contract_fee_jpy_per_year"][k]
        fees[accounts.index(str(ds["contract_dc_owner"].values[k]))] += fee
        fees[accounts.index(str(ds["contract_battery_owner"].values[k]))] -= fee
    recomputed = terms + settlement + fees
    v["owner accounts recomputed"] = max(
        (relative(a, b) for a, b in zip(recomputed, r["account_total_jpy"], strict=True)),
        default=0.0,
    )
    total = float(r["total_cost_jpy"])
    v["owner accounts sum to the total"] = relative(float(r["account_total_jpy"].sum()), total)
    return v


COMPONENTS: tuple[Callable[[NetworkResult], NetworkChecks], ...] = (
    verify_dcs,
    verify_shift,
    verify_geo_shift,
    verify_pv,
    verify_batteries,
    verify_ev_fleets,
    _verify_upstream,
    _verify_power_flow,
    _verify_sizes,
)


def verify_network(ds: xr.Dataset) -> Verification:
    """Check a network result Dataset; see :class:`wattbit.verify.Verification`."""
    r = NetworkResult.of(ds)
    expected = NetworkChecks()
    for component in COMPONENTS:
        checks = component(r)
        expected.violations.update(checks.violations)
        expected.costs.update(checks.costs)
        expected.tags.update(checks.tags)
    violations = dict(expected.violations)
    violations.update(_verify_costs(r, expected).violations)
    violations.update(_verify_accounts(r, expected).violations)
    return Verification(violations)
