"""Independent verifier of a network result: re-checks it against its own inputs, without the model.

Written again here, not imported from ``formulations`` or the network model: the nodal balances
from every asset's flows, the DC power flow (flows of lines and transformers must be those of
*some* voltage angles: the least-squares angles of each island reproduce them exactly), branch and
reverse-flow limits, every state-of-charge recursion, the workload backlogs, the migration routes
and the distance rule, every cost term, and the owners' accounts summing to the total.

As in :mod:`wattbit.verify`, one function per component (``_verify_batteries``,
``_verify_power_flow``, …) returns its :class:`NetworkChecks`, each check named by its
formulation tags (``docs/formulation.md``, ``docs/network.md``) and meaning, e.g.
``"V4 EV energy ≥ departure minimum"``; each cost term ``<element>.<term>`` is recomputed under
``"<tag> cost <element>.<term> recomputed"``. To add a check, add it to the component's function;
to add a cost term, record it with :meth:`NetworkChecks.term`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import xarray as xr

from wattbit.sizes import LOWER, UPPER, size_names
from wattbit.verify import Checks, Verification, excess, relative, within

NETWORK = "network"
DEFERRABLE, MIGRATION = "_deferrable", "_migration"  # result element names of a DC's blocks


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


@dataclass
class NetworkChecks(Checks):
    """:class:`wattbit.verify.Checks` whose cost terms are ``<element>.<term>`` with their tags."""

    tags: dict[str, str] = field(default_factory=dict)

    def term(self, tag: str, element: str, term: str, value: float) -> None:
        """Record the recomputed cost term ``<element>.<term>`` of equation ``tag``."""
        key = f"{element}.{term}"
        self.costs[key] = float(value)
        self.tags[key] = tag


@dataclass(frozen=True)
class NetworkResult:
    """The arrays of a network result, the time axis, and the DCs' migrated and served IT load."""

    ds: xr.Dataset
    g: dict[str, np.ndarray]
    dt: float
    alpha: float
    nodes: list[str]
    origin: np.ndarray  # DC index of every route's origin
    sent: np.ndarray  # IT load each DC migrates out (DC × time)
    received: np.ndarray  # IT load each DC receives, with the routes' overhead
    firm: np.ndarray  # (1 − φ) L: each DC's inflexible IT load

    @classmethod
    def of(cls, ds: xr.Dataset) -> NetworkResult:
        g = {str(name): ds[name].values for name in ds.data_vars}
        dt = float(ds.attrs["dt_h"])
        dcs = ds["dc"].values.tolist()
        origin = np.array([dcs.index(o) for o in ds["route_origin"].values], dtype=int)
        dest = np.array([dcs.index(d) for d in ds["route_destination"].values], dtype=int)
        L, move = g["dc_it_mw"], g["route_move_it_mw"]
        sent, received = np.zeros_like(L), np.zeros_like(L)
        for r in range(ds.sizes["route"]):
            sent[origin[r]] += move[r]
            received[dest[r]] += (1.0 + g["route_overhead_fraction"][r]) * move[r]
        firm = (1.0 - g["dc_deferrable_share"][:, None]) * L
        alpha = 8760.0 / (ds.sizes["time"] * dt)
        return cls(ds, g, dt, alpha, ds["node"].values.tolist(), origin, sent, received, firm)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.g[name]

    def names(self, dim: str) -> list[str]:
        return [str(x) for x in self.ds[dim].values]

    def node_of(self, dim: str) -> list[int]:
        return [self.nodes.index(x) for x in self.ds[f"{dim}_node"].values]

    def annual_sum(self, price: float | np.ndarray, flow: np.ndarray) -> float:
        """α Σ_t price_t flow_t Δt."""
        return self.alpha * self.dt * float(np.sum(np.asarray(price) * flow))

    @property
    def served(self) -> np.ndarray:
        """IT load each DC serves: inflexible − shed + deferrable served − sent + received."""
        return (
            self.firm
            - self["dc_shed_it_mw"]
            + self["dc_deferred_served_it_mw"]
            - self.sent
            + self.received
        )

    def draws(self) -> dict[str, np.ndarray]:
        """Power each asset draws from its node (MW; negative = supplies), per kind."""
        return {
            "dc": self["dc_pue"] * self.served,
            "battery": self["battery_charge_mw"] - self["battery_discharge_mw"],
            "ev": self["ev_charge_mw"] - self["ev_v2g_mw"],
            "pv": -self["pv_generation_mw"],
        }


def _verify_dcs(r: NetworkResult) -> NetworkChecks:
    """Each DC's shed (D1, D3) and the migration bounds of its site (M2, M3, M5)."""
    v = NetworkChecks()
    shed, firm, L = r["dc_shed_it_mw"], r.firm, r["dc_it_mw"]
    v["D1 0 ≤ shed ≤ inflexible load"] = within(shed, 0.0, firm)
    v["M2 sent ≤ migratable share"] = excess(r.sent, r["dc_migratable_share"][:, None] * firm)
    v["M3 sent ≤ load not shed"] = excess(r.sent + shed, firm)
    capacity = np.broadcast_to(r["dc_it_capacity_mw"][:, None], L.shape)
    hosting = (r.received > 0).any(axis=1) | (r["dc_deferrable_share"] > 0)
    v["M5 served ≤ IT capacity"] = excess(r.served[hosting], capacity[hosting])
    for i, name in enumerate(r.names("dc")):
        voll = r["dc_value_of_lost_compute_jpy_per_mwh"][i]
        v.term("D3", name, "lost_compute", r.annual_sum(voll, shed[i]))
    return v


def _verify_shift(r: NetworkResult) -> NetworkChecks:
    """Each DC's deferrable work (W1–W7)."""
    v = NetworkChecks()
    w, drop, backlog = (
        r["dc_deferred_served_it_mw"],
        r["dc_deferred_dropped_it_mw"],
        r["dc_backlog_mwh"],
    )
    share, L, n, dt = r["dc_deferrable_share"][:, None], r["dc_it_mw"], r.ds.sizes["time"], r.dt
    arrivals = share * L
    cumulative = np.cumsum(arrivals, axis=1) * dt
    steps = np.round(r["dc_max_delay_h"] / dt).astype(int)
    window = np.array(
        [
            cumulative[i] - np.concatenate((np.zeros(k), cumulative[i]))[:n]
            for i, k in enumerate(steps)
        ]
    ).reshape(L.shape)
    ones = np.ones(len(L))
    v["W1 backlog recursion"] = _storage_recursion(
        backlog, np.zeros(len(L)), arrivals * dt, (w + drop) * dt, ones
    )
    v["W1 dropped work ≥ 0"] = excess(-drop, 0.0)
    deferring = share[:, 0] > 0
    v["W2 0 ≤ backlog ≤ arrivals within the delay"] = max(
        excess(backlog[deferring], window[deferring]), excess(-backlog, 0.0)
    )
    room = np.maximum(r["dc_it_capacity_mw"][:, None] - r.firm, 0.0)
    v["W3 0 ≤ deferrable served ≤ room"] = max(
        excess(w[deferring], room[deferring]), excess(-w, 0.0)
    )
    v["W4 backlog empty at the end"] = float(np.max(np.abs(backlog[:, -1]), initial=0.0))
    for i, name in enumerate(r.names("dc")):
        voll = r["dc_value_of_lost_compute_jpy_per_mwh"][i]
        v.term("W6", name + DEFERRABLE, "lost_compute", r.annual_sum(voll, drop[i]))
        deferral = r.annual_sum(r["dc_deferral_cost_jpy_per_mwh_h"][i], backlog[i])
        v.term("W7", name + DEFERRABLE, "deferral", deferral)
    return v


def _verify_geo_shift(r: NetworkResult) -> NetworkChecks:
    """Routes of the geographic workload shift (M1, M7)."""
    v = NetworkChecks()
    move = r["route_move_it_mw"]
    v["M1 0 ≤ route move ≤ link capacity"] = within(move, 0.0, r["route_capacity_mw"])
    allowed = (r["route_distance_km"] <= r["dc_max_shift_distance_km"][r.origin]) & (
        r["dc_migratable_share"][r.origin] > 0
    )
    v["M1 routes within the distance limit"] = 0.0 if allowed.all() else np.inf
    for i, name in enumerate(r.names("dc")):
        mask = r.origin == i
        cost = (
            r.alpha
            * r.dt
            * float((r["route_cost_jpy_per_mwh"][mask] * move[mask].sum(axis=1)).sum())
        )
        v.term("M7", name + MIGRATION, "migration", cost)
    return v


def _verify_pv(r: NetworkResult) -> NetworkChecks:
    """PV plants (P1, P2)."""
    v = NetworkChecks()
    K = r["pv_capacity_mw"]
    v["P1 0 ≤ PV ≤ capacity × availability"] = within(
        r["pv_generation_mw"], 0.0, K[:, None] * r["pv_availability"]
    )
    for i, name in enumerate(r.names("pv")):
        v.term("P2", name, "capex", r["pv_capex_jpy_per_mw_year"][i] * K[i])
    return v


def _verify_batteries(r: NetworkResult) -> NetworkChecks:
    """Batteries, or their parts (B1–B9, S1)."""
    v = NetworkChecks()
    c, d, e = r["battery_charge_mw"], r["battery_discharge_mw"], r["battery_soc_mwh"]
    P, E, e0 = r["battery_power_mw"], r["battery_energy_mwh"], r["battery_soc_initial_mwh"]
    v["B5 battery SoC recursion"] = _storage_recursion(
        e,
        e0,
        r["battery_charge_efficiency"][:, None] * c * r.dt,
        d * r.dt / r["battery_discharge_efficiency"][:, None],
        (1.0 - r["battery_standing_loss_per_h"]) ** r.dt,
    )
    v["B1, B2 0 ≤ charge, discharge ≤ power"] = max(
        within(c, 0.0, P[:, None]), within(d, 0.0, P[:, None])
    )
    lo, hi = r["battery_soc_min_fraction"] * E, r["battery_soc_max_fraction"] * E
    v["B3, B4 battery SoC window"] = max(
        within(e, lo[:, None], hi[:, None]), within(e0, lo, hi), excess(-e, 0.0)
    )
    cyclic = r.ds["battery_soc_rule"].values == "cyclic"
    sigma0 = r["battery_initial_soc_fraction"] * E
    last = e[:, -1] if e.size else e0
    v["B6 battery terminal SoC"] = max(
        float(np.max(np.abs(last - e0)[cyclic], initial=0.0)),
        float(np.max(np.abs(e0 - sigma0)[~cyclic], initial=0.0)),
        excess(sigma0[~cyclic], last[~cyclic]),
    )
    if r.ds.attrs.get("battery_exclusivity_binaries", 0):
        binary = r.ds["battery_exclusive"].values != "never"
        v["B7 battery exclusivity"] = float(np.max(np.minimum(c, d)[binary], initial=0.0))
    for i, name in enumerate(r.names("battery")):
        capex = (
            r["battery_power_capex_jpy_per_mw_year"][i] * P[i]
            + r["battery_energy_capex_jpy_per_mwh_year"][i] * E[i]
        )
        v.term("B8", name, "capex", capex)
        wear = r.annual_sum(r["battery_throughput_cost_jpy_per_mwh"][i], d[i])
        v.term("B9", name, "degradation", wear)
    return v


def _verify_ev_fleets(r: NetworkResult) -> NetworkChecks:
    """EV fleets (V1–V9)."""
    v = NetworkChecks()
    ec, ev2g, ee = r["ev_charge_mw"], r["ev_v2g_mw"], r["ev_soc_mwh"]
    pool, ev0 = r["ev_energy_mwh"], r["ev_soc_initial_mwh"]
    v["V5 EV SoC recursion"] = _storage_recursion(
        ee,
        ev0,
        r["ev_charge_efficiency"][:, None] * ec * r.dt,
        (ev2g / r["ev_v2g_efficiency"][:, None] + r["ev_driving_mw"]) * r.dt,
        (1.0 - r["ev_standing_loss_per_h"]) ** r.dt,
    )
    plugged = r["ev_plugged_in"] * r["ev_charger_mw"][:, None]
    v["V1 0 ≤ EV charge ≤ plugged-in chargers"] = within(ec, 0.0, plugged)
    v["V2 0 ≤ EV V2G ≤ plugged-in chargers"] = within(ev2g, 0.0, plugged * r["ev_v2g"][:, None])
    v["V3 0 ≤ EV energy ≤ pool"] = within(ee, 0.0, pool[:, None])
    need = np.where(r["ev_departure"] > 0, r["ev_departure_energy_mwh"][:, None], 0.0)
    v["V4 EV energy ≥ departure minimum"] = excess(need, ee)
    cyclic = r.ds["ev_soc_rule"].values == "cyclic"
    last = ee[:, -1] if ee.size else ev0
    sigma = r["ev_initial_soc_fraction"] * pool
    v["V6 EV terminal energy"] = max(
        float(np.max(np.abs(last - ev0)[cyclic], initial=0.0)),
        float(np.max(np.abs(ev0 - sigma)[~cyclic], initial=0.0)),
        excess(sigma[~cyclic], last[~cyclic]),
        excess(ev0, pool),
    )
    for i, name in enumerate(r.names("ev")):
        v.term(
            "V8", name, "capex", r["ev_charger_capex_jpy_per_mw_year"][i] * r["ev_charger_mw"][i]
        )
        v.term("V9", name, "degradation", r.annual_sum(r["ev_v2g_cost_jpy_per_mwh"][i], ev2g[i]))
    return v


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
    _verify_dcs,
    _verify_shift,
    _verify_geo_shift,
    _verify_pv,
    _verify_batteries,
    _verify_ev_fleets,
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
