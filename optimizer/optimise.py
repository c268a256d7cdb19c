"""One optimisation: inputs → model → HiGHS → results → verification, with the battery
exclusivity rule. Solve strategies (:mod:`wattbit.strategies`) build on this module, never the
reverse.

Battery exclusivity (``battery.exclusive``):

* ``never`` — LP only; simultaneous charge and discharge is allowed.
* ``auto`` (default) — solve the LP; if no step charges and discharges at once, the LP optimum is
  also optimal with binaries (it is feasible for the MILP and the LP is a relaxation) and no binary
  is added. Otherwise binaries are added at the offending steps only and the problem re-solved,
  warm-started from the previous solution, until no step is left: the binaries then stand only
  where simultaneity could pay, and the result is optimal for the full MILP because every
  re-solve is a relaxation of it whose optimum is feasible for it.
* ``always`` — one binary per step from the start, warm-started from the LP optimum.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo
import xarray as xr

from wattbit.case import LoadedCase
from wattbit.infeasibility import in_case_terms
from wattbit.model import create_model, has_component
from wattbit.results import build_results, kpis
from wattbit.solve import Solution, SolverOptions, solve_model
from wattbit.verify import Verification, verify

SIMULTANEOUS_TOL_MW = 1e-6
MAX_EXCLUSIVITY_ROUNDS = 8


@dataclass
class Run:
    """Everything one solve produced."""

    inputs: xr.Dataset
    solution: Solution
    results: xr.Dataset | None = None
    kpis: dict[str, float] = field(default_factory=dict)
    verification: Verification | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.results is not None


def options_from_case(loaded: LoadedCase, **override: float | int | None) -> SolverOptions:
    s = loaded.case.solver
    values = {"time_limit_s": s.time_limit_s, "mip_gap": s.mip_gap, "threads": s.threads}
    values.update({k: v for k, v in override.items() if v is not None})
    return SolverOptions(**values)


def _simultaneous_steps(m: pyo.ConcreteModel) -> set[int]:
    c, d = m.battery.charge_mw, m.battery.discharge_mw
    return {t for t in m.T if min(c[t].value, d[t].value) > SIMULTANEOUS_TOL_MW}


def _snapshot(m: pyo.ConcreteModel) -> dict[str, float]:
    return {v.name: v.value for v in m.component_data_objects(pyo.Var) if v.value is not None}


def _start_for(m: pyo.ConcreteModel, previous: dict[str, float]) -> dict[int, float]:
    """A MIP start for ``m`` from a previous solution, with simultaneous flows netted."""
    start = {id(v): previous.get(v.name, 0.0) for v in m.component_data_objects(pyo.Var)}
    if has_battery_binaries(m):
        for t in m.battery.X:
            c, d = m.battery.charge_mw[t], m.battery.discharge_mw[t]
            net = start[id(c)] - start[id(d)]
            start[id(c)], start[id(d)] = max(net, 0.0), max(-net, 0.0)
            start[id(m.battery.charging[t])] = 1.0 if net > 0 else 0.0
    return start


def has_battery_binaries(m: pyo.ConcreteModel) -> bool:
    return hasattr(m, "battery") and hasattr(m.battery, "charging")


def solve_inputs(inputs: xr.Dataset, options: SolverOptions) -> Run:
    """Build, solve (with the exclusivity rule), extract and verify."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    m = create_model(inputs)
    timings["build"] = time.perf_counter() - t0
    sol, _ = solve_model(m, options)
    add_timings(timings, sol.timings)

    mode = (
        inputs.attrs.get("battery_exclusive", "never")
        if has_component(inputs, "battery")
        else "never"
    )
    binaries: set[int] = set()
    rounds = 0
    if sol.has_values and mode != "never":
        pending = set(range(inputs.sizes["time"])) if mode == "always" else _simultaneous_steps(m)
        while pending and rounds < MAX_EXCLUSIVITY_ROUNDS:
            rounds += 1
            binaries |= pending
            previous = _snapshot(m)
            t0 = time.perf_counter()
            m = create_model(inputs, exclusive_steps=binaries)
            timings["build"] += time.perf_counter() - t0
            sol, _ = solve_model(m, options, warm_start=_start_for(m, previous))
            add_timings(timings, sol.timings)
            if not sol.has_values:
                break
            pending = _simultaneous_steps(m) - binaries
        if pending and sol.has_values:
            sol.status, sol.message = "error", "exclusivity rounds did not converge"
            sol.column_values = None
    run = Run(inputs=inputs, solution=sol, timings=timings)
    if not sol.has_values:
        in_case_terms(sol, inputs)
        return run

    t0 = time.perf_counter()
    attrs = {
        "solver_status": sol.status,
        "solver_message": sol.message,
        "objective_jpy": float(sol.objective),
        "mip_gap": float(sol.mip_gap or 0.0),
        "battery_exclusive_mode": mode,
        "battery_exclusivity_binaries": len(binaries),
        "battery_exclusivity_enforced": int(bool(binaries)),
        "battery_exclusivity_rounds": rounds,
    }
    run.results = build_results(inputs, m, attrs)
    run.kpis = kpis(run.results)
    timings["extract"] = time.perf_counter() - t0 + timings.pop("load", 0.0)
    t0 = time.perf_counter()
    run.verification = verify(run.results)
    run.results.attrs["verify_max_violation"] = run.verification.max_violation
    timings["verify"] = time.perf_counter() - t0
    return run


def add_timings(total: dict[str, float], part: dict[str, float]) -> None:
    """Add each phase's seconds in ``part`` to ``total``."""
    for key, value in part.items():
        total[key] = total.get(key, 0.0) + value


def is_simultaneous(results: xr.Dataset) -> bool:
    """Whether any step of a result charges and discharges the battery at once."""
    if "battery_charge_mw" not in results:
        return False
    both = np.minimum(results["battery_charge_mw"].values, results["battery_discharge_mw"].values)
    return bool(np.max(both, initial=0.0) > SIMULTANEOUS_TOL_MW)
