"""Component checks of the integer parts of a site: sizes bought in whole units (I1, I2) and the
generator's unit commitment (O1–O7); see :mod:`wattbit.verify` and docs/milp.md.

Integrality is checked on the values in the result file, not trusted from the solver: a size
must be a whole multiple of its unit (to the verifier's tolerance in MW or MWh), the units on a
whole number, and the starts and stops are recomputed from the units on.
"""

from __future__ import annotations

import math

import numpy as np

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
    """Generator units on and off (O1–O7), from the units on and the output alone."""
    v = Checks()
    if "generator_units_on" not in r and "generator_redundant_units" not in r:
        return v
    unit = r.scalar("generator_power_mw_unit")
    N = r.scalar("generator_power_mw") / unit
    y, a = r["generator_output_mw"], r["generator_availability"]
    may_run = a > 0
    k = r.scalar("generator_redundant_units")
    spares = k if round(N) > 0 else 0.0  # a site without gensets needs no spares
    v["O6 output ≤ (units − k) × unit size"] = max(
        excess(y[may_run], (N - spares) * unit), excess(spares, N) * unit
    )
    if "generator_units_on" not in r:
        return v
    u = r["generator_units_on"]
    v["O1 units on whole, ≤ units installed, 0 where it may not run"] = max(
        float(np.max(np.abs(u - np.round(u)), initial=0.0)) * unit,
        excess(u, N) * unit,
        float(np.max(np.abs(u[~may_run]), initial=0.0)) * unit,
    )
    starts = np.maximum(np.diff(np.round(u), prepend=0.0), 0.0)
    stops = np.maximum(-np.diff(np.round(u), prepend=0.0), 0.0)
    delay = min(1.0, r.scalar("generator_start_delay_h") / r.dt)
    lost = np.where(a >= 1.0, delay, 0.0) * starts
    mu = r.scalar("generator_min_load_fraction")
    v["O2 min load × units on ≤ output ≤ available units on"] = within(
        y, mu * unit * u, unit * (a * u - lost)
    )
    reported = r["generator_starts"] - r["generator_stops"]
    v["O3 starts − stops = change of units on"] = float(
        np.max(np.abs(reported - np.diff(u, prepend=0.0)), initial=0.0)
    )
    up = max(1, math.ceil(r.scalar("generator_min_up_h") / r.dt - 1e-9))
    down = max(1, math.ceil(r.scalar("generator_min_down_h") / r.dt - 1e-9))
    if up > 1:
        v["O4 units started within the min up time are on"] = (
            excess(_window_sums(starts, up)[may_run], u[may_run]) * unit
        )
    if down > 1:
        v["O5 units stopped within the min down time are off"] = (
            excess(_window_sums(stops, down)[may_run], N - u[may_run]) * unit
        )
    start_cost = r.annual_sum(r.scalar("generator_start_cost_jpy") / r.dt, starts)
    v.cost(r, "O7", "cost_generator_startup_jpy", start_cost)
    return v
