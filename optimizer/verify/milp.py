"""Component checks of the integer parts of a site: sizes bought in whole units (I1, I2), the
generator's unit commitment (O1–O8) and a plant of several genset types (J1–J4); see
:mod:`wattbit.verify` and docs/milp.md.

Integrality is checked on the values in the result file, not trusted from the solver: a size
must be a whole multiple of its unit (to the verifier's tolerance in MW or MWh), the units on a
whole number, and the starts and stops are recomputed from the units on.
"""

from __future__ import annotations

import math

import numpy as np

from wattbit.genset_types import type_names
from wattbit.sizes import size_vars
from wattbit.verify.checks import Checks, Result, excess, within


def verify_units(r: Result) -> Checks:
    """Every size with ``<size>_unit``: whole units (I1) and the cost per unit (I2)."""
    v = Checks()
    for size in size_vars(r.ds):
        name = size.name
        if f"{name}_unit" not in r or name not in r:
            continue
        unit, X = r.scalar(f"{name}_unit"), r.scalar(name)
        n = round(X / unit)
        counted = r.scalar(f"{name}_units") if f"{name}_units" in r else math.nan
        v[f"I1 {name} = whole units × unit size"] = max(
            abs(X - n * unit), abs(counted * unit - X) if not math.isnan(counted) else math.inf
        )
        cost = r.scalar(f"{name}_unit_cost_jpy_per_year")
        if cost > 0:
            v.cost(r, "I2", f"cost_{size.block}_{size.attribute}_units_jpy", cost * n)
    return v


def _window_sums(x: np.ndarray, steps: int) -> np.ndarray:
    """Σ_{τ = t−steps+1}^{t} x_τ for every t (τ ≥ 0)."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    t = np.arange(len(x))
    return c[t + 1] - c[np.maximum(t + 1 - steps, 0)]


def verify_commitment(r: Result) -> Checks:
    """Generator units on and off (O1–O8), from the units on and the output alone; with several
    genset types, each type's (named in the check) and the plant's (J1–J4)."""
    v = Checks()
    types = type_names(r.ds)
    if types:
        for name in types:
            _units_on(v, r, f"generator_{name}", f"generator_availability_{name}", f" ({name})")
        _plant_of_types(v, r, types)
        return v
    if "generator_units_on" not in r and "generator_redundant_units" not in r:
        return v
    unit = r.scalar("generator_power_mw_unit")
    N = r.scalar("generator_power_mw") / unit
    y, may_run = r["generator_output_mw"], r["generator_availability"] > 0
    k = r.scalar("generator_redundant_units")
    spares = k if round(N) > 0 else 0.0  # a site without gensets needs no spares
    v["O6 output ≤ (units − k) × unit size"] = max(
        excess(y[may_run], (N - spares) * unit), excess(spares, N) * unit
    )
    _units_on(v, r, "generator", "generator_availability", "")
    return v


def _units_on(v: Checks, r: Result, prefix: str, availability: str, label: str) -> None:
    """(O1)–(O5), (O7), (O8) of the gensets of ``prefix`` (the generator, or one genset type)."""
    if f"{prefix}_units_on" not in r:
        return
    unit = r.scalar(f"{prefix}_power_mw_unit")
    N = r.scalar(f"{prefix}_power_mw") / unit
    a = r[availability]
    y, may_run = r[f"{prefix}_output_mw"], a > 0
    u = r[f"{prefix}_units_on"]
    v[f"O1 units on whole, ≤ units installed, 0 where it may not run{label}"] = max(
        float(np.max(np.abs(u - np.round(u)), initial=0.0)) * unit,
        excess(u, N) * unit,
        float(np.max(np.abs(u[~may_run]), initial=0.0)) * unit,
    )
    starts = np.maximum(np.diff(np.round(u), prepend=0.0), 0.0)
    stops = np.maximum(-np.diff(np.round(u), prepend=0.0), 0.0)
    delay = min(1.0, r.scalar(f"{prefix}_start_delay_h") / r.dt)
    lost = np.where(a >= 1.0, delay, 0.0) * starts
    mu = r.scalar(f"{prefix}_min_load_fraction")
    v[f"O2 min load × units on ≤ output ≤ available units on{label}"] = within(
        y, mu * unit * u, unit * (a * u - lost)
    )
    reported = r[f"{prefix}_starts"] - r[f"{prefix}_stops"]
    v[f"O3 starts − stops = change of units on{label}"] = float(
        np.max(np.abs(reported - np.diff(u, prepend=0.0)), initial=0.0)
    )
    up = max(1, math.ceil(r.scalar(f"{prefix}_min_up_h") / r.dt - 1e-9))
    down = max(1, math.ceil(r.scalar(f"{prefix}_min_down_h") / r.dt - 1e-9))
    if up > 1:
        v[f"O4 units started within the min up time are on{label}"] = (
            excess(_window_sums(starts, up)[may_run], u[may_run]) * unit
        )
    if down > 1:
        v[f"O5 units stopped within the min down time are off{label}"] = (
            excess(_window_sums(stops, down)[may_run], N - u[may_run]) * unit
        )
    start_cost = r.annual_sum(r.scalar(f"{prefix}_start_cost_jpy") / r.dt, starts)
    v.cost(r, "O7", f"cost_{prefix}_startup_jpy", start_cost)
    if r.ds.attrs.get("generator_running_hours") == "on":
        _hours_on(v, r, u, N, label)
    no_load = r.scalar(f"{prefix}_no_load_cost_jpy_per_h", 0.0)
    if no_load > 0:
        v.cost(r, "O8", f"cost_{prefix}_no_load_jpy", r.annual_sum(no_load, np.round(u)))


def _hours_on(v: Checks, r: Result, u: np.ndarray, N: float, label: str) -> None:
    """(O9, O10): hours of the units on per fault and per year within N units' caps."""
    if "generator_max_run_h_per_event" in r and "event_steps" in r:
        hours = r.fault_sums(u)
        cap = r.scalar("generator_max_run_h_per_event") * N
        v[f"O9 unit-hours on per fault ≤ cap × units{label}"] = max(
            (excess(h, cap) for h in hours), default=0.0
        )
    if "generator_max_run_h_per_year" in r:
        cap = r.scalar("generator_max_run_h_per_year") * N
        v[f"O10 unit-hours on per year ≤ cap × units{label}"] = excess(r.annual_sum(1.0, u), cap)


def _plant_of_types(v: Checks, r: Result, types: list[str]) -> None:
    """(J1)–(J4): the plant's rating and output are its types', N+k over the types, its capex
    and fuel cost the types' summed."""
    P, y = r.scalar("generator_power_mw"), r["generator_output_mw"]
    rating = {j: r.scalar(f"generator_{j}_power_mw") for j in types}
    out = {j: r[f"generator_{j}_output_mw"] for j in types}
    v["J1 plant rating = Σ type ratings"] = abs(P - sum(rating.values()))
    v["J2 plant output = Σ type outputs, each ≤ its availability × rating"] = max(
        float(np.max(np.abs(y - sum(out.values())), initial=0.0)),
        *(within(out[j], 0.0, r[f"generator_availability_{j}"] * rating[j]) for j in types),
    )
    k = r.scalar("generator_redundant_units", 0.0)
    installed = [r.scalar(f"generator_{j}_power_mw_unit") for j in types if rating[j] > 1e-6]
    if k > 0 and installed:
        largest = k * max(installed)
        may_run = r["generator_availability"] > 0
        v["J3 output ≤ rating − k × the largest unit installed"] = max(
            excess(y[may_run], P - largest), excess(largest, P)
        )
    capex = sum(r.scalar(f"generator_{j}_capex_jpy_per_mw_year") * rating[j] for j in types)
    v.cost(r, "J4", "cost_generator_capex_jpy", capex)
    fuel = sum(
        r.annual_sum(r.scalar(f"generator_{j}_fuel_cost_jpy_per_mwh"), out[j]) for j in types
    )
    v.cost(r, "J4", "cost_generator_fuel_jpy", fuel)
