"""Merchant batteries' ties made explicit: of the schedules that earn their owners the most, the
best and the worst for the system.

The merchant batteries' own problem (step 1 of the merchant mode) often has many optimal
schedules — two steps at the same price, say — and which one HiGHS returns changes what the
system pays in step 2. Write Opt for the set of the merchant parts' schedules and sizes S whose
owners' cost is within ``TIE_TOL`` (relative) of their optimum π*, and V(S) for the least system
cost with S imposed. Both ends of V over Opt are reported:

* **best** — min over S ∈ Opt of V(S) is one LP (MILP with exclusivity binaries): the system
  model with the merchant parts free but held to π*, ``merchant cost ≤ π* (1 + TIE_TOL)``. Exact.
  Its dispatch is the merchant mode's result.
* **worst** — max over S ∈ Opt of V(S). V is convex in S (the optimum of an LP as a function of
  its right-hand side), so the maximum lies at a vertex of Opt, but maximising a convex function
  is hard in general. Successive linearisation: at S, the reduced costs g of the imposed schedule
  in the system LP are a subgradient of V, so for S' = argmax over Opt of gᵀS' (an LP on the
  merchant model), V(S') ≥ V(S) + gᵀ(S' − S) ≥ V(S). Starting from the schedule HiGHS returned in
  step 1, repeat while V rises by more than ``TIE_TOL`` (relative), at most
  ``MAX_ASCENT_ROUNDS`` times. It ends at a local maximum: a lower bound of the worst, exact when V
  is linear on Opt (one tie, as in ``tests/test_network_edges.py``). With exclusivity binaries in
  the system solve there are no reduced costs and the worst is V at the step-1 schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
import xarray as xr

from wattbit.formulations.site import COST_PREFIX, COST_SUFFIX
from wattbit.network.model import (
    battery_blocks,
    create_merchant_model,
    create_network_model,
    merchant_parts,
)
from wattbit.optimise import ExclusiveSolve

TIE_TOL = 1e-9
MAX_ASCENT_ROUNDS = 4
SIZES = ("power_mw", "energy_mwh")
FLOWS = ("charge_mw", "discharge_mw")

Schedules = dict[str, dict[str, dict]]
Gradient = dict[str, dict[str, dict]]
Solve = Callable[[Callable[[dict[str, set[int]]], pyo.ConcreteModel]], ExclusiveSolve]


def schedules_of(m: pyo.ConcreteModel, ds: xr.Dataset, parts: list[str]) -> Schedules:
    """Sizes and charge/discharge of the listed battery parts, by part."""
    blocks = battery_blocks(m, ds)
    return {
        part: {
            "sizes": {name: getattr(blocks[part], name).value for name in SIZES},
            "flows": {
                name: {t: max(v.value, 0.0) for t, v in getattr(blocks[part], name).items()}
                for name in FLOWS
            },
        }
        for part in parts
    }


def impose(m: pyo.ConcreteModel, ds: xr.Dataset, schedules: Schedules) -> None:
    """Hold the parts' sizes, charge and discharge at the values given, as bounds (so that the
    system LP reports their reduced costs); their state of charge follows from them (holding it
    too would leave rows that only rounding breaks)."""
    blocks = battery_blocks(m, ds)
    for part, schedule in schedules.items():
        for name, value in schedule["sizes"].items():
            getattr(blocks[part], name).setlb(value)
            getattr(blocks[part], name).setub(value)
        for name, values in schedule["flows"].items():
            var = getattr(blocks[part], name)
            for t, v in values.items():
                var[t].setlb(v)
                var[t].setub(v)


def is_imposed(block: pyo.Block) -> bool:
    """Whether a battery part's schedule is held by :func:`impose` (it needs no binaries)."""
    first = block.charge_mw[0]
    return first.fixed or (first.lb is not None and first.lb == first.ub)


def merchant_cost(m: pyo.ConcreteModel, ds: xr.Dataset) -> pyo.Expression:
    """The merchant parts' owners' cost in a network or merchant model: their cost terms (capex,
    wear) plus their energy bought at the owner's price, less energy sold (annualised)."""
    alpha_dt = float(ds.attrs["annual_factor"]) * float(ds.attrs["dt_h"])
    index = {p: i for i, p in enumerate(ds["battery"].values.tolist())}
    prices = ds["owner_energy_price_jpy_per_mwh"]
    blocks = battery_blocks(m, ds)
    total = []
    for part in merchant_parts(ds):
        blk = blocks[part]
        owner = str(ds["battery_owner"].values[index[part]])
        price = prices.sel(owner=owner).values.tolist()
        total += [
            e
            for e in blk.component_objects(pyo.Expression, descend_into=False)
            if e.local_name.startswith(COST_PREFIX) and e.local_name.endswith(COST_SUFFIX)
        ]
        total.append(
            alpha_dt
            * pyo.quicksum(
                price[t] * (blk.charge_mw[t] - blk.discharge_mw[t]) for t in blk.charge_mw
            )
        )
    return pyo.quicksum(total)


def _hold(m: pyo.ConcreteModel, ds: xr.Dataset, optimum: float) -> None:
    m.merchant_optimum = pyo.Constraint(
        expr=merchant_cost(m, ds) <= optimum + TIE_TOL * max(1.0, abs(optimum))
    )


def best_model(ds: xr.Dataset, optimum: float) -> Callable[[dict], pyo.ConcreteModel]:
    """Builder of the system model with the merchant parts free but held to their optimum."""

    def build(exclusive: dict[str, set[int]]) -> pyo.ConcreteModel:
        m = create_network_model(ds, exclusive)
        _hold(m, ds, optimum)
        return m

    return build


def imposed_model(ds: xr.Dataset, schedules: Schedules) -> Callable[[dict], pyo.ConcreteModel]:
    """Builder of the system model with the schedules imposed, reporting reduced costs."""

    def build(exclusive: dict[str, set[int]]) -> pyo.ConcreteModel:
        m = create_network_model(ds, exclusive)
        impose(m, ds, schedules)
        m.rc = pyo.Suffix(direction=pyo.Suffix.IMPORT)
        return m

    return build


def _gradient(m: pyo.ConcreteModel, ds: xr.Dataset) -> Gradient | None:
    """Reduced costs of the imposed parts' sizes and flows (None without LP duals)."""
    if not len(m.rc):
        return None
    blocks = battery_blocks(m, ds)
    out: dict[str, dict[str, dict]] = {}
    for part in merchant_parts(ds):
        blk = blocks[part]
        out[part] = {name: {None: m.rc.get(getattr(blk, name), 0.0)} for name in SIZES}
        for name in FLOWS:
            var = getattr(blk, name)
            out[part][name] = {t: m.rc.get(var[t], 0.0) for t in var}
    return out


def ascent_model(
    ds: xr.Dataset, optimum: float, gradient: dict[str, dict[str, dict]]
) -> Callable[[dict], pyo.ConcreteModel]:
    """Builder of the merchant model held to its optimum, maximising gᵀS."""

    def build(exclusive: dict[str, set[int]]) -> pyo.ConcreteModel:
        m = create_merchant_model(ds, exclusive)
        _hold(m, ds, optimum)
        m.objective.deactivate()
        blocks = battery_blocks(m, ds)
        terms = []
        for part, by_name in gradient.items():
            for name, by_index in by_name.items():
                var = getattr(blocks[part], name)
                terms += [g * var[i] for i, g in by_index.items() if g]
        m.ascent = pyo.Objective(expr=-pyo.quicksum(terms), sense=pyo.minimize)
        return m

    return build


@dataclass
class Worst:
    """The worst system cost found over the merchant ties, and how."""

    cost_jpy: float
    rounds: int
    note: str


@dataclass
class Imposed:
    """The system's least cost with a schedule imposed (``inf``: infeasible) and its reduced
    costs as a subgradient (None without LP duals)."""

    cost_jpy: float
    gradient: Gradient | None


def cold_imposed(ds: xr.Dataset, solve: Solve) -> Callable[[Schedules], Imposed]:
    """V(S) and its subgradient by building, compiling and solving the imposed model afresh."""

    def run(schedules: Schedules) -> Imposed:
        done = solve(imposed_model(ds, schedules))
        if not done.solution.has_values:
            return Imposed(float("inf"), None)
        return Imposed(float(done.solution.objective), _gradient(done.model, ds))

    return run


def worst_for_system(
    ds: xr.Dataset,
    start: Schedules,
    optimum: float,
    solve: Solve,
    imposed: Callable[[Schedules], Imposed] | None = None,
) -> Worst:
    """Successive linearisation from ``start`` (see the module doc). ``imposed`` gives V(S) and
    its subgradient (default :func:`cold_imposed`; :class:`~wattbit.network.imposed.ImposedLP`
    compiles the imposed model once)."""
    imposed = imposed or cold_imposed(ds, solve)
    parts = merchant_parts(ds)
    current = imposed(start)
    if not np.isfinite(current.cost_jpy):
        return Worst(float("inf"), 0, "a price-optimal schedule is infeasible")
    worst = current.cost_jpy
    for rounds in range(MAX_ASCENT_ROUNDS):
        if current.gradient is None:
            return Worst(worst, rounds, "no reduced costs (binaries in the system)")
        step = solve(ascent_model(ds, optimum, current.gradient))
        if not step.solution.has_values:
            return Worst(worst, rounds, "ascent step failed")
        following = imposed(schedules_of(step.model, ds, parts))
        if not np.isfinite(following.cost_jpy):
            return Worst(float("inf"), rounds + 1, "a price-optimal schedule is infeasible")
        if following.cost_jpy <= worst + TIE_TOL * max(1.0, abs(worst)):
            return Worst(worst, rounds + 1, "local maximum")
        worst, current = following.cost_jpy, following
    return Worst(worst, MAX_ASCENT_ROUNDS, "round limit")
