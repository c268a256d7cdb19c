"""Solve a network case in one of two modes, and turn the solution into results per owner.

* ``system`` — one coordinated solve: every asset is dispatched for the least total cost.
* ``merchant`` — two solves in sequence. First each battery owner dispatches its share of its
  battery for the most arbitrage profit at its own energy price, blind to the network. Then,
  with those schedules (and sizes) fixed, the DCs, EV fleets, PV and the reserved battery parts
  are dispatched for the least total cost within the network's limits: the DCs optimise against
  the batteries, shedding or moving load where the batteries' schedules congest a branch.

Exclusivity (the ``exclusive`` field of a battery, shared or not, and of an EV fleet with V2G)
works as in a single-site case: with ``auto`` the LP is solved and binaries are added only at the
steps of the parts and fleets that charge and discharge (V2G) at once, warm-started, until none is
left; ``always`` adds one per step at once.

Owners: each asset's owner settles the asset's net energy at the owner's price; contract fees
go from the DC's owner to the battery's owner; the ``network`` account pays the upstream supply
and collects the settlements, and so carries the cost of serving the other customers (base load).
Summed over all accounts, this is the system's total cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyomo.environ as pyo
import xarray as xr

from wattbit.infeasibility import in_case_terms
from wattbit.input_dataset import units_of
from wattbit.network.case import NETWORK_OWNER, LoadedNetworkCase
from wattbit.network.imposed import ImposedLP
from wattbit.network.inputs import DEFERRABLE, build_network_inputs
from wattbit.network.merchant import (
    Solve,
    best_model,
    cold_imposed,
    imposed_model,
    is_imposed,
    schedules_of,
    worst_for_system,
)
from wattbit.network.model import (
    battery_blocks,
    cost_table,
    create_merchant_model,
    create_network_model,
    element_owner,
    ev_blocks,
    merchant_parts,
    network_data,
)
from wattbit.network.prices import add_prices, price_kpis, with_duals
from wattbit.network.verify import verify_network
from wattbit.optimise import SIMULTANEOUS_TOL_MW, ExclusiveSolve, Run, solve_exclusive
from wattbit.solve import SolverOptions

Mode = Literal["system", "merchant"]
AT_LIMIT_TOL = 1e-6


@dataclass
class NetworkRun(Run):
    """Everything one network run produced: a :class:`~wattbit.optimise.Run` and its mode."""

    mode: Mode = "system"


def _values(component: pyo.Component, T: pyo.Set) -> np.ndarray:
    """Values of a time-indexed Var or Expression."""
    if isinstance(component, pyo.Var):
        return np.fromiter((component[t].value for t in T), float, len(T))
    return np.fromiter((pyo.value(component[t]) for t in T), float, len(T))


def _solve_exclusive(
    ds: xr.Dataset,
    build: Callable[[dict[str, set[int]]], pyo.ConcreteModel],
    options: SolverOptions,
    timings: dict[str, float],
    rebuild: bool = True,
) -> ExclusiveSolve:
    """Solve with the exclusivity rule of each battery part and V2G EV fleet (its ``exclusive``
    mode); a part whose schedule is fixed needs no binaries. With ``rebuild`` (the default) each
    LP is solved with its Pyomo model freed while HiGHS runs (:mod:`wattbit.rebuilt`)."""
    modes = {
        name: mode
        for dim in ("battery", "ev")
        for name, mode in zip(
            ds[dim].values.tolist(), ds[f"{dim}_exclusive"].values.tolist(), strict=True
        )
    }

    def free(m: pyo.ConcreteModel) -> dict[str, pyo.Block]:
        stores = {**battery_blocks(m, ds), **ev_blocks(m, ds)}
        return {n: b for n, b in stores.items() if not is_imposed(b)}

    return solve_exclusive(build, free, modes, options, timings, rebuild)


def solve_network(ds: xr.Dataset, mode: Mode, options: SolverOptions) -> NetworkRun:
    """Solve in ``mode``; extract, account per owner and verify."""
    timings: dict[str, float] = {}
    attrs: dict[str, float | int | str] = {"mode": mode}

    def solve(build: Callable[[dict[str, set[int]]], pyo.ConcreteModel]) -> ExclusiveSolve:
        return _solve_exclusive(ds, build, options, timings)

    merchant: ExclusiveSolve | None = None
    if mode == "merchant" and merchant_parts(ds):
        merchant = solve(lambda x: create_merchant_model(ds, x))
        if not merchant.solution.has_values:
            in_case_terms(merchant.solution, ds)
            merchant.solution.message = f"merchant batteries: {merchant.solution.message}"
            return NetworkRun(ds, merchant.solution, timings=timings, mode=mode)
        done = _merchant_ends(ds, merchant, solve, attrs, options, timings)
    else:
        done = solve(with_duals(lambda x: create_network_model(ds, x)))
    m, sol = done.model, done.solution
    run = NetworkRun(ds, sol, timings=timings, mode=mode)
    if not sol.has_values:
        in_case_terms(sol, ds)
        if merchant is not None:
            sol.message = f"with the merchant batteries' schedules fixed, {sol.message}"
        return run
    binaries = {**(merchant.binaries if merchant else {}), **done.binaries}
    t0 = time.perf_counter()
    attrs.update(
        solver_status=sol.status,
        solver_message=sol.message,
        objective_jpy=float(sol.objective),
        mip_gap=float(sol.mip_gap or 0.0),
        battery_exclusivity_binaries=sum(len(s) for s in binaries.values()),
        battery_exclusivity_rounds=(merchant.rounds if merchant else 0) + done.rounds,
        duals_source=sol.duals_source,
    )
    run.results = build_network_results(ds, m, attrs)
    run.kpis = network_kpis(run.results)
    timings["extract"] = time.perf_counter() - t0 + timings.pop("load", 0.0)
    t0 = time.perf_counter()
    run.verification = verify_network(run.results)
    run.results.attrs["verify_max_violation"] = run.verification.max_violation
    timings["verify"] = time.perf_counter() - t0
    return run


def _merchant_ends(
    ds: xr.Dataset,
    merchant: ExclusiveSolve,
    solve: Solve,
    attrs: dict,
    options: SolverOptions,
    timings: dict[str, float],
) -> ExclusiveSolve:
    """Step 2 of the merchant mode: the system's best over the merchant batteries' price-optimal
    schedules (the run's dispatch) and the worst found (see :mod:`wattbit.network.merchant`).
    If even the best is infeasible, so is every such schedule: the one of step 1 says where."""
    optimum = float(merchant.solution.objective)
    attrs["merchant_objective_jpy"] = optimum
    start = schedules_of(merchant.model, ds, merchant_parts(ds))
    best = solve(with_duals(best_model(ds, optimum)))
    if not best.solution.has_values:
        return solve(with_duals(imposed_model(ds, start)))
    imposed = ImposedLP(ds, options, cold_imposed(ds, solve), timings)
    worst = worst_for_system(ds, start, optimum, solve, imposed)
    attrs.update(
        merchant_system_cost_best_jpy=float(best.solution.objective),
        merchant_system_cost_worst_jpy=worst.cost_jpy,
        merchant_tie_ascent_rounds=worst.rounds,
        merchant_tie_ascent_end=worst.note,
        merchant_imposed_warm_solves=imposed.warm_solves,
    )
    return best


def solve_network_case(
    loaded: LoadedNetworkCase, mode: Mode = "system", options: SolverOptions | None = None
) -> NetworkRun:
    """Solve a loaded network case end to end."""
    t0 = time.perf_counter()
    ds = build_network_inputs(loaded)
    t_inputs = time.perf_counter() - t0
    s = loaded.case.solver
    options = options or SolverOptions(
        time_limit_s=s.time_limit_s, mip_gap=s.mip_gap, threads=s.threads
    )
    run = solve_network(ds, mode, options)
    run.timings = {"inputs": t_inputs, **run.timings}
    return run


# --------------------------------------------------------------------------- results


def _stack(rows: list[np.ndarray], steps: int) -> np.ndarray:
    return np.array(rows, dtype=float).reshape(len(rows), steps)


def build_network_results(ds: xr.Dataset, m: pyo.ConcreteModel, attrs: dict) -> xr.Dataset:
    """The inputs plus every variable per component (``<dim>_<var>``), derived flows per DC,
    net injections per node, cost terms, and the accounts of every owner."""
    T, n = m.T, ds.sizes["time"]
    out = ds.copy()
    zeros = np.zeros(n)

    def put(name: str, dims: tuple[str, ...], values: np.ndarray, doc: str = "") -> None:
        out[name] = (dims, values, {"units": units_of(name), "doc": doc})

    nodes = ds["node"].values.tolist()
    hosts = {name: getattr(m.node, name) for name in nodes}
    upstream = [getattr(hosts[x], "upstream", None) for x in nodes]
    put(
        "node_upstream_import_mw",
        ("node", "time"),
        _stack([zeros if u is None else _values(u.import_mw, T) for u in upstream], n),
    )
    put(
        "node_upstream_export_mw",
        ("node", "time"),
        _stack(
            [
                _values(u.export_mw, T) if u is not None and hasattr(u, "export_mw") else zeros
                for u in upstream
            ],
            n,
        ),
    )

    def blocks(dim: str, suffix: str = "") -> list[pyo.Block | None]:
        return [
            getattr(hosts[str(node)], f"{name}{suffix}", None)
            for name, node in zip(ds[dim].values.tolist(), ds[f"{dim}_node"].values, strict=True)
        ]

    def series(dim: str, var: str, suffix: str = "") -> np.ndarray:
        return _stack(
            [zeros if b is None else _values(getattr(b, var), T) for b in blocks(dim, suffix)], n
        )

    def scalars(dim: str, var: str) -> np.ndarray:
        return np.array([getattr(b, var).value for b in blocks(dim)], dtype=float)

    td = ("dc", "time")
    sized = ds["dc_sized"].values.astype(bool)
    size = np.array(
        [
            b.size_mw.value if s else hi
            for b, s, hi in zip(blocks("dc"), sized, ds["dc_size_mw_max"].values, strict=True)
        ],
        dtype=float,
    )
    put("dc_size_mw", ("dc",), size, "DC size (peak IT power)")
    put(
        "dc_it_mw",
        td,
        np.where(sized[:, None], ds["dc_it_per_mw"].values * size[:, None], ds["dc_it_mw"].values),
        "desired IT power (at the chosen size when sized)",
    )
    put("dc_shed_it_mw", td, series("dc", "shed_it_mw"), "inflexible IT load shed")
    put(
        "dc_deferred_served_it_mw",
        td,
        series("dc", "served_it_mw", DEFERRABLE),
        "deferrable work served",
    )
    put(
        "dc_deferred_dropped_it_mw",
        td,
        series("dc", "dropped_it_mw", DEFERRABLE),
        "deferrable work dropped",
    )
    put("dc_backlog_mwh", td, series("dc", "backlog_mwh", DEFERRABLE), "deferrable work waiting")
    routes = range(ds.sizes["route"])
    move = m.geo_shift.move_it_mw if routes else None
    moves = np.array([[move[r, t].value for t in T] for r in routes], dtype=float).reshape(-1, n)
    put("route_move_it_mw", ("route", "time"), moves, "IT work moved along the route")
    dcs = ds["dc"].values.tolist()
    origin, destination = ds["route_origin"].values, ds["route_destination"].values
    gain = 1.0 + ds["route_overhead_fraction"].values[:, None]
    put(
        "dc_migrated_out_it_mw",
        td,
        _stack([moves[origin == d].sum(axis=0) for d in dcs], n),
        "work sent",
    )
    put(
        "dc_migrated_in_it_mw",
        td,
        _stack([(gain * moves)[destination == d].sum(axis=0) for d in dcs], n),
        "work received, with the energy overhead",
    )

    put("pv_capacity_mw", ("pv",), scalars("pv", "capacity_mw"))
    put("pv_generation_mw", ("pv", "time"), series("pv", "generation_mw"))
    for var in ("power_mw", "energy_mwh", "soc_initial_mwh"):
        put(f"battery_{var}", ("battery",), scalars("battery", var))
    for var in ("charge_mw", "discharge_mw", "soc_mwh"):
        put(f"battery_{var}", ("battery", "time"), series("battery", var))
    for var in ("charger_mw", "soc_initial_mwh"):
        put(f"ev_{var}", ("ev",), scalars("ev", var))
    for var in ("charge_mw", "v2g_mw", "soc_mwh"):
        put(f"ev_{var}", ("ev", "time"), series("ev", var))

    phi = None
    network = network_data(ds)
    if network.flow_model == "kvl":
        flows = _stack(
            [_values(getattr(m.branch, b).flow_mw, T) for b in ds["branch"].values.tolist()], n
        )
    else:
        phi = network.ptdf()
        flows = np.zeros((ds.sizes["branch"], n))
    injection = _node_injection(out)
    links = ds["branch_kind"].values == "link"
    for j in np.flatnonzero(links):
        flows[j] = _values(getattr(m.branch, str(ds["branch"].values[j])).flow_mw, T)
    if phi is not None:
        K = network.incidence()
        flows[~links] = (phi @ (injection - K[:, links] @ flows[links]))[~links]
    put("node_net_injection_mw", ("node", "time"), injection, "into the network")
    put("branch_flow_mw", ("branch", "time"), flows, "+ from from_node to to_node")

    owners = element_owner(ds)
    costs = [(element, term, float(pyo.value(expr))) for element, term, expr in cost_table(m)]
    out = out.assign_coords(
        cost=("cost", [f"{e}.{t}" for e, t, _ in costs]),
        cost_element=("cost", [e for e, _, _ in costs]),
        cost_term=("cost", [t for _, t, _ in costs]),
        cost_owner=("cost", [owners[e] for e, _, _ in costs]),
    )
    out["cost_jpy"] = ("cost", np.array([v for _, _, v in costs], dtype=float), {"units": "JPY/yr"})
    out["total_cost_jpy"] = ((), float(pyo.value(m.total_cost_jpy)), {"units": "JPY/yr"})
    out = _accounts(out)
    out.attrs.update(attrs)
    return add_prices(out, m)


def _node_injection(ds: xr.Dataset) -> np.ndarray:
    """Net injection of every node: its assets and upstream supply, less its base load."""
    injection = (
        -ds["node_base_load_mw"].values
        + ds["node_upstream_import_mw"].values
        - ds["node_upstream_export_mw"].values
    )
    nodes = ds["node"].values.tolist()
    for dim, draw in asset_draw(ds).items():
        for i, node in enumerate(ds[f"{dim}_node"].values):
            injection[nodes.index(node)] -= draw[i]
    return injection


def asset_draw(ds: xr.Dataset) -> dict[str, np.ndarray]:
    """Power each asset draws from the network (MW; negative = supplies), per kind."""
    share = ds["dc_deferrable_share"].values[:, None]
    it_served = (
        (1.0 - share) * ds["dc_it_mw"].values
        - ds["dc_shed_it_mw"].values
        + ds["dc_deferred_served_it_mw"].values
        - ds["dc_migrated_out_it_mw"].values
        + ds["dc_migrated_in_it_mw"].values
    )
    return {
        "dc": ds["dc_pue"].values * it_served,
        "battery": ds["battery_charge_mw"].values - ds["battery_discharge_mw"].values,
        "ev": ds["ev_charge_mw"].values - ds["ev_v2g_mw"].values,
        "pv": -ds["pv_generation_mw"].values,
    }


def _accounts(ds: xr.Dataset) -> xr.Dataset:
    """Per owner (and the network): cost terms, energy settlement, contract fees, total."""
    owners = ds["owner"].values.tolist()
    accounts = [*owners, NETWORK_OWNER]
    alpha_dt = float(ds.attrs["annual_factor"]) * float(ds.attrs["dt_h"])
    draw = np.zeros((len(owners), ds.sizes["time"]))
    for dim, values in asset_draw(ds).items():
        for i, owner in enumerate(ds[f"{dim}_owner"].values):
            draw[owners.index(owner)] += values[i]
    price = ds["owner_energy_price_jpy_per_mwh"].values
    settlement = alpha_dt * (price * draw).sum(axis=1)
    terms = np.array(
        [float(ds["cost_jpy"].where(ds["cost_owner"] == a, 0.0).sum()) for a in accounts]
    )
    fees = np.zeros(len(accounts))
    for c in range(ds.sizes["contract"]):
        fee = float(ds["contract_fee_jpy_per_year"][c])
        fees[accounts.index(str(ds["contract_dc_owner"].values[c]))] += fee
        fees[accounts.index(str(ds["contract_battery_owner"].values[c]))] -= fee
    settled = np.append(settlement, -settlement.sum())
    ds = ds.assign_coords(account=("account", accounts))
    ds["owner_draw_mw"] = (
        ("owner", "time"),
        draw,
        {"doc": "net energy drawn by the owner's assets"},
    )
    ds["account_cost_terms_jpy"] = ("account", terms, {"units": "JPY/yr"})
    ds["account_energy_settlement_jpy"] = ("account", settled, {"units": "JPY/yr"})
    ds["account_contract_fees_jpy"] = ("account", fees, {"units": "JPY/yr"})
    ds["account_total_jpy"] = (
        "account",
        terms + settled + fees,
        {"units": "JPY/yr", "doc": "cost; negative = net revenue"},
    )
    return ds


def branch_loading(ds: xr.Dataset) -> xr.DataArray:
    """|flow| / limit per branch and step (NaN where the limit is 0)."""
    limit = ds["branch_limit_mw"]
    return abs(ds["branch_flow_mw"]) / limit.where(limit > 0)


def at_limit(ds: xr.Dataset) -> xr.DataArray:
    """Whether each branch carries its (non-zero) limit at each step."""
    limit = ds["branch_limit_mw"]
    return (abs(ds["branch_flow_mw"]) >= limit - AT_LIMIT_TOL) & (limit > AT_LIMIT_TOL)


def network_kpis(ds: xr.Dataset) -> dict[str, float]:
    """Headline figures: energies over the horizon (MWh, hours in h), costs annualised (JPY/yr)."""
    dt = float(ds.attrs["dt_h"])
    out: dict[str, float] = {"horizon_h": ds.sizes["time"] * dt}

    def energy(name: str) -> float:
        return float(ds[name].sum()) * dt

    full = at_limit(ds)
    out["congested_hours_h"] = float(full.any("branch").sum()) * dt
    out["branch_hours_at_limit_h"] = float(full.sum()) * dt
    loading = branch_loading(ds)
    out["max_branch_loading_fraction"] = float(loading.max()) if loading.size else 0.0
    for b in ds["branch"].values.tolist():
        out[f"branch_{b}_hours_at_limit_h"] = float(full.sel(branch=b).sum()) * dt
    reverse = ds["node_reverse_flow_limit_mw"]
    back = ds["node_net_injection_mw"].where(ds["node_slack"] == 0, ds["node_upstream_export_mw"])
    binding = (back > AT_LIMIT_TOL) & (back >= reverse - AT_LIMIT_TOL)
    out["reverse_flow_hours_h"] = float((back > AT_LIMIT_TOL).any("node").sum()) * dt
    out["reverse_flow_hours_at_limit_h"] = float(binding.any("node").sum()) * dt

    for name, sized, size in zip(
        ds["dc"].values.tolist(), ds["dc_sized"].values, ds["dc_size_mw"].values, strict=True
    ):
        if sized:
            out[f"dc_{name}_size_mw"] = float(size)
    out["dc_it_demand_mwh"] = energy("dc_it_mw")
    out["dc_it_shed_mwh"] = energy("dc_shed_it_mw")
    out["dc_it_dropped_mwh"] = energy("dc_deferred_dropped_it_mw")
    out["dc_it_curtailed_mwh"] = out["dc_it_shed_mwh"] + out["dc_it_dropped_mwh"]
    out["dc_it_deferred_mwh_h"] = energy("dc_backlog_mwh")
    out["dc_it_migrated_mwh"] = energy("route_move_it_mw")
    out["upstream_import_mwh"] = energy("node_upstream_import_mw")
    out["upstream_export_mwh"] = energy("node_upstream_export_mw")
    out["upstream_peak_import_mw"] = float(ds["node_upstream_import_mw"].sum("node").max())
    available = float((ds["pv_availability"] * ds["pv_capacity_mw"]).sum()) * dt
    out["pv_curtailed_mwh"] = available - energy("pv_generation_mw")
    out["battery_discharge_mwh"] = energy("battery_discharge_mw")
    both = np.minimum(ds["battery_charge_mw"], ds["battery_discharge_mw"]) > SIMULTANEOUS_TOL_MW
    out["battery_simultaneous_steps"] = float(both.any("battery").sum())
    out["ev_charge_mwh"] = energy("ev_charge_mw")
    out["ev_v2g_mwh"] = energy("ev_v2g_mw")
    both = np.minimum(ds["ev_charge_mw"], ds["ev_v2g_mw"]) > SIMULTANEOUS_TOL_MW
    out["ev_simultaneous_steps"] = float(both.any("ev").sum())
    for account in ds["account"].values.tolist():
        out[f"account_{account}_jpy"] = float(ds["account_total_jpy"].sel(account=account))
    for end in ("best", "worst"):
        name = f"merchant_system_cost_{end}_jpy"
        if name in ds.attrs:
            out[name] = float(ds.attrs[name])
    out.update(price_kpis(ds, asset_draw(ds)))
    out["total_cost_jpy"] = float(ds["total_cost_jpy"])
    return out
