"""Prices in the network from the system LP's duals: nodal prices, branch shadow prices, the value
of each size bound, congestion rent, and what each asset is worth at nodal prices.

Every constraint's dual y is HiGHS's ``∂ total cost / ∂ right-hand side`` (JPY/yr per MW at one
step, :func:`wattbit.solve.load_duals`). Dividing by the annualisation factor α and the step
length Δt gives JPY/MWh:

.. math::

    λ_{n,t} = \\frac{1}{αΔt}\\,\\frac{∂\\,\\text{cost}}{∂D_{n,t}}
            = \\frac{1}{αΔt}\\Big(y^{N4}_{n,t} + y^{N2}_{n,t}\\Big)                \\quad (L1)

    μ_{l,t} = −\\frac{1}{αΔt}\\Big(y^{N3+}_{l,t} + y^{N3−}_{l,t}\\Big)            \\quad (L2)

    λ_{n,t} = λ_{I(n),t} − \\textstyle\\sum_l Φ_{l,n}\\, μ_{l,t} + y^{N2}_{n,t}/(αΔt)  \\quad (L3)

    \\text{rent}_l = αΔt \\textstyle\\sum_t μ_{l,t} f_{l,t}                       \\quad (L4)

    −αΔt \\textstyle\\sum_{n,t} λ_{n,t}\\, p_{n,t} = \\sum_l \\text{rent}_l
        + αΔt \\textstyle\\sum_{n,t} ρ_{n,t}\\, p_{n,t}                          \\quad (L5)

=============  ==================================================================  ========
symbol         meaning                                                             unit
=============  ==================================================================  ========
λ_{n,t}        nodal price: the system's cost of one more MWh consumed at n in t    JPY/MWh
D_{n,t}        other customers' load at n (N1)                                     MW
y^{N4}, y^{N2}  duals of n's balance (KVL model) and reverse-flow limit             JPY/yr/MW
y^{N3±}        duals of branch l's upper / lower flow limit                         JPY/yr/MW
μ_{l,t}        branch shadow price: the cost saved by one more MW of l's limit in
               the direction of its flow, for one hour; + when the flow is held at
               +F, − at −F, 0 when the branch is not congested                     JPY/MWh
λ_{I,t}        price of island I: the dual of its balance (N8, PTDF model)          JPY/MWh
Φ_{l,n}        PTDF (reference: the island's slack)                                –
ρ_{n,t}        reverse-flow shadow price −y^{N2}/(αΔt): the cost saved by one more MW
               of n's reverse-flow limit for one hour                              JPY/MWh
α, Δt          annualisation factor, step length                                   –, h
=============  ==================================================================  ========

(L1) holds in both flow models, with the rows in which D appears: the node's balance (N4; in the
PTDF model the island balance N8 and, through Φ, every line limit) and its reverse-flow limit
(N2). (L3) is (L1) written out for the PTDF model: a price difference along the network is the
branch shadow prices times the PTDF. With exclusivity binaries the duals are those of the LP with
the binaries fixed (``duals_source`` in the results' attrs).

Assets valued at nodal prices: an asset drawing ``d_t`` at node n earns ``−αΔt Σ λ_{n,t} d_t``
(JPY/yr; its cost terms apart); its *congestion value* is the part due to location,
``−αΔt Σ (λ_{n,t} − λ_{s,t}) d_t`` with s the slack node of its island — what a battery earns by
relieving congestion rather than by shifting energy in time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyomo.environ as pyo
import xarray as xr

from wattbit.formulations.network import NetworkData
from wattbit.network.case import NETWORK_OWNER
from wattbit.network.model import network_data
from wattbit.solve import request_duals

CONGESTED_TOL = 1e-3
"""A branch counts as congested at a step when |μ| exceeds this (JPY/MWh): a thousandth of a yen,
far above HiGHS's dual tolerance on these costs and far below any price."""

SIZES = (
    ("dc", "size_mw"),
    ("battery", "power_mw"),
    ("battery", "energy_mwh"),
    ("pv", "capacity_mw"),
    ("ev", "charger_mw"),
)


def with_duals(
    build: Callable[[dict[str, set[int]]], pyo.ConcreteModel],
) -> Callable[[dict[str, set[int]]], pyo.ConcreteModel]:
    """The builder ``build`` with a ``dual`` import suffix on its model, so that the solve loads
    every constraint's dual and every variable's reduced cost into it."""

    return lambda exclusive: request_duals(build(exclusive))


def _duals(suffix: pyo.Suffix, rows: pyo.Constraint | None, steps: int) -> np.ndarray:
    if rows is None:
        return np.zeros(steps)
    return np.fromiter((suffix.get(rows[t], 0.0) for t in range(steps)), float, steps)


def add_prices(out: xr.Dataset, m: pyo.ConcreteModel) -> xr.Dataset:
    """Add nodal prices (L1), branch shadow prices (L2) and the size bounds' values to the results
    ``out`` of the solved system model ``m``; nothing if ``m`` has no duals."""
    suffix = getattr(m, "dual", None)
    if not isinstance(suffix, pyo.Suffix) or not len(suffix):
        return out
    n = out.sizes["time"]
    scale = float(out.attrs["annual_factor"]) * float(out.attrs["dt_h"])
    network = network_data(out)
    branches = [getattr(m.branch, br.name) for br in network.branches]
    y_max = np.array([_duals(suffix, b.flow_max, n) for b in branches]).reshape(-1, n)
    y_min = np.array([_duals(suffix, b.flow_min, n) for b in branches]).reshape(-1, n)
    shadow = -(y_max + y_min) / scale
    security = _security_shadow(suffix, network, branches, n) / scale
    nodes = [getattr(m.node, node.name) for node in network.nodes]
    reverse = np.array([_duals(suffix, getattr(b, "reverse_flow_max", None), n) for b in nodes])
    if network.flow_model == "kvl":
        balance = np.array([_duals(suffix, b.balance, n) for b in nodes])
        price = (balance + reverse) / scale
    else:
        island_price = np.zeros((len(nodes), n))
        for i, island in enumerate(network.islands()):
            row = np.fromiter((suffix.get(m.network.balance[i, t], 0.0) for t in range(n)), float)
            island_price[island] = row / scale
        phi = network.ptdf()
        price = island_price - phi.T @ shadow + reverse / scale
        if network.contingencies:  # N9 rows hold D through the flows after each outage
            L, names = network.lodf(), [br.name for br in network.branches]
            for c, k in enumerate(network.contingencies):
                moved = phi + np.outer(L[:, c], phi[names.index(k)])
                price -= moved.T @ security[:, c]
    out["node_price_jpy_per_mwh"] = (
        ("node", "time"),
        price.reshape(len(nodes), n),
        {"units": "JPY/MWh", "doc": "nodal price: cost of one more MWh consumed at the node (L1)"},
    )
    out["branch_shadow_price_jpy_per_mwh"] = (
        ("branch", "time"),
        shadow,
        {
            "units": "JPY/MWh",
            "doc": "cost saved per MW more limit for one hour; sign = direction of the flow (L2)",
        },
    )
    out["node_reverse_flow_shadow_price_jpy_per_mwh"] = (
        ("node", "time"),
        -reverse / scale,
        {
            "units": "JPY/MWh",
            "doc": "cost saved per MW more reverse-flow limit for one hour (N2's dual)",
        },
    )
    if network.contingencies:
        out["branch_n1_shadow_price_jpy_per_mwh"] = (
            ("branch", "contingency", "time"),
            security,
            {
                "units": "JPY/MWh",
                "doc": "cost saved per MW more limit after the outage, for one hour (N9's dual)",
            },
        )
    for dim, var in SIZES:
        blocks = [
            getattr(getattr(m.node, str(node)), name)
            for name, node in zip(out[dim].values.tolist(), out[f"{dim}_node"].values, strict=True)
        ]
        out[f"{dim}_{var}_bound_value_jpy"] = (
            (dim,),
            np.array(
                [suffix.get(getattr(b, var), 0.0) if hasattr(b, var) else 0.0 for b in blocks],
                dtype=float,
            ),
            {
                "units": f"JPY/yr per {'MWh' if var.endswith('mwh') else 'MW'}",
                "doc": "reduced cost: change of the total cost per unit the binding size bound "
                "is raised (negative at a binding upper bound: more size would save)",
            },
        )
    return out


def _security_shadow(
    suffix: pyo.Suffix, network: NetworkData, branches: list[pyo.Block], n: int
) -> np.ndarray:
    """−(y^{N9+} + y^{N9−}) per branch, contingency and step (JPY/yr per MW; 0 where none)."""
    out = np.zeros((len(branches), len(network.contingencies), n))
    for j, blk in enumerate(branches):
        if not hasattr(blk, "n1_max"):
            continue
        for c, k in enumerate(network.contingencies):
            if k in blk.N1:
                out[j, c] = -np.fromiter(
                    (
                        suffix.get(blk.n1_max[k, t], 0.0) + suffix.get(blk.n1_min[k, t], 0.0)
                        for t in range(n)
                    ),
                    float,
                    n,
                )
    return out


def slack_price(ds: xr.Dataset) -> np.ndarray:
    """The price of the slack node of each node's island (node × time)."""
    network = network_data(ds)
    price = ds["node_price_jpy_per_mwh"].values
    reference = np.zeros_like(price)
    for island in network.islands():
        reference[island] = price[island[0]]
    return reference


def asset_values(ds: xr.Dataset, draw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per asset kind: each asset's energy value at nodal prices and its congestion value (JPY/yr;
    see the module doc), stacked as (asset, 2)."""
    alpha_dt = float(ds.attrs["annual_factor"]) * float(ds.attrs["dt_h"])
    nodes = ds["node"].values.tolist()
    price = ds["node_price_jpy_per_mwh"].values
    location = price - slack_price(ds)
    out = {}
    for dim, values in draw.items():
        at = [nodes.index(str(x)) for x in ds[f"{dim}_node"].values]
        nodal = -alpha_dt * (price[at] * values).sum(axis=1)
        congestion = -alpha_dt * (location[at] * values).sum(axis=1)
        out[dim] = np.stack([nodal, congestion], axis=1).reshape(len(at), 2)
    return out


def nodal_accounts(ds: xr.Dataset, draw: dict[str, np.ndarray]) -> np.ndarray:
    """Every account's total (JPY/yr, the order of ``ds.account``) with each asset's energy settled
    at its node's price instead of its owner's: cost terms and contract fees as before, and the
    network collects what the owners pay (the congestion rent among it)."""
    accounts = ds["account"].values.tolist()
    alpha_dt = float(ds.attrs["annual_factor"]) * float(ds.attrs["dt_h"])
    nodes = ds["node"].values.tolist()
    price = ds["node_price_jpy_per_mwh"].values
    settled = np.zeros(len(accounts))
    for dim, values in draw.items():
        for i, (node, owner) in enumerate(
            zip(ds[f"{dim}_node"].values, ds[f"{dim}_owner"].values, strict=True)
        ):
            settled[accounts.index(str(owner))] += alpha_dt * float(
                price[nodes.index(str(node))] @ values[i]
            )
    settled[accounts.index(NETWORK_OWNER)] -= settled.sum()
    return ds["account_cost_terms_jpy"].values + ds["account_contract_fees_jpy"].values + settled


def post_flows(ds: xr.Dataset) -> xr.DataArray:
    """Flow on every branch after each listed outage (branch × contingency × time, MW; N9)."""
    network = network_data(ds)
    L = network.lodf()
    names = [br.name for br in network.branches]
    flow = ds["branch_flow_mw"].values
    moved = np.stack(
        [
            flow + np.outer(L[:, c], flow[names.index(k)])
            for c, k in enumerate(network.contingencies)
        ],
        axis=1,
    ).reshape(len(names), len(network.contingencies), ds.sizes["time"])
    return xr.DataArray(moved, dims=("branch", "contingency", "time"))


def price_kpis(ds: xr.Dataset, draw: dict[str, np.ndarray]) -> dict[str, float]:
    """Congestion hours (|μ| > ``CONGESTED_TOL``) and rent (L4) per branch, price statistics per
    node, each asset's value at nodal prices; empty without prices."""
    if "node_price_jpy_per_mwh" not in ds:
        return {}
    dt = float(ds.attrs["dt_h"])
    alpha_dt = float(ds.attrs["annual_factor"]) * dt
    out: dict[str, float] = {}
    shadow = ds["branch_shadow_price_jpy_per_mwh"]
    congested = abs(shadow) > CONGESTED_TOL
    rent = alpha_dt * (shadow * ds["branch_flow_mw"]).sum("time")
    if "branch_n1_shadow_price_jpy_per_mwh" in ds:
        secure = ds["branch_n1_shadow_price_jpy_per_mwh"]
        rent = rent + alpha_dt * (secure * post_flows(ds)).sum(("contingency", "time"))
        after = (abs(secure) > CONGESTED_TOL).any("contingency")
        out["n1_binding_hours_h"] = float(after.any("branch").sum()) * dt
        congested = congested | after
    out["congested_hours_by_price_h"] = float(congested.any("branch").sum()) * dt
    out["congestion_rent_jpy"] = float(rent.sum())
    for b in ds["branch"].values.tolist():
        out[f"branch_{b}_congested_hours_h"] = float(congested.sel(branch=b).sum()) * dt
        out[f"branch_{b}_congestion_rent_jpy"] = float(rent.sel(branch=b))
    reverse = ds["node_reverse_flow_shadow_price_jpy_per_mwh"]
    out["reverse_flow_rent_jpy"] = alpha_dt * float((reverse * ds["node_net_injection_mw"]).sum())
    price = ds["node_price_jpy_per_mwh"]
    for node in ds["node"].values.tolist():
        out[f"node_{node}_mean_price_jpy_per_mwh"] = float(price.sel(node=node).mean())
        out[f"node_{node}_max_price_jpy_per_mwh"] = float(price.sel(node=node).max())
    for dim, values in asset_values(ds, draw).items():
        for name, (nodal, congestion) in zip(ds[dim].values.tolist(), values, strict=True):
            out[f"{dim}_{name}_value_at_nodal_prices_jpy"] = float(nodal)
            out[f"{dim}_{name}_congestion_value_jpy"] = float(congestion)
    accounts = ds["account"].values.tolist()
    for account, total in zip(accounts, nodal_accounts(ds, draw), strict=True):
        out[f"account_{account}_at_nodal_prices_jpy"] = float(total)
    return out
