"""Component checks of a network's assets, and what every network check shares: the result's
arrays with the DCs' migrated and served IT load, and the checks a component returns.

Each function re-checks its component's equations from the result's arrays alone, with formulas
written again here (not imported from ``formulations`` or the network model); see
:mod:`wattbit.network.verify`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from wattbit.verify import Checks, excess, within

DEFERRABLE, MIGRATION = "_deferrable", "_migration"  # result element names of a DC's blocks


def _storage_recursion(
    e: np.ndarray, e0: np.ndarray, inflow: np.ndarray, outflow: np.ndarray, keep: np.ndarray
) -> float:
    """max |e_t − (keep e_{t−1} + inflow_t − outflow_t)| over rows (energies per step, MWh)."""
    if e.size == 0:
        return 0.0
    previous = np.concatenate((e0[:, None], e[:, :-1]), axis=1)
    return float(np.max(np.abs(e - (keep[:, None] * previous + inflow - outflow))))


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


def verify_dcs(r: NetworkResult) -> NetworkChecks:
    """Each DC's load at its size (D0, D4), shed (D1, D3) and the migration bounds of its site
    (M2, M3, M5)."""
    v = NetworkChecks()
    shed, firm, L = r["dc_shed_it_mw"], r.firm, r["dc_it_mw"]
    size = r["dc_size_mw"]
    v["D0 DC load = profile × size"] = float(
        np.max(np.abs(L - r["dc_it_per_mw"] * size[:, None]), initial=0.0)
    )
    v["D1 0 ≤ shed ≤ inflexible load"] = within(shed, 0.0, firm)
    v["M2 sent ≤ migratable share"] = excess(r.sent, r["dc_migratable_share"][:, None] * firm)
    v["M3 sent ≤ load not shed"] = excess(r.sent + shed, firm)
    capacity = np.broadcast_to(r["dc_it_capacity_mw"][:, None], L.shape)
    hosting = (r.received > 0).any(axis=1) | (r["dc_deferrable_share"] > 0)
    v["M5 served ≤ IT capacity"] = excess(r.served[hosting], capacity[hosting])
    for i, name in enumerate(r.names("dc")):
        voll = r["dc_value_of_lost_compute_jpy_per_mwh"][i]
        v.term("D3", name, "lost_compute", r.annual_sum(voll, shed[i]))
        if r["dc_sized"][i]:
            v.term("D4", name, "size_value", -r["dc_value_of_size_jpy_per_mw_year"][i] * size[i])
    return v


def verify_shift(r: NetworkResult) -> NetworkChecks:
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


def verify_geo_shift(r: NetworkResult) -> NetworkChecks:
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


def verify_pv(r: NetworkResult) -> NetworkChecks:
    """PV plants (P1, P2)."""
    v = NetworkChecks()
    K = r["pv_capacity_mw"]
    v["P1 0 ≤ PV ≤ capacity × availability"] = within(
        r["pv_generation_mw"], 0.0, K[:, None] * r["pv_availability"]
    )
    for i, name in enumerate(r.names("pv")):
        v.term("P2", name, "capex", r["pv_capex_jpy_per_mw_year"][i] * K[i])
    return v


def verify_batteries(r: NetworkResult) -> NetworkChecks:
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


def verify_ev_fleets(r: NetworkResult) -> NetworkChecks:
    """EV fleets (V1–V10)."""
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
    ruled = (r.ds["ev_exclusive"].values != "never") & (r["ev_v2g"] > 0)
    v["V10 EV exclusive charge/V2G"] = float(np.max(np.minimum(ec, ev2g)[ruled], initial=0.0))
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
