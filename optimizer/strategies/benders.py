"""Type ③ by decomposition: the L-shaped method (Benders, one cut per scenario) over the
scenario tree.

**What is decomposed.** The extensive form (:mod:`wattbit.strategies.stochastic`) ties the
scenarios by the sizes (K1) and by non-anticipativity (K3): until the step ``δ_jk`` at which their
data first differ, two scenarios dispatch alike. So a scenario's columns are *shared* up to the
step ``s_k = max_{j≠k} δ_jk`` from which no other scenario looks like it, and *own* from there
(:mod:`wattbit.strategies.subproblem`). Here

* the **master** holds one column per class of shared columns (the sizes; per step and per group
  of scenarios whose data still agree, the site's dispatch: the tree's shared path, whatever its
  shape), every row among shared columns alone, and ``θ_k`` for each scenario's own cost;
* **subproblem k** holds scenario k's own columns and every row that touches one, with the shared
  columns in those rows fixed at the master's values.

With ``x`` the master's columns (cost ``c``, rows ``A x ⋛ b``), ``V_k(x)`` the optimal own cost of
subproblem k at ``x`` and ``g_k`` the reduced costs of its fixed columns (a subgradient of the
convex ``V_k``):

.. math::

    \\underline z = \\min_{x, θ}\\ c x + \\textstyle\\sum_k p_k θ_k \\quad\\text{s.t.}\\ A x ⋛ b,\\
    θ_k ≥ V_k(x^i) + g_k^i (x − x^i)\\ ∀k, i,\\ θ_k ≥ L_k

    \\bar z = \\min_i\\ c x^i + \\textstyle\\sum_k p_k V_k(x^i)

(``L_k``: subproblem k with its shared columns free within their bounds). ``\\underline z`` is a
lower and ``\\bar z`` an upper bound of the extensive form's optimum; iterations stop when
``\\bar z − \\underline z ≤ gap · |\\bar z|`` (the certified gap is reported in the results).
The subproblems are LPs kept in HiGHS between iterations (a fixed-value change re-solves from the
last basis) on the workers of a :class:`~wattbit.strategies.scenario_pool.ScenarioEngine`.

**Refused** (:func:`refusal`, from the inputs before any scenario model is built; the caller
solves the extensive form): a MILP (the exclusivity rule ``always``, an SLA penalty per event, a
chance constraint, sizes in whole units with the gensets' commitment) — cuts from LP duals do
not bound a MILP — and, after the fact, a result that charges and discharges a battery at once under
``exclusive = "auto"``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from wattbit.errors import CaseError
from wattbit.model import has_component
from wattbit.optimise import Run, is_simultaneous
from wattbit.progress import Progress as Hook
from wattbit.progress import silent
from wattbit.sizes import size_names, size_vars
from wattbit.solve import Solution, SolverOptions
from wattbit.strategies.master import Master, Refused
from wattbit.strategies.scenario_pool import ScenarioEngine, ScenarioPool
from wattbit.strategies.stochastic import (
    PER_SCENARIO,
    combine,
    expected_kpis,
    first_difference,
    probabilities,
    scenario_count,
    scenario_inputs,
    solve_stochastic,
    verify_stochastic,
)
from wattbit.strategies.subproblem import Answer, Subproblem

GAP = 1e-7  # relative gap between the bounds at which iterations stop
MAX_ITERATIONS = 500


@dataclass
class Progress:
    """Bounds per iteration, and per phase its wall seconds (``phase``) and this process's CPU
    seconds (``phase_cpu``)."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Book the wall and CPU seconds of the ``with`` block to ``name``."""
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)
            self.add(f"{name}_cpu", time.process_time() - c0)


INTEGER_REASON = "the scenario model has integer variables"


def refusal(inputs: xr.Dataset, options: SolverOptions) -> str | None:
    """Why the decomposition cannot solve ``inputs`` exactly (``None`` if it can), known before
    building anything."""
    if _exclusive_mode(inputs) == "always":
        return "battery.exclusive = 'always' is a MILP"
    if float(inputs.get("type3_sla_penalty_jpy_per_event", 0.0)) > 0:
        return "an SLA penalty per event is a MILP"
    if float(inputs.get("type3_min_survival_probability", 1.0)) < 1.0:
        return "a chance constraint is a MILP over the scenarios"
    whole = [name for name in size_names(inputs) if f"{name}_unit" in inputs]
    if whole:  # every integer of a site's units and gensets (I1, O1–O7, J1–J4) needs one
        return f"{INTEGER_REASON} (sizes in whole units: {', '.join(whole)})"
    return None


def _exclusive_mode(inputs: xr.Dataset) -> str:
    battery = has_component(inputs, "battery")
    return str(inputs.attrs.get("battery_exclusive", "never")) if battery else "never"


def splits(inputs: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """δ and ``s_k = max_{j≠k} δ_jk`` (0 for a single scenario)."""
    if scenario_count(inputs) == 1:
        return np.full((1, 1), inputs.sizes["time"]), np.zeros(1, dtype=int)
    return _split(first_difference(inputs))


def _split(delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(delta) == 1:
        return delta, np.zeros(1, dtype=int)
    off = np.where(np.eye(len(delta), dtype=bool), -1, delta)
    return delta, off.max(axis=1)


def twins(inputs: xr.Dataset) -> np.ndarray:
    """Per scenario, the first scenario with the same site data (every input with a scenario
    axis but its probability and branch step): such scenarios are one subproblem with their
    probabilities summed — exact, since K3 ties them at every step (δ = n)."""
    K = scenario_count(inputs)
    names = [n for n in inputs.data_vars if "scenario" in inputs[n].dims and n not in PER_SCENARIO]
    values = [inputs[n].transpose("scenario", ...).values for n in names]
    first = np.arange(K)
    for k in range(1, K):
        for j in range(k):
            if first[j] == j and all(np.array_equal(v[j], v[k]) for v in values):
                first[k] = j
                break
    return first


def as_scenario(inputs: xr.Dataset, k: int, site: xr.Dataset) -> xr.Dataset:
    """Scenario ``k``'s results from its twin's ``site`` results (:func:`twins`): k's inputs
    and the twin's solution."""
    own = scenario_inputs(inputs, k)
    solved = {n: site[n].variable for n in site.data_vars if n not in own.data_vars}
    out = own.assign(solved)
    out.attrs = dict(site.attrs)
    return out


def decompose(
    inputs: xr.Dataset,
    options: SolverOptions,
    engine: ScenarioEngine | None = None,
    gap: float = GAP,
    report: Hook = silent,
) -> Run:
    """Solve the K-scenario problem by the L-shaped method (module doc); ``report`` hears each
    iteration's bounds. Raises :class:`Refused` when it does not apply."""
    reason = refusal(inputs, options)
    if reason:
        raise Refused(reason)
    progress = Progress()
    twin = twins(inputs)
    reps = np.flatnonzero(twin == np.arange(len(twin)))  # the scenarios with a subproblem
    if len(twin) > 1 and len(reps) == 1:
        raise Refused("every scenario has the same data: one LP")
    of = np.searchsorted(reps, twin)
    K, p = len(reps), np.bincount(of, weights=probabilities(inputs), minlength=len(reps))
    delta, split = _split(splits(inputs)[0][np.ix_(reps, reps)])
    sizes = {(s.block, s.attribute) for s in size_vars(inputs)}
    engine = engine or ScenarioEngine()
    deadline = time.perf_counter() + options.time_limit_s
    with ScenarioPool(engine, K) as pool:
        with progress.phase("build"):
            shapes = pool.make(
                [
                    (k, Subproblem, (scenario_inputs(inputs, r), int(split[k]), sizes, options))
                    for k, r in enumerate(reps)
                ]
            )
        for shape in shapes:  # each worker's own seconds (summed: more than wall when parallel)
            for phase, seconds in shape.seconds.items():
                progress.add(f"scenario_{phase}", seconds)
        if any(s.is_mip for s in shapes):  # a formulation's integers that refusal() missed
            raise Refused(INTEGER_REASON)
        with progress.phase("subproblems"):
            relaxed = pool.call("relaxed", [(k, ()) for k in range(K)])
        _highs_seconds(progress, relaxed)
        _check(relaxed, "with its shared columns free")
        with progress.phase("master_build"):
            master = Master(shapes, p, delta, [float(a.value) for a in relaxed])  # type: ignore[arg-type]
        best, best_x, best_iteration = math.inf, np.zeros(0), 0
        iteration = 0
        while True:
            iteration += 1
            report(
                f"L-shaped iteration {iteration}" + _bounds(lower_bounds=progress.lower, best=best)
            )
            with progress.phase("master"):
                x, lower = master.solve(options)
            with progress.phase("subproblems"):
                answers = pool.call("solve", [(k, (x[master.fixed[k]],)) for k in range(K)])
            _highs_seconds(progress, answers)
            _check(answers, "at the master's values", feasibility=True)
            upper = math.inf
            if all(a.value is not None for a in answers):
                upper = master.first_cost(x, lower) + sum(
                    pk * float(a.value)  # type: ignore[arg-type]
                    for pk, a in zip(p, answers, strict=True)
                )
            if upper < best:
                best, best_x, best_iteration = upper, x, iteration
            progress.lower.append(lower)
            progress.upper.append(best)
            if math.isfinite(best) and best - lower <= gap * max(1.0, abs(best)):
                break
            if iteration >= MAX_ITERATIONS or time.perf_counter() > deadline:
                break
            added = [master.add_cut(k, a, x) for k, a in enumerate(answers)]
            if not any(added):
                break
        if not math.isfinite(best):
            raise Refused(f"no point feasible for every scenario after {iteration} iterations")
        if best_iteration != iteration:  # the subproblems hold the last solve: redo the best
            with progress.phase("subproblems"):
                pool.call("solve", [(k, (best_x[master.fixed[k]],)) for k in range(K)])
        with progress.phase("extract"):
            held = pool.call("results", [(k, (best_x[master.class_of[k]],)) for k in range(K)])
            sites = [
                held[of[k]] if twin[k] == k else as_scenario(inputs, k, held[of[k]])
                for k in range(len(twin))
            ]
    progress.add("workers_cpu", pool.worker_cpu)
    sizes_of = {
        "benders_master_columns": master.n,
        "benders_master_rows": master.lp.num_row_,
        "benders_own_columns": sum(s.own_columns for s in shapes),
        "benders_own_rows": sum(s.own_rows for s in shapes),
        "benders_subproblems": K,
    }
    return _run(inputs, sites, best, progress, iteration, master.cuts, engine, sizes_of)


def _highs_seconds(progress: Progress, answers: list[Answer]) -> None:
    """The subproblems' HiGHS wall and CPU seconds, each in its worker (summed over workers)."""
    progress.add("subproblem_highs", sum(a.seconds for a in answers))
    progress.add("subproblem_highs_cpu", sum(a.cpu_seconds for a in answers))


def _check(answers: list[Answer], how: str, feasibility: bool = False) -> None:
    for k, a in enumerate(answers):
        if a.value is None and not (feasibility and a.feasibility is not None):
            raise Refused(f"subproblem of scenario {k} {how} ended {a.status}")


def _run(
    inputs: xr.Dataset,
    sites: list[xr.Dataset],
    upper: float,
    progress: Progress,
    iterations: int,
    cuts: int,
    engine: ScenarioEngine,
    sizes_of: dict[str, int],
) -> Run:
    mode = _exclusive_mode(inputs)
    if mode != "never" and any(is_simultaneous(s) for s in sites):
        raise Refused(
            "a battery charges and discharges at once: the exclusivity rule needs binaries"
        )
    lower = progress.lower[-1]
    gap = (upper - lower) / max(1.0, abs(upper))
    message = f"L-shaped method: {iterations} iterations, {cuts} cuts, bounds' gap {gap:.1e}"
    for site in sites:
        site.attrs["battery_exclusivity_enforced"] = 0
    attrs = {
        "solver_status": "optimal",
        "solver_message": message,
        "expected_cost_jpy": upper,
        "mip_gap": 0.0,
        "battery_exclusive_mode": mode,
        "battery_exclusivity_binaries": 0,
        "battery_exclusivity_rounds": 0,
        "stochastic_method": "benders",
        "stochastic_engine": engine.label,
        "benders_iterations": iterations,
        "benders_cuts": cuts,
        **sizes_of,
        "benders_lower_bound_jpy": lower,
        "benders_gap": gap,
    }
    timings = dict(progress.seconds)
    run = Run(
        inputs=inputs,
        solution=Solution("optimal", message, upper, 0.0, np.zeros(0), timings),
        timings=timings,
    )
    with progress.phase("extract"):
        run.results = combine(sites, attrs)
        run.kpis = expected_kpis(run.results)
    with progress.phase("verify"):
        run.verification = verify_stochastic(run.results)
        run.results.attrs["verify_max_violation"] = run.verification.max_violation
    timings.update(progress.seconds)
    return run


METHODS = ("benders", "extensive")


def _bounds(lower_bounds: list[float], best: float) -> str:
    """The last iteration's gap in words, for the progress hook."""
    if not lower_bounds or not math.isfinite(best):
        return ""
    return f" (gap {(best - lower_bounds[-1]) / max(1.0, abs(best)):.1e})"


def solve_scenarios(
    inputs: xr.Dataset,
    options: SolverOptions,
    method: str = "benders",
    engine: ScenarioEngine | None = None,
    report: Hook = silent,
) -> Run:
    """The K-scenario problem by ``method``: ``benders`` (:func:`decompose`; where it is
    refused, and for a single scenario, the extensive form, with the reason in the results'
    ``stochastic_method_note``) or
    ``extensive`` (:func:`wattbit.strategies.stochastic.solve_stochastic`)."""
    if method not in METHODS:
        raise CaseError(
            str(inputs.attrs.get("case_file", "")),
            "--method",
            f"{method!r}: choose one of {', '.join(METHODS)}",
        )
    note = ""
    if method == "benders" and scenario_count(inputs) == 1:
        note = "one scenario: nothing to decompose; solved as one LP"
    elif method == "benders":
        try:
            return decompose(inputs, options, engine, report=report)
        except Refused as exc:
            note = f"benders refused: {exc}; solved as the extensive form"
    run = solve_stochastic(inputs, options)
    if run.results is not None:
        run.results.attrs["stochastic_method"] = "extensive"
        if note:
            run.results.attrs["stochastic_method_note"] = note
    return run
