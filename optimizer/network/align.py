"""A contract that aligns merchant batteries with the system optimum, and what it costs whom.

The contract has three parts:

* **a locational price signal** — each merchant part's energy is settled at the nodal price λ of
  the system optimum (:mod:`wattbit.network.prices`) instead of its owner's flat price p: the
  network pays the owner ``αΔt Σ_t (λ_{n,t} − p_t)(discharge_t − charge_t)`` (a contract for
  differences on the flat price). This is what steers the dispatch.
* **a deviation charge** — ``DEVIATION_CHARGE`` JPY per MWh charged or discharged away from the
  system schedule x* (sizes as in x*). It is never paid at x*; it only breaks the owner's ties.
* **an availability payment** — a fixed sum A per year, so that the owner is no worse off than as
  a merchant at flat prices: ``A = max(0, cost under the contract − merchant cost π*)``. Being
  fixed, it does not change the owner's best response. With several merchant owners it is split
  equally among them (an assumption: any split that leaves each no worse off would do).

Why the price signal makes x* a best response (Lagrangian decomposition, an LP fact): the system
LP's only rows that couple a battery part to the rest of the system are those in which its
injection appears — the rows that define λ (L1). Relax them with their optimal duals and the
system problem separates; the part's own problem is then exactly "minimise its cost terms plus
its energy bought at λ, less sold", and x* solves it (complementary slackness holds for its own
rows). It need not be the only solution: where λ leaves the owner indifferent (a battery at the
margin earns exactly nothing on the energy it shifts) another schedule is as good for the owner
and may cost the system more — :func:`align` reports HiGHS's pick under the price alone too. Any
positive deviation charge makes x* the only best response: every other schedule costs the owner
at least as much at λ and strictly more in charges. The check is the system's cost with the
response imposed. With exclusivity binaries the argument holds for the LP with the binaries
fixed (the prices' ``duals_source``), not for the merchant's MIP.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import xarray as xr

from wattbit.formulations.site import cost_terms
from wattbit.network.case import NETWORK_OWNER
from wattbit.network.merchant import FLOWS, SIZES, Schedules, imposed_model, schedules_of
from wattbit.network.model import battery_blocks, create_merchant_model, merchant_parts
from wattbit.network.prices import nodal_accounts
from wattbit.network.run import asset_draw
from wattbit.optimise import ExclusiveSolve, solve_exclusive
from wattbit.solve import SolverOptions

Builder = Callable[[dict[str, set[int]]], pyo.ConcreteModel]
DEVIATION_CHARGE = 1.0
"""JPY per MWh charged or discharged away from the contract's schedule: any positive charge makes
the schedule the owner's only best response; this one is far below any price in the cases."""


@dataclass
class Response:
    """An owners' best response and what it does to the system."""

    owner_cost_jpy: float
    """The owners' cost at the response (their objective, deviation charges included)."""
    system_cost_jpy: float
    """The system's least cost with the response imposed (inf: no dispatch of the rest of the
    system can absorb it)."""
    max_deviation_mw: float
    """Largest |response − system schedule| over the parts' charge and discharge."""


@dataclass
class Alignment:
    """The contract's terms and what each party pays under each settlement (JPY/yr)."""

    parts: list[str]
    price_signal_payment_jpy: dict[str, float]
    """Per merchant part, paid by the network to its owner at the system optimum."""
    availability_payment_jpy: float
    """Fixed, paid by the network to the merchant owners (0 if the price signal already leaves
    them as well off as at flat prices)."""
    owner_cost_merchant_jpy: float
    """π*: the merchant parts' owners' cost as merchants at their flat prices."""
    owner_cost_contract_jpy: float
    """Their cost at the best response under the price signal (payment included)."""
    system_cost_jpy: float
    price_only: Response
    """The owners' best response to the nodal prices alone (HiGHS's pick among their ties)."""
    contract: Response
    """Their best response to the contract."""
    accounts: xr.Dataset
    """``account_total_jpy`` by account and settlement (flat, nodal, contract)."""

    def reproduces_optimum(self, response: Response) -> bool:
        """Whether ``response`` imposed costs the system its optimum (relative 1e-9)."""
        return bool(np.isclose(response.system_cost_jpy, self.system_cost_jpy, rtol=1e-9))

    def terms(self) -> dict[str, float]:
        """The contract's terms and the owners' responses as one flat table (JPY/yr, MW;
        ``…_reproduces_optimum`` 1 or 0; a system cost of ``inf``: the response is infeasible)."""
        out = {f"price_signal_payment_{p}_jpy": v for p, v in self.price_signal_payment_jpy.items()}
        out["availability_payment_jpy"] = self.availability_payment_jpy
        out["owner_cost_merchant_jpy"] = self.owner_cost_merchant_jpy
        out["owner_cost_contract_jpy"] = self.owner_cost_contract_jpy
        out["system_cost_jpy"] = self.system_cost_jpy
        for name, response in (("price_only", self.price_only), ("contract", self.contract)):
            out[f"{name}_owner_cost_jpy"] = response.owner_cost_jpy
            out[f"{name}_system_cost_jpy"] = response.system_cost_jpy
            out[f"{name}_max_deviation_mw"] = response.max_deviation_mw
            out[f"{name}_reproduces_optimum"] = float(self.reproduces_optimum(response))
        return out

    def table(self) -> pd.DataFrame:
        """``account_total_jpy``: one row per account, one column per settlement."""
        return self.accounts["account_total_jpy"].to_pandas()

    def write(self, out: Path) -> list[Path]:
        """``alignment.csv`` (the accounts under each settlement) and ``alignment.json`` (the
        terms; an infeasible response's system cost as ``null``) in ``out``."""
        out.mkdir(parents=True, exist_ok=True)
        csv, js = out / "alignment.csv", out / "alignment.json"
        self.table().to_csv(csv)
        terms = {k: v if np.isfinite(v) else None for k, v in self.terms().items()}
        js.write_text(json.dumps({"parts": self.parts, "terms": terms}, indent=2))
        return [csv, js]


def _solve(ds: xr.Dataset, build: Builder, options: SolverOptions) -> ExclusiveSolve:
    modes = dict(
        zip(ds["battery"].values.tolist(), ds["battery_exclusive"].values.tolist(), strict=True)
    )
    return solve_exclusive(build, lambda m: battery_blocks(m, ds), modes, options, {})


def node_price_of_parts(ds: xr.Dataset, parts: list[str]) -> dict[str, np.ndarray]:
    """The nodal price at each part's node (JPY/MWh per step)."""
    index = ds["battery"].values.tolist()
    node = ds["battery_node"].values
    return {
        p: ds["node_price_jpy_per_mwh"].sel(node=str(node[index.index(p)])).values for p in parts
    }


def system_schedules(ds: xr.Dataset, parts: list[str]) -> Schedules:
    """Sizes and charge/discharge of the listed parts in the result ``ds``."""
    index = ds["battery"].values.tolist()
    return {
        p: {
            "sizes": {name: float(ds[f"battery_{name}"].values[index.index(p)]) for name in SIZES},
            "flows": {
                name: dict(enumerate(ds[f"battery_{name}"].values[index.index(p)].tolist()))
                for name in FLOWS
            },
        }
        for p in parts
    }


def best_response(
    ds: xr.Dataset,
    prices: dict[str, np.ndarray],
    options: SolverOptions,
    anchor: Schedules | None = None,
    charge_jpy_per_mwh: float = DEVIATION_CHARGE,
) -> ExclusiveSolve:
    """The merchant parts' owners' best response when each part's energy is settled at
    ``prices[part]``: their own model (state of charge, cost terms), blind to the network,
    minimising cost terms plus energy bought less sold at those prices. With an ``anchor``
    (the contract's schedule) the sizes are the anchor's and every MWh charged or discharged
    away from the anchor's schedule pays ``charge_jpy_per_mwh``."""
    alpha_dt = float(ds.attrs["annual_factor"]) * float(ds.attrs["dt_h"])

    def build(exclusive: dict[str, set[int]]) -> pyo.ConcreteModel:
        m = create_merchant_model(ds, exclusive)
        m.objective.deactivate()
        blocks = battery_blocks(m, ds)
        cost = [
            alpha_dt * prices[p][t] * (blocks[p].charge_mw[t] - blocks[p].discharge_mw[t])
            for p in prices
            for t in m.T
        ]
        if anchor is not None:
            m.deviation = pyo.Block()
            for p, schedule in anchor.items():
                for name, value in schedule["sizes"].items():
                    getattr(blocks[p], name).fix(value)
                for name, values in schedule["flows"].items():
                    var = getattr(blocks[p], name)
                    up, down = pyo.Var(m.T, bounds=(0, None)), pyo.Var(m.T, bounds=(0, None))
                    m.deviation.add_component(f"{p}_{name}_above", up)
                    m.deviation.add_component(f"{p}_{name}_below", down)
                    m.deviation.add_component(
                        f"{p}_{name}_split",
                        pyo.Constraint(
                            m.T,
                            rule=lambda b, t, v=var, u=up, d=down, x=values: (
                                v[t] - x[t] == u[t] - d[t]
                            ),
                        ),
                    )
                    cost += [alpha_dt * charge_jpy_per_mwh * (up[t] + down[t]) for t in m.T]
        m.contract_cost_jpy = pyo.Expression(
            expr=pyo.quicksum(cost_terms(m).values()) + pyo.quicksum(cost)
        )
        m.contract_objective = pyo.Objective(expr=m.contract_cost_jpy, sense=pyo.minimize)
        return m

    return _solve(ds, build, options)


def price_signal_payments(ds: xr.Dataset, parts: list[str]) -> dict[str, float]:
    """αΔt Σ (λ − p)(discharge − charge) per part at the dispatch in ``ds``."""
    alpha_dt = float(ds.attrs["annual_factor"]) * float(ds.attrs["dt_h"])
    index = ds["battery"].values.tolist()
    lam = node_price_of_parts(ds, parts)
    out = {}
    for p in parts:
        i = index.index(p)
        flat = ds["owner_energy_price_jpy_per_mwh"].sel(owner=str(ds["battery_owner"].values[i]))
        net = ds["battery_discharge_mw"].values[i] - ds["battery_charge_mw"].values[i]
        out[p] = alpha_dt * float((lam[p] - flat.values) @ net)
    return out


def respond(
    system: xr.Dataset, options: SolverOptions, anchor: Schedules | None = None
) -> Response:
    """The owners' best response to the system optimum's nodal prices (with the deviation charge
    around ``anchor`` if given), imposed on the system."""
    parts = merchant_parts(system)
    response = best_response(system, node_price_of_parts(system, parts), options, anchor)
    if not response.solution.has_values:
        raise ValueError(f"the owners' best response failed: {response.solution.message}")
    schedules = schedules_of(response.model, system, parts)
    imposed = _solve(system, imposed_model(system, schedules), options)
    cost = float(imposed.solution.objective) if imposed.solution.has_values else float("inf")
    ours = system_schedules(system, parts)
    deviation = max(
        (
            abs(schedules[p]["flows"][name][t] - ours[p]["flows"][name][t])
            for p in parts
            for name in FLOWS
            for t in ours[p]["flows"][name]
        ),
        default=0.0,
    )
    return Response(float(response.solution.objective), cost, deviation)


def align(system: xr.Dataset, options: SolverOptions) -> Alignment:
    """The contract for the merchant parts of a system-mode result ``system`` (with prices), the
    owners' best response to it — to the nodal prices alone, and to the contract (nodal prices
    plus the deviation charge around the system schedule) — and the accounts under flat prices,
    nodal prices and the contract. The availability payment is sized on π*, the owners' cost as
    merchants at their flat prices (step 1 of the merchant mode, solved here)."""
    if "node_price_jpy_per_mwh" not in system:
        raise ValueError("the system run carries no nodal prices (no duals)")
    parts = merchant_parts(system)
    merchant = _solve(system, lambda x: create_merchant_model(system, x), options)
    if not merchant.solution.has_values:
        raise ValueError(f"the merchant batteries' own solve failed: {merchant.solution.message}")
    merchant_cost_jpy = float(merchant.solution.objective)
    price_only = respond(system, options)
    contract = respond(system, options, system_schedules(system, parts))
    payments = price_signal_payments(system, parts)
    availability = max(0.0, contract.owner_cost_jpy - merchant_cost_jpy)
    return Alignment(
        parts=parts,
        price_signal_payment_jpy=payments,
        availability_payment_jpy=availability,
        owner_cost_merchant_jpy=merchant_cost_jpy,
        owner_cost_contract_jpy=contract.owner_cost_jpy - availability,
        system_cost_jpy=float(system["total_cost_jpy"]),
        price_only=price_only,
        contract=contract,
        accounts=_settlements(system, parts, payments, availability),
    )


def _settlements(
    ds: xr.Dataset, parts: list[str], payments: dict[str, float], availability: float
) -> xr.Dataset:
    accounts = ds["account"].values.tolist()
    flat = ds["account_total_jpy"].values
    contract = flat.copy()
    index = ds["battery"].values.tolist()
    owners = {str(ds["battery_owner"].values[index.index(p)]) for p in parts}
    network = accounts.index(NETWORK_OWNER)
    for p, paid in payments.items():
        contract[accounts.index(str(ds["battery_owner"].values[index.index(p)]))] -= paid
        contract[network] += paid
    for owner in sorted(owners):  # the availability payment shared equally among the owners
        contract[accounts.index(owner)] -= availability / len(owners)
    contract[network] += availability if owners else 0.0
    nodal = nodal_accounts(ds, asset_draw(ds))
    totals = np.stack([flat, nodal, contract], axis=1)
    return xr.Dataset(
        {"account_total_jpy": (("account", "settlement"), totals, {"units": "JPY/yr"})},
        coords={"account": accounts, "settlement": ["flat", "nodal", "contract"]},
    )
