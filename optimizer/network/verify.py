"""Independent verifier of a network result: re-checks it against its own inputs, without the model.

Written again here, not imported from ``formulations`` or ``network_model``: the nodal balances from
every asset's flows, the DC power flow (flows of lines and transformers must be those of *some*
voltage angles: the least-squares angles of each island reproduce them exactly), branch and
reverse-flow limits, every state-of-charge recursion, the workload backlogs, the migration
routes and the distance rule, every cost term, and the owners' accounts summing to the total.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import xarray as xr

from wattbit.verify import Verification

NETWORK = "network"
DEFERRABLE, MIGRATION = "_deferrable", "_migration"  # result element names of a DC's blocks


def _excess(values: np.ndarray | float, limit: np.ndarray | float) -> float:
    return float(np.max(np.asarray(values) - np.asarray(limit), initial=0.0))


def _relative(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(a), abs(b))


def _within(size: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    return max(_excess(size, hi), _excess(lo, size))


def _storage_recursion(
    e: np.ndarray, e0: np.ndarray, inflow: np.ndarray, outflow: np.ndarray, keep: np.ndarray
) -> float:
    """max |e_t − (keep e_{t−1} + inflow_t − outflow_t)| over rows (energies per step, MWh)."""
    if e.size == 0:
        return 0.0
    previous = np.concatenate((e0[:, None], e[:, :-1]), axis=1)
    return float(np.max(np.abs(e - (keep[:, None] * previous + inflow - outflow))))


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


def verify_network(ds: xr.Dataset) -> Verification:
    """Check a network result Dataset; see :class:`wattbit.verify.Verification`."""
    v: dict[str, float] = {}
    g = {name: ds[name].values for name in ds.data_vars}
    dt = float(ds.attrs["dt_h"])
    n = ds.sizes["time"]
    alpha = 8760.0 / (n * dt)
    nodes = ds["node"].values.tolist()

    def node_of(dim: str) -> list[int]:
        return [nodes.index(x) for x in ds[f"{dim}_node"].values]

    # --- DCs, deferrable work, migration
    L, pue, share = g["dc_it_mw"], g["dc_pue"], g["dc_deferrable_share"][:, None]
    firm = (1.0 - share) * L
    shed, w, drop, backlog = (
        g["dc_shed_it_mw"],
        g["dc_deferred_served_it_mw"],
        g["dc_deferred_dropped_it_mw"],
        g["dc_backlog_mwh"],
    )
    move = g["route_move_it_mw"]
    dcs = ds["dc"].values.tolist()
    origin = np.array([dcs.index(o) for o in ds["route_origin"].values], dtype=int)
    dest = np.array([dcs.index(d) for d in ds["route_destination"].values], dtype=int)
    sent = np.zeros_like(L)
    received = np.zeros_like(L)
    for r in range(ds.sizes["route"]):
        sent[origin[r]] += move[r]
        received[dest[r]] += (1.0 + g["route_overhead_fraction"][r]) * move[r]
    served = firm - shed + w - sent + received
    v["DC shed ≤ inflexible load"] = _excess(shed, firm)
    v["DC sent ≤ migratable share"] = _excess(sent, g["dc_migratable_share"][:, None] * firm)
    v["DC sent ≤ load not shed"] = _excess(sent + shed, firm)
    capacity = g["dc_it_capacity_mw"][:, None]
    hosting = (received > 0).any(axis=1) | (share[:, 0] > 0)
    v["DC served ≤ IT capacity"] = _excess(
        served[hosting], np.broadcast_to(capacity, L.shape)[hosting]
    )
    v["route move ≤ link capacity"] = _excess(move, g["route_capacity_mw"])
    allowed = (g["route_distance_km"] <= g["dc_max_shift_distance_km"][origin]) & (
        g["dc_migratable_share"][origin] > 0
    )
    v["routes within the distance limit"] = 0.0 if allowed.all() else np.inf

    arrivals = share * L
    cumulative = np.cumsum(arrivals, axis=1) * dt
    steps = np.round(g["dc_max_delay_h"] / dt).astype(int)
    window = np.array(
        [
            cumulative[i] - np.concatenate((np.zeros(k), cumulative[i]))[:n]
            for i, k in enumerate(steps)
        ]
    ).reshape(L.shape)
    v["backlog recursion"] = _storage_recursion(
        backlog, np.zeros(len(dcs)), arrivals * dt, (w + drop) * dt, np.ones(len(dcs))
    )
    deferring = share[:, 0] > 0
    v["backlog ≤ arrivals within the delay"] = _excess(backlog[deferring], window[deferring])
    v["backlog empty at the end"] = float(np.max(np.abs(backlog[:, -1]), initial=0.0))
    v["deferrable served ≤ room"] = _excess(
        w[deferring], np.maximum(capacity - firm, 0.0)[deferring]
    )

    # --- PV, batteries, EV fleets
    pv_gen = g["pv_generation_mw"]
    v["PV ≤ capacity × availability"] = _excess(
        pv_gen, g["pv_capacity_mw"][:, None] * g["pv_availability"]
    )
    c, d, e = g["battery_charge_mw"], g["battery_discharge_mw"], g["battery_soc_mwh"]
    P, E, e0 = g["battery_power_mw"], g["battery_energy_mwh"], g["battery_soc_initial_mwh"]
    v["battery SoC recursion"] = _storage_recursion(
        e,
        e0,
        g["battery_charge_efficiency"][:, None] * c * dt,
        d * dt / g["battery_discharge_efficiency"][:, None],
        (1.0 - g["battery_standing_loss_per_h"]) ** dt,
    )
    v["battery power"] = max(_excess(c, P[:, None]), _excess(d, P[:, None]))
    lo, hi = g["battery_soc_min_fraction"] * E, g["battery_soc_max_fraction"] * E
    v["battery SoC window"] = max(
        _excess(e, hi[:, None]), _excess(lo[:, None], e), _excess(e0, hi), _excess(lo, e0)
    )
    cyclic = ds["battery_soc_rule"].values == "cyclic"
    sigma0 = g["battery_initial_soc_fraction"] * E
    last = e[:, -1] if e.size else e0
    v["battery terminal SoC"] = max(
        float(np.max(np.abs(last - e0)[cyclic], initial=0.0)),
        float(np.max(np.abs(e0 - sigma0)[~cyclic], initial=0.0)),
        _excess(sigma0[~cyclic], last[~cyclic]),
    )
    if ds.attrs.get("battery_exclusivity_binaries", 0):
        binary = ds["battery_exclusive"].values != "never"
        v["battery exclusivity"] = float(np.max(np.minimum(c, d)[binary], initial=0.0))
    for size in ("battery_power_mw", "battery_energy_mwh", "pv_capacity_mw", "ev_charger_mw"):
        v[f"{size} within bounds"] = _within(g[size], g[f"{size}_min"], g[f"{size}_max"])

    ec, ev2g, ee = g["ev_charge_mw"], g["ev_v2g_mw"], g["ev_soc_mwh"]
    eta_v = g["ev_v2g_efficiency"][:, None]
    v["EV SoC recursion"] = _storage_recursion(
        ee,
        g["ev_soc_initial_mwh"],
        g["ev_charge_efficiency"][:, None] * ec * dt,
        (ev2g / eta_v + g["ev_driving_mw"]) * dt,
        (1.0 - g["ev_standing_loss_per_h"]) ** dt,
    )
    plugged = g["ev_plugged_in"] * g["ev_charger_mw"][:, None]
    v["EV charge ≤ plugged-in chargers"] = _excess(ec, plugged)
    v["EV V2G ≤ plugged-in chargers"] = _excess(ev2g, plugged * g["ev_v2g"][:, None])
    v["EV energy ≤ pool"] = _excess(ee, g["ev_energy_mwh"][:, None])
    need = np.where(g["ev_departure"] > 0, g["ev_departure_energy_mwh"][:, None], 0.0)
    v["EV energy ≥ departure minimum"] = _excess(need, ee)
    ev_cyclic = ds["ev_soc_rule"].values == "cyclic"
    ev0, ev_last = g["ev_soc_initial_mwh"], ee[:, -1] if ee.size else g["ev_soc_initial_mwh"]
    ev_sigma = g["ev_initial_soc_fraction"] * g["ev_energy_mwh"]
    v["EV terminal energy"] = max(
        float(np.max(np.abs(ev_last - ev0)[ev_cyclic], initial=0.0)),
        float(np.max(np.abs(ev0 - ev_sigma)[~ev_cyclic], initial=0.0)),
        _excess(ev_sigma[~ev_cyclic], ev_last[~ev_cyclic]),
        _excess(ev0, g["ev_energy_mwh"]),
    )

    # --- network
    imp, exp = g["node_upstream_import_mw"], g["node_upstream_export_mw"]
    slack = g["node_slack"] > 0
    v["upstream only at slack nodes"] = float(
        np.max(np.abs(imp[~slack]), initial=0.0) + np.max(np.abs(exp[~slack]), initial=0.0)
    )
    v["upstream import ≤ limit"] = _excess(imp[slack], g["node_upstream_import_limit_mw"][slack])
    v["upstream export ≤ reverse-flow limit"] = _excess(
        exp[slack], g["node_reverse_flow_limit_mw"][slack]
    )
    injection = imp - exp - g["node_base_load_mw"]
    for dim, draw in (
        ("dc", pue * served),
        ("battery", c - d),
        ("ev", ec - ev2g),
        ("pv", -pv_gen),
    ):
        for i, k in enumerate(node_of(dim)):
            injection[k] -= draw[i]
    flow = g["branch_flow_mw"]
    K = np.zeros((len(nodes), ds.sizes["branch"]))
    for j in range(ds.sizes["branch"]):
        K[nodes.index(ds["branch_from_node"].values[j]), j] += 1.0
        K[nodes.index(ds["branch_to_node"].values[j]), j] -= 1.0
    v["nodal balance"] = float(np.max(np.abs(injection - K @ flow), initial=0.0))
    v["branch flow ≤ limit"] = _excess(np.abs(flow), g["branch_limit_mw"])
    v["DC power flow (KVL)"] = _power_flow_residual(ds, flow)
    v["reverse flow ≤ limit"] = _excess(injection[~slack], g["node_reverse_flow_limit_mw"][~slack])
    nonnegative = (imp, exp, shed, w, drop, backlog, move, pv_gen, c, d, e, ec, ev2g, ee)
    v["non-negative flows"] = max((_excess(-a, 0.0) for a in nonnegative), default=0.0)

    # --- costs, recomputed by element and term
    owner_of = {str(x): NETWORK for x in nodes}
    expected: dict[tuple[str, str], float] = {}
    for i, name in enumerate(dcs):
        owner = str(ds["dc_owner"].values[i])
        owner_of.update({name: owner, name + DEFERRABLE: owner, name + MIGRATION: owner})
        voll = g["dc_value_of_lost_compute_jpy_per_mwh"][i]
        expected[(name, "lost_compute")] = alpha * voll * shed[i].sum() * dt
        expected[(name + DEFERRABLE, "lost_compute")] = alpha * voll * drop[i].sum() * dt
        expected[(name + DEFERRABLE, "deferral")] = (
            alpha * g["dc_deferral_cost_jpy_per_mwh_h"][i] * backlog[i].sum() * dt
        )
        mask = origin == i
        expected[(name + MIGRATION, "migration")] = (
            alpha * dt * float((g["route_cost_jpy_per_mwh"][mask] * move[mask].sum(axis=1)).sum())
        )
    for i, name in enumerate(ds["pv"].values.tolist()):
        owner_of[name] = str(ds["pv_owner"].values[i])
        expected[(name, "capex")] = g["pv_capex_jpy_per_mw_year"][i] * g["pv_capacity_mw"][i]
    for i, name in enumerate(ds["battery"].values.tolist()):
        owner_of[name] = str(ds["battery_owner"].values[i])
        expected[(name, "capex")] = (
            g["battery_power_capex_jpy_per_mw_year"][i] * P[i]
            + g["battery_energy_capex_jpy_per_mwh_year"][i] * E[i]
        )
        expected[(name, "degradation")] = (
            alpha * g["battery_throughput_cost_jpy_per_mwh"][i] * d[i].sum() * dt
        )
    for i, name in enumerate(ds["ev"].values.tolist()):
        owner_of[name] = str(ds["ev_owner"].values[i])
        expected[(name, "capex")] = g["ev_charger_capex_jpy_per_mw_year"][i] * g["ev_charger_mw"][i]
        expected[(name, "degradation")] = (
            alpha * g["ev_v2g_cost_jpy_per_mwh"][i] * ev2g[i].sum() * dt
        )
    for k in np.flatnonzero(slack):
        name = nodes[k]
        expected[(name, "energy")] = (
            alpha * dt * float((g["node_upstream_import_price_jpy_per_mwh"][k] * imp[k]).sum())
        )
        expected[(name, "export_revenue")] = (
            -alpha * dt * float((g["node_upstream_export_price_jpy_per_mwh"][k] * exp[k]).sum())
        )
        expected[(name, "capacity_charge")] = 0.0
    reported = {
        (str(el), str(term)): float(value)
        for el, term, value in zip(
            ds["cost_element"].values, ds["cost_term"].values, g["cost_jpy"], strict=True
        )
    }
    for (el, term), value in reported.items():
        expect = expected.get((el, term))
        v[f"cost {el}.{term} recomputed"] = np.inf if expect is None else _relative(value, expect)
    owners_reported = [
        (str(e), str(o))
        for e, o in zip(ds["cost_element"].values, ds["cost_owner"].values, strict=True)
    ]
    v["cost owners"] = 0.0 if all(owner_of[e] == o for e, o in owners_reported) else np.inf
    total = float(g["total_cost_jpy"])
    v["total cost = sum of all cost terms"] = _relative(sum(expected.values()), total)
    if "objective_jpy" in ds.attrs:
        v["objective = total cost"] = _relative(float(ds.attrs["objective_jpy"]), total)

    # --- accounts
    accounts = ds["account"].values.tolist()
    draws = {"dc": pue * served, "battery": c - d, "ev": ec - ev2g, "pv": -pv_gen}
    owners = ds["owner"].values.tolist()
    settlement = np.zeros(len(accounts))
    for dim, draw in draws.items():
        for i, owner in enumerate(ds[f"{dim}_owner"].values):
            k = owners.index(owner)
            settlement[accounts.index(owner)] += (
                alpha * dt * float((g["owner_energy_price_jpy_per_mwh"][k] * draw[i]).sum())
            )
    settlement[accounts.index(NETWORK)] = -settlement.sum()
    terms = np.zeros(len(accounts))
    for (el, _), value in expected.items():
        terms[accounts.index(owner_of[el])] += value
    fees = np.zeros(len(accounts))
    for k in range(ds.sizes["contract"]):
        fees[accounts.index(str(ds["contract_dc_owner"].values[k]))] += g[
            "contract_fee_jpy_per_year"
        ][k]
        fees[accounts.index(str(ds["contract_battery_owner"].values[k]))] -= g[
            "contract_fee_jpy_per_year"
        ][k]
    recomputed = terms + settlement + fees
    v["owner accounts recomputed"] = max(
        (_relative(a, b) for a, b in zip(recomputed, g["account_total_jpy"], strict=True)),
        default=0.0,
    )
    v["owner accounts sum to the total"] = _relative(float(g["account_total_jpy"].sum()), total)
    v = {k: (np.inf if np.isnan(x) else x) for k, x in v.items()}
    return Verification(v)
