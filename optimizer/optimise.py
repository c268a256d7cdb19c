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

:func:`solve_exclusive` is the one loop that applies the rule; a single site, the stochastic
problem (a battery per scenario) and a network (a battery per part, and an EV fleet with V2G,
whose charging and V2G discharge the same rule keeps apart) call it with their own model builder
and storage blocks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo
import xarray as xr

from wattbit.case import LoadedCase
from wattbit.infeasibility import in_case_terms
from wattbit.model import create_model, has_component
from wattbit.rebuilt import solve_rebuilt
from wattbit.results import build_results, kpis
from wattbit.solve import Solution, SolverOptions, request_duals, solve_model
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


Binaries = dict[Hashable, set[int]]
"""The steps given an exclusivity binary, per battery (a key of the model's battery blocks)."""


@dataclass
class ExclusiveSolve:
    """The last model and solution of :func:`solve_exclusive`, the binaries per battery and the
    number of re-solves."""

    model: pyo.ConcreteModel
    solution: Solution
    binaries: Binaries
    rounds: int

    @property
    def binary_count(self) -> int:
        return sum(len(steps) for steps in self.binaries.values())


def solve_exclusive(
    build: Callable[[Binaries], pyo.ConcreteModel],
    batteries: Callable[[pyo.ConcreteModel], Mapping[Hashable, pyo.Block]],
    modes: Mapping[Hashable, str],
    options: SolverOptions,
    timings: dict[str, float],
    rebuild: bool = False,
    first: tuple[pyo.ConcreteModel, Solution] | None = None,
) -> ExclusiveSolve:
    """Solve with the battery exclusivity rule (module doc); the one loop of every solve.

    ``build(binaries)`` builds the model with binaries at the given steps of each battery (none
    the first time); ``batteries(model)`` gives the battery blocks the rule applies to, by key
    (a battery whose dispatch is fixed is left out); ``modes`` the ``exclusive`` mode per key
    (``never`` where missing). Each re-solve is warm-started from the previous solution with the
    simultaneous flows of the batteries that now have binaries netted. Build and solver seconds
    are added to ``timings``. The last of the ``MAX_EXCLUSIVITY_ROUNDS`` re-solves binds every step
    of each battery still pending (its full MILP); only with no round allowed, or if that still
    leaves simultaneous flows, is the solution an error without values. With ``rebuild`` each LP
    is solved with its model freed and built again after (:mod:`wattbit.rebuilt`): less memory,
    one more build. ``first``: the LP (no binaries) already solved to an optimum, with its values
    in the model, taken as the first solve (a warm re-solve's, :mod:`wattbit.warm`).
    """
    binaries: Binaries = {}

    def solve(previous: dict[str, float] | None) -> tuple[pyo.ConcreteModel, Solution]:
        if rebuild:
            sol, m = solve_rebuilt(
                lambda: build(binaries),
                options,
                lambda m: (
                    None if previous is None else _warm_start(m, batteries(m).values(), previous)
                ),
            )
            add_timings(timings, sol.timings)
            return m, sol
        t0 = time.perf_counter()
        m = build(binaries)
        timings["build"] = timings.get("build", 0.0) + time.perf_counter() - t0
        start = None if previous is None else _warm_start(m, batteries(m).values(), previous)
        sol, _ = solve_model(m, options, warm_start=start)
        add_timings(timings, sol.timings)
        return m, sol

    m, sol = first or solve(None)
    rounds = 0
    if not sol.has_values:
        return ExclusiveSolve(m, sol, binaries, rounds)
    ruled = {k: b for k, b in batteries(m).items() if modes.get(k, "never") != "never"}
    pending = {
        k: set(b.charge_mw) if modes[k] == "always" else simultaneous_steps(b)
        for k, b in ruled.items()
    }
    while any(pending.values()) and rounds < MAX_EXCLUSIVITY_ROUNDS:
        rounds += 1
        last = rounds == MAX_EXCLUSIVITY_ROUNDS
        for key, steps in pending.items():
            # The last round allowed binds every step of a battery still pending: that battery's
            # full MILP, so the rule ends exact however many steps would still have surfaced.
            binaries.setdefault(key, set()).update(
                set(ruled[key].charge_mw) if last and steps else steps
            )
        m, sol = solve(_snapshot(m))
        if not sol.has_values:
            break
        pending = {
            k: simultaneous_steps(b) - binaries.get(k, set())
            for k, b in batteries(m).items()
            if k in ruled
        }
    if any(pending.values()) and sol.has_values:
        sol.status, sol.message = "error", "exclusivity rounds did not converge"
        sol.column_values = None
    return ExclusiveSolve(m, sol, binaries, rounds)


def _discharge(store: pyo.Block) -> pyo.Var:
    """The outflow the rule keeps apart from charging: a battery's discharge, an EV fleet's V2G."""
    return store.v2g_mw if hasattr(store, "v2g_mw") else store.discharge_mw


def simultaneous_steps(battery: pyo.Block) -> set[int]:
    """The steps at which a battery (or EV fleet) block charges and discharges at once."""
    c, d = battery.charge_mw, _discharge(battery)
    return {t for t in c if min(c[t].value, d[t].value) > SIMULTANEOUS_TOL_MW}


def _snapshot(m: pyo.ConcreteModel) -> dict[str, float]:
    return {v.name: v.value for v in m.component_data_objects(pyo.Var) if v.value is not None}


def _warm_start(
    m: pyo.ConcreteModel, batteries: Iterable[pyo.Block], previous: dict[str, float]
) -> dict[int, float]:
    """A MIP start for ``m`` from a previous solution (by variable name), with the simultaneous
    flows of the batteries that have binaries netted."""
    start = {id(v): previous.get(v.name, 0.0) for v in m.component_data_objects(pyo.Var)}
    for b in batteries:
        if not hasattr(b, "charging"):
            continue
        for t in b.X:
            c, d = b.charge_mw[t], _discharge(b)[t]
            net = start[id(c)] - start[id(d)]
            start[id(c)], start[id(d)] = max(net, 0.0), max(-net, 0.0)
            start[id(b.charging[t])] = 1.0 if net > 0 else 0.0
    return start


def solve_inputs(
    inputs: xr.Dataset,
    options: SolverOptions,
    first: tuple[pyo.ConcreteModel, Solution] | None = None,
) -> Run:
    """Build, solve (with the exclusivity rule), extract and verify; ``first`` as in
    :func:`solve_exclusive`."""
    timings: dict[str, float] = {}
    battery = has_component(inputs, "battery")
    mode = inputs.attrs.get("battery_exclusive", "never") if battery else "never"
    done = solve_exclusive(
        lambda binaries: request_duals(
            create_model(inputs, exclusive_steps=binaries.get("battery", ()))
        ),
        lambda m: {"battery": m.battery} if battery else {},
        {"battery": mode},
        options,
        timings,
        first=first,
    )
    return complete_run(inputs, done, mode, timings)


def solution_attrs(done: ExclusiveSolve, mode: str, objective: str) -> dict[str, float | int | str]:
    """The result attributes every solve reports: solver status and message, the objective under
    the name ``objective``, the MIP gap and the exclusivity rule's mode, binaries and rounds."""
    sol = done.solution
    return {
        "solver_status": sol.status,
        "solver_message": sol.message,
        objective: float(sol.objective),
        "mip_gap": float(sol.mip_gap or 0.0),
        "battery_exclusive_mode": mode,
        "battery_exclusivity_binaries": done.binary_count,
        "battery_exclusivity_rounds": done.rounds,
    }


def complete_run(
    inputs: xr.Dataset, done: ExclusiveSolve, mode: str, timings: dict[str, float]
) -> Run:
    """The :class:`Run` of a solved model: results extracted from it and verified (``mode``: the
    battery exclusivity mode reported)."""
    m, sol = done.model, done.solution
    run = Run(inputs=inputs, solution=sol, timings=timings)
    if not sol.has_values:
        in_case_terms(sol, inputs)
        return run

    t0 = time.perf_counter()
    attrs = {
        **solution_attrs(done, mode, "objective_jpy"),
        "battery_exclusivity_enforced": int(done.binary_count > 0),
        "duals_source": sol.duals_source,
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
