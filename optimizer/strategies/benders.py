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
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp
import xarray as xr

from wattbit.errors import CaseError
from wattbit.model import has_component
from wattbit.optimise import Run, is_simultaneous
from wattbit.progress import Progress as Hook
from wattbit.progress import silent
from wattbit.sizes import size_names, size_vars
from wattbit.solve import Solution, SolverOptions, _new_highs
from wattbit.strategies.scenario_pool import ScenarioEngine, ScenarioPool
from wattbit.strategies.stochastic import (
    combine,
    expected_kpis,
    first_difference,
    probabilities,
    scenario_count,
    scenario_inputs,
    solve_stochastic,
    verify_stochastic,
)
from wattbit.strategies.subproblem import SIZE_TIE, Answer, Shape, Subproblem

GAP = 1e-7  # relative gap between the bounds at which iterations stop
MAX_ITERATIONS = 500
CUT_TOL = 1e-9  # a cut is added when V_k exceeds θ_k by more than this (relative)


class Refused(Exception):
    """The decomposition does not apply; the message says why."""


@dataclass
class Progress:
    """Bounds per iteration and seconds per phase."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds


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
    K = scenario_count(inputs)
    if K == 1:
        return np.full((1, 1), inputs.sizes["time"]), np.zeros(1, dtype=int)
    delta = first_difference(inputs)
    off = np.where(np.eye(K, dtype=bool), -1, delta)
    return delta, off.max(axis=1)


def _row_hash(ptr: np.ndarray, idx: np.ndarray, bits: np.ndarray, a: int, b: int) -> np.ndarray:
    """A per-row sum (mod 2⁶⁴) of a mix of each entry's column and coefficient bits."""
    with np.errstate(over="ignore"):
        mix = (idx * np.uint64(a)) ^ (bits * np.uint64(b))
        total = np.concatenate([np.zeros(1, np.uint64), np.cumsum(mix, dtype=np.uint64)])
        return total[ptr[1:]] - total[ptr[:-1]]


def distinct_rows(rows: sp.csr_matrix, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """A mask that keeps the first of each group of identical rows (same columns, coefficients
    and bounds; ``rows`` with sorted indices). Rows are grouped by two hashes, then each dropped
    row is compared entry by entry with the one kept: a hash collision keeps both."""
    ptr = rows.indptr.astype(np.int64)
    idx = rows.indices.astype(np.uint64)
    bits = np.ascontiguousarray(rows.data, dtype=np.float64).view(np.uint64)
    nnz = np.diff(ptr)
    h1 = _row_hash(ptr, idx, bits, 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F)
    h2 = _row_hash(ptr, idx, bits, 0xD6E8FEB86659FD93, 0x94D049BB133111EB)
    order = np.lexsort((upper, lower, nnz, h2, h1))  # stable: the first row of a group first
    keys = (h1[order], h2[order], nnz[order], lower[order], upper[order])
    same_as_previous = np.ones(len(order), dtype=bool)
    same_as_previous[0] = False
    for key in keys:
        same_as_previous[1:] &= key[1:] == key[:-1]
    group_start = np.maximum.accumulate(np.where(same_as_previous, 0, np.arange(len(order))))
    dropped, kept = order[same_as_previous], order[group_start[same_as_previous]]
    keep = np.ones(rows.shape[0], dtype=bool)
    keep[dropped] = False
    lengths = nnz[dropped]
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    at_dropped = np.repeat(ptr[dropped], lengths) + within
    at_kept = np.repeat(ptr[kept], lengths) + within
    differs = (idx[at_dropped] != idx[at_kept]) | (bits[at_dropped] != bits[at_kept])
    keep[np.unique(np.repeat(dropped, lengths)[differs])] = True
    return keep


def representatives(delta: np.ndarray, k: int) -> np.ndarray:
    """At index τ + 1, for tie time τ = −1 (a size) … n − 1: the first scenario whose data agree
    with scenario k's up to step τ, ``min{j : δ_jk > τ}`` (scenario 0 for a size; δ_kk = n)."""
    reps = np.empty(int(delta.max()) + 1, dtype=np.int64)
    for j in range(delta.shape[0] - 1, -1, -1):  # the smallest j written last, so it wins
        reps[: int(delta[j, k]) + 1] = j
    return reps


class Master:
    """The master LP in HiGHS: shared classes, their rows, θ per scenario, and the cuts."""

    def __init__(
        self, shapes: list[Shape], p: np.ndarray, delta: np.ndarray, lower: list[float]
    ) -> None:
        classes: dict[tuple, int] = {}
        self.class_of: list[np.ndarray] = []
        for k, shape in enumerate(shapes):
            reps = representatives(delta, k)[shape.tie_times - SIZE_TIE].tolist()
            ids = np.empty(len(shape.keys), dtype=np.int64)
            for i, (key, rep) in enumerate(zip(shape.keys, reps, strict=True)):
                ids[i] = classes.setdefault((key, rep), len(classes))
            self.class_of.append(ids)
        n = self.n = len(classes)
        K = len(shapes)
        cost, lo, up = np.zeros(n + K), np.full(n + K, -np.inf), np.full(n + K, np.inf)
        for k, shape in enumerate(shapes):
            ids = self.class_of[k]
            np.add.at(cost, ids, p[k] * shape.costs)
            lo[ids] = np.maximum(lo[ids], shape.lower)
            up[ids] = np.minimum(up[ids], shape.upper)
        cost[n:] = p
        lo[n:] = lower
        rows, row_lo, row_up = self._rows(shapes)
        self.fixed = [self.class_of[k][s.fixed] for k, s in enumerate(shapes)]
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n + K, rows.shape[0]
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lo, up
        lp.row_lower_, lp.row_upper_ = row_lo, row_up
        lp.offset_ = float(sum(pk * s.offset for pk, s in zip(p, shapes, strict=True)))
        a = sp.csr_matrix(
            (rows.data, rows.indices, rows.indptr), shape=(rows.shape[0], n + K)
        ).tocsc()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
        self.lp, self.p, self.K = lp, p, K
        self.highs: highspy._Highs | None = None
        self.cuts = 0

    def _rows(self, shapes: list[Shape]) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """Every scenario's rows among shared columns, on the master's classes; a row that
        another scenario already brought (same columns, coefficients and bounds) once."""
        parts, lows, ups = [], [], []
        for k, shape in enumerate(shapes):
            r = shape.rows.tocoo()
            m = sp.csr_matrix(
                (r.data, (r.row, self.class_of[k][r.col])), shape=(r.shape[0], self.n)
            )
            m.sort_indices()
            parts.append(m)
            lows.append(shape.row_lower)
            ups.append(shape.row_upper)
        rows = sp.vstack(parts, format="csr")
        lo, up = np.concatenate(lows), np.concatenate(ups)
        keep = distinct_rows(rows, lo, up)
        return rows[keep], lo[keep], up[keep]

    def solve(self, options: SolverOptions) -> tuple[np.ndarray, float]:
        """The master's columns and objective (a lower bound)."""
        if self.highs is None:
            self.highs = _new_highs(options, self.lp)
            self.highs.passModel(self.lp)
        self.highs.run()
        status = self.highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise Refused(f"the master problem ended {self.highs.modelStatusToString(status)}")
        x = np.asarray(self.highs.getSolution().col_value)
        return x, float(self.highs.getInfo().objective_function_value)

    def first_cost(self, x: np.ndarray, objective: float) -> float:
        """The master's objective without the θ terms."""
        return objective - float(np.dot(self.p, x[self.n :]))

    def add_cut(self, k: int, answer: Answer, x: np.ndarray) -> bool:
        """θ_k ≥ V_k + g (x_F − x̂_F) if it cuts off the master's θ_k, or, for an infeasible
        subproblem, its feasibility cut; whether a cut was added."""
        if answer.feasibility is not None:
            return self._add_feasibility_cut(k, answer.feasibility, x)
        assert answer.value is not None and answer.gradient is not None
        theta = x[self.n + k]
        if answer.value - theta <= CUT_TOL * max(1.0, abs(answer.value)):
            return False
        cols, g = self.fixed[k], answer.gradient
        nz = g != 0.0
        cols, g = cols[nz], g[nz]
        rhs = answer.value - float(np.dot(g, x[cols]))
        idx = np.concatenate([cols, [self.n + k]]).astype(np.int32)
        val = np.concatenate([-g, [1.0]])
        assert self.highs is not None
        self.highs.addRow(rhs, highspy.kHighsInf, len(idx), idx, val)
        self.cuts += 1
        return True

    def _add_feasibility_cut(
        self, k: int, cut: tuple[np.ndarray, float, float], x: np.ndarray
    ) -> bool:
        d, low, high = cut
        nz = d != 0.0
        cols, d = self.fixed[k][nz], d[nz]
        at = float(np.dot(d, x[cols]))
        scale = max(1.0, float(np.max(np.abs(d), initial=0.0)))
        violated_low = math.isfinite(low) and at < low - 1e-9 * scale * max(1.0, abs(low))
        violated_high = math.isfinite(high) and at > high + 1e-9 * scale * max(1.0, abs(high))
        if not (violated_low or violated_high):
            return False
        lo = low if math.isfinite(low) else -highspy.kHighsInf
        hi = high if math.isfinite(high) else highspy.kHighsInf
        assert self.highs is not None
        self.highs.addRow(lo, hi, len(cols), cols.astype(np.int32), d)
        self.cuts += 1
        return True


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
    K, p = scenario_count(inputs), probabilities(inputs)
    delta, split = splits(inputs)
    sizes = {(s.block, s.attribute) for s in size_vars(inputs)}
    engine = engine or ScenarioEngine()
    deadline = time.perf_counter() + options.time_limit_s
    with ScenarioPool(engine, K) as pool:
        t0 = time.perf_counter()
        shapes = pool.make(
            [
                (k, Subproblem, (scenario_inputs(inputs, k), int(split[k]), sizes, options))
                for k in range(K)
            ]
        )
        progress.add("build", time.perf_counter() - t0)
        for shape in shapes:  # each worker's own seconds (summed: more than wall when parallel)
            for phase, seconds in shape.seconds.items():
                progress.add(f"scenario_{phase}", seconds)
        if any(s.is_mip for s in shapes):  # a formulation's integers that refusal() missed
            raise Refused(INTEGER_REASON)
        t0 = time.perf_counter()
        relaxed = pool.call("relaxed", [(k, ()) for k in range(K)])
        progress.add("subproblems", time.perf_counter() - t0)
        _check(relaxed, "with its shared columns free")
        t0 = time.perf_counter()
        master = Master(shapes, p, delta, [float(a.value) for a in relaxed])  # type: ignore[arg-type]
        progress.add("master_build", time.perf_counter() - t0)
        best, best_x, best_iteration = math.inf, np.zeros(0), 0
        iteration = 0
        while True:
            iteration += 1
            report(
                f"L-shaped iteration {iteration}" + _bounds(lower_bounds=progress.lower, best=best)
            )
            t0 = time.perf_counter()
            x, lower = master.solve(options)
            progress.add("master", time.perf_counter() - t0)
            t0 = time.perf_counter()
            answers = pool.call("solve", [(k, (x[master.fixed[k]],)) for k in range(K)])
            progress.add("subproblems", time.perf_counter() - t0)
            progress.add("subproblem_highs", sum(a.seconds for a in answers))
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
            pool.call("solve", [(k, (best_x[master.fixed[k]],)) for k in range(K)])
        t0 = time.perf_counter()
        sites = pool.call("results", [(k, (best_x[master.class_of[k]],)) for k in range(K)])
        progress.add("extract", time.perf_counter() - t0)
    sizes_of = {
        "benders_master_columns": master.n,
        "benders_master_rows": master.lp.num_row_,
        "benders_own_columns": sum(s.own_columns for s in shapes),
        "benders_own_rows": sum(s.own_rows for s in shapes),
    }
    return _run(inputs, sites, best, progress, iteration, master.cuts, engine, sizes_of)


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
    t0 = time.perf_counter()
    run.results = combine(sites, attrs)
    run.kpis = expected_kpis(run.results)
    timings["extract"] = timings.get("extract", 0.0) + time.perf_counter() - t0
    t0 = time.perf_counter()
    run.verification = verify_stochastic(run.results)
    run.results.attrs["verify_max_violation"] = run.verification.max_violation
    timings["verify"] = time.perf_counter() - t0
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
