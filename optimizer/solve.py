"""Pyomo model → HiGHS in memory, through Pyomo's standard form and ``highspy``.

Measured on the full-year example (see ``docs/performance.md``), compiling the model to matrices
with :class:`LinearStandardFormCompiler` and passing them to ``Highs.passModel`` hands off several
times faster than Pyomo's persistent HiGHS interfaces. The matrices come from
:func:`wattbit.lp_compile.standard_form`: that compiler's standard form, bit for bit, without
holding every row's coefficients until the end (docs/network.md, "Peak memory"). Column values
come back as one array in the compiled column order; :func:`load_values` writes them into the
Pyomo variables.
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Literal

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.common.errors import InfeasibleConstraintException

from wattbit.infeasibility import (
    FEASIBILITY_TOL,
    Conflict,
    describe,
    diagnose,
    fixed_row_step,
    fixed_rows,
)
from wattbit.lp_compile import standard_form
from wattbit.mip_start import (
    POLISH_SHARE,
    ROUNDING_GRACE,
    RelaxationStart,
    polish_steps,
    relative_gap,
    round_in_stages,
)
from wattbit.relaxation import guess_sizes, price_with_devex, solve_from_guess
from wattbit.solve_clock import Bounds, Clock
from wattbit.solver_setup import SolverOptions, _new_highs, objective_scale

LP_DUALS = "the LP"
FIXED_DUALS = "the LP with the integer variables fixed at the MIP solution"
RELATIVE_DUALS = " (dual feasible relative to the costs only)"  # see :func:`lp_duals`

Status = Literal["optimal", "time_limit", "infeasible", "unbounded", "no_solution", "error"]

EXIT_CODES: dict[str, int] = {
    "optimal": 0,
    "time_limit": 0,
    "infeasible": 3,
    "unbounded": 4,
    "no_solution": 5,
    "error": 6,
}


@dataclass
class CompiledModel:
    """The model as HiGHS sees it, with the map back to Pyomo rows and columns."""

    lp: highspy.HighsLp
    columns: list[pyo.Var]
    rows: list[pyo.Constraint]
    is_mip: bool
    objective_offset: float


@dataclass
class Solution:
    status: Status
    message: str
    objective: float | None = None
    mip_gap: float | None = None
    column_values: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)
    conflict: Conflict | None = None
    reduced_costs: np.ndarray | None = None
    row_duals: np.ndarray | None = None
    duals_source: str = ""
    progress: list[Bounds] = field(default_factory=list)  # a MIP's bounds over time (solve_clock)

    @property
    def has_values(self) -> bool:
        return self.column_values is not None


def compile_model(m: pyo.ConcreteModel) -> CompiledModel:
    """Compile ``m`` to a :class:`highspy.HighsLp` (rows ``lower ≤ A x ≤ upper``)."""
    sf = standard_form(m)
    n_rows, n_cols = sf.A.shape
    inf = highspy.kHighsInf
    senses = np.fromiter((s for _, s in sf.rows), dtype=np.int8, count=n_rows)
    rhs = np.asarray(sf.rhs, dtype=float)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_cols, n_rows
    lp.col_cost_ = sf.c.toarray().ravel() if n_cols else np.zeros(0)
    lp.offset_ = float(sf.c_offset[0]) if len(sf.c_offset) else 0.0
    lo = np.fromiter((inf if v.lb is None else v.lb for v in sf.columns), float, n_cols)
    up = np.fromiter((inf if v.ub is None else v.ub for v in sf.columns), float, n_cols)
    lo[np.isinf(lo)] = -inf
    lp.col_lower_, lp.col_upper_ = lo, up
    lp.row_lower_ = np.where(senses >= 0, np.where(senses == 0, rhs, -inf), rhs)
    lp.row_upper_ = np.where(senses <= 0, np.where(senses == 0, rhs, inf), rhs)
    A = sf.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    integer = np.fromiter((v.is_integer() for v in sf.columns), bool, n_cols)
    if integer.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
            for i in integer
        ]
    return CompiledModel(
        lp=lp,
        columns=list(sf.columns),
        rows=[row for row, _ in sf.rows],
        is_mip=bool(integer.any()),
        objective_offset=lp.offset_,
    )


def solve_compiled(
    cm: CompiledModel,
    options: SolverOptions,
    warm_start: np.ndarray | None = None,
    explain: bool = True,
) -> Solution:
    """Solve with HiGHS; map every model status to a :class:`Solution` status and message.

    A MIP's bounds over time go to ``Solution.progress``; with ``options.cpu_limit_s`` the solve
    stops once this process has spent that many CPU seconds in it (:mod:`wattbit.solve_clock`).
    An infeasible model is diagnosed (its conflict in the message) unless ``explain`` is false:
    the diagnosis reads ``cm``'s rows and columns, which :mod:`wattbit.rebuilt` has freed."""
    t0 = time.perf_counter()
    clock = None
    if cm.is_mip or options.cpu_limit_s is not None:
        scale = objective_scale(np.asarray(cm.lp.col_cost_))
        clock = Clock(options.cpu_limit_s, unscale=2.0**-scale)
    spent, relaxed = 0.0, None
    if cm.is_mip and warm_start is None and options.mip_start:
        relaxed = rounded_relaxation(cm, options, clock)
        spent = time.perf_counter() - t0
        if relaxed is not None:
            clock.record(relaxed.objective, relaxed.bound)
        if relaxed is not None and (relaxed.gap <= options.mip_gap or clock.over()):
            # The LP relaxation bounds every integer point: the rounded one is within the gap.
            message = f"optimal: the rounded LP relaxation is within {relaxed.gap:.3%} of its bound"
            status: Status = "optimal"
            if relaxed.gap > options.mip_gap:
                status = "time_limit"
                message = (
                    f"stopped at the CPU limit at the rounded LP relaxation, gap {relaxed.gap:.3%}"
                )
            return Solution(
                status,
                message,
                relaxed.objective,
                relaxed.gap,
                relaxed.values,
                {"solve": spent, "highs_cpu": clock.cpu_s()},
                progress=clock.progress,
            )
        warm_start = None if relaxed is None else relaxed.values
    h = _new_highs(options, cm.lp, clock)
    h.passModel(cm.lp)
    if warm_start is not None and cm.is_mip:
        start = highspy.HighsSolution()
        start.col_value = list(warm_start)
        start.value_valid = True
        h.setSolution(start)
        h.setOptionValue("time_limit", max(1.0, float(options.time_limit_s) - spent))
    h.run()
    timings = {"solve": time.perf_counter() - t0}
    if clock is not None:  # CPU seconds of the solve, from the relaxation on
        timings["highs_cpu"] = clock.cpu_s()
    status = h.getModelStatus()
    info = h.getInfo()
    S = highspy.HighsModelStatus
    has_primal = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    values = np.asarray(h.getSolution().col_value) if has_primal else None
    gap = float(info.mip_gap) if cm.is_mip and has_primal else 0.0
    if relaxed is not None and has_primal:  # the relaxation's bound holds too (a time limit
        # can stop HiGHS before its root LP has raised its own bound that far)
        primal = float(np.asarray(cm.lp.col_cost_) @ values) + cm.objective_offset
        gap = min(gap, RelaxationStart(values, primal, relaxed.bound).gap)
    if clock is not None and cm.is_mip and has_primal:  # the end, after HiGHS's last callback
        primal = float(info.objective_function_value)
        clock.record(primal, primal - float(info.mip_gap) * abs(primal))
    progress = [] if clock is None else clock.progress
    limit = "the CPU limit" if clock is not None and clock.over() else "the limit"
    if status == S.kOptimal:
        sol = Solution("optimal", "optimal", info.objective_function_value, gap, values, timings)
        sol.progress = progress
        duals = None if cm.is_mip else lp_duals(h)
        if duals is not None:
            sol.row_duals, sol.reduced_costs, exact = duals
            sol.duals_source = LP_DUALS if exact else LP_DUALS + RELATIVE_DUALS
        return sol
    if status in (S.kTimeLimit, S.kIterationLimit, S.kInterrupt, S.kSolutionLimit):
        if has_primal:
            return Solution(
                "time_limit",
                f"stopped at {limit} with a feasible solution, gap {gap:.3%}",
                info.objective_function_value,
                gap,
                values,
                timings,
                progress=progress,
            )
        return Solution(
            "no_solution", f"stopped at {limit} before any feasible solution", timings=timings
        )
    if status == S.kInfeasible and not explain:
        return Solution("infeasible", "infeasible", timings=timings)
    if status == S.kInfeasible:
        conflict = diagnose(cm, options)
        return Solution("infeasible", describe(conflict), timings=timings, conflict=conflict)
    if status in (S.kUnbounded, S.kUnboundedOrInfeasible):
        return Solution(
            "unbounded",
            "the problem is unbounded (or infeasible): a cost term can fall without limit — "
            "check for negative prices with unlimited export or a size without an upper bound",
            timings=timings,
        )
    return Solution(
        "error", f"HiGHS ended with status {h.modelStatusToString(status)}", timings=timings
    )


def lp_duals(h: highspy._Highs) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """Row duals, reduced costs and whether they are dual feasible in absolute terms, of an LP
    HiGHS ended optimal; ``None`` if it has no usable dual solution.

    The objective is solved scaled (:func:`objective_scale`), so HiGHS's dual tolerance (1e-7)
    holds for the scaled costs. Once the scale is removed, a reduced cost can sit a few
    hundredths of a JPY/yr on the wrong side of 1e-7 next to costs of ~1e8: the full-year town
    case with a sized DC (size value 3e8 JPY/MW/yr) had one at 0.036, 1.2e-10 relative, and HiGHS
    called the whole dual solution infeasible. Duals with no infeasibility relative to the
    costs (HiGHS's ``num_relative_dual_infeasibilities``: each over 1 + its column's cost) are
    kept, marked by the ``False`` (:data:`RELATIVE_DUALS` in ``duals_source``)."""
    info = h.getInfo()
    feasible = info.dual_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    solved = h.getSolution()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal or not solved.dual_valid:
        return None
    if not feasible and info.num_relative_dual_infeasibilities != 0:
        return None
    return np.asarray(solved.row_dual), np.asarray(solved.col_dual), feasible


def _integer_columns(cm: CompiledModel) -> np.ndarray:
    return np.flatnonzero(
        np.array([t == highspy.HighsVarType.kInteger for t in cm.lp.integrality_], dtype=bool)
    ).astype(np.int32)


def rounded_relaxation(
    cm: CompiledModel, options: SolverOptions, clock: Clock | None = None
) -> RelaxationStart | None:
    """A MIP start from the LP relaxation (docs/milp.md), in the stages of
    :mod:`wattbit.mip_start`: the fractional sizes branched on (at most their floor or at least
    their ceiling; the cheapest branch bounds the MIP) and the cheapest candidate's sizes fixed,
    then the per-step integers rounded at a few thresholds with the sizes fixed, the continuous
    columns re-solved from that candidate's basis (the first rounding within the gap is kept),
    then (when that point is not within the gap) the steps searched by HiGHS with the sizes
    fixed. The relaxation's LPs are priced with Devex weights (:mod:`wattbit.relaxation`).

    If no rounding of the steps is feasible, every integer column is rounded up at once (to the
    nearest where that LP is infeasible), and failing that the search starts from no point;
    ``None`` if none of it gives a feasible point. The start is
    completed here and passed whole: HiGHS 1.16 completes a partial start (``setSolution`` with
    the integer columns alone) in its presolved space with a wrong objective, and may then stop
    at that point as "optimal" (measured on tests/test_milp.py's hand case)."""
    integer = _integer_columns(cm)
    scalar = np.array([not cm.columns[i].parent_component().is_indexed() for i in integer])
    h = _new_highs(options, cm.lp, clock)
    price_with_devex(h)
    h.passModel(cm.lp)
    h.changeColsIntegrality(
        len(integer), integer, np.full(len(integer), highspy.HighsVarType.kContinuous)
    )
    guess = None  # the sizes from the LP without the per-step integers' rows (wattbit.relaxation)
    if scalar.any() and not scalar.all():
        fresh = _new_highs(options, cm.lp, clock)
        price_with_devex(fresh)
        guess = guess_sizes(fresh, cm.lp, integer[scalar], integer[~scalar])
    solve_from_guess(h, cm.lp, integer[scalar], guess)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    costs = np.asarray(cm.lp.col_cost_)
    offset = cm.objective_offset
    bound = float(costs @ np.asarray(h.getSolution().col_value)) + offset

    def enough(cost: float, lowest: float) -> bool:
        return relative_gap(cost + offset, lowest + offset) <= options.mip_gap

    with nullcontext() if clock is None else clock.grace(ROUNDING_GRACE):
        rounding = round_in_stages(h, integer, scalar, costs, enough)
    if rounding.bound is not None:  # the branches on the sizes bound the MIP closer
        bound = max(bound, rounding.bound + offset)
    start = rounding.values
    point = None
    if start is not None:
        point = RelaxationStart(start, float(costs @ start) + cm.objective_offset, bound)
        if point.gap <= options.mip_gap:
            return point
    if rounding.sizes is None or scalar.all() or not scalar.any():
        return point
    share = replace(options, time_limit_s=POLISH_SHARE * options.time_limit_s)
    sub_clock = None if clock is None else clock.share(POLISH_SHARE)  # held here: HiGHS's
    sub = _new_highs(share, cm.lp, sub_clock)  # callback keeps no reference to its data
    sub.passModel(cm.lp)
    sizes = integer[scalar]
    polished = polish_steps(sub, sizes, rounding.sizes, options.mip_gap / 2, start)
    if polished is not None and (start is None or float(costs @ polished) < float(costs @ start)):
        return RelaxationStart(polished, float(costs @ polished) + cm.objective_offset, bound)
    return point


def load_values(m: pyo.ConcreteModel, cm: CompiledModel, values: np.ndarray) -> None:
    """Write solver values into the Pyomo variables (columns not in the matrix keep theirs)."""
    for var, value in zip(cm.columns, values.tolist(), strict=True):
        var.set_value(value, skip_validation=True)
    for var in m.component_data_objects(pyo.Var, descend_into=True):
        if var.value is None:
            var.set_value(
                var.lb if var.lb is not None and var.lb > 0 else 0.0, skip_validation=True
            )


def load_reduced_costs(m: pyo.ConcreteModel, cm: CompiledModel, costs: np.ndarray) -> None:
    """Write the LP's reduced costs into ``m.rc`` when the model declares that import suffix: the
    change of the optimum per unit raised of a column held at a bound (a fixed schedule, say)."""
    suffix = getattr(m, "rc", None)
    if isinstance(suffix, pyo.Suffix):
        for var, value in zip(cm.columns, costs.tolist(), strict=True):
            suffix[var] = value


def fixed_integer_duals(
    cm: CompiledModel, values: np.ndarray, options: SolverOptions
) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """Row duals and reduced costs of a MIP's LP with every integer column fixed at ``values``
    (rounded): the prices of the MIP's solution once its on/off decisions are taken, as
    :func:`lp_duals` gives them. ``None`` if that LP has no optimal dual solution."""
    integer = np.flatnonzero(
        np.array([t == highspy.HighsVarType.kInteger for t in cm.lp.integrality_], dtype=bool)
    )
    fixed = np.round(values[integer])
    h = _new_highs(options, cm.lp)
    h.passModel(cm.lp)
    h.changeColsBounds(len(integer), integer.astype(np.int32), fixed, fixed)
    h.changeColsIntegrality(
        len(integer),
        integer.astype(np.int32),
        np.full(len(integer), highspy.HighsVarType.kContinuous),
    )
    h.run()
    return lp_duals(h)


def request_duals(m: pyo.ConcreteModel) -> pyo.ConcreteModel:
    """Declare ``m.dual`` so that :func:`solve_model` loads the duals into it; returns ``m``."""
    m.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
    return m


def load_duals(
    m: pyo.ConcreteModel, cm: CompiledModel, sol: Solution, options: SolverOptions
) -> None:
    """Write the duals into ``m.dual`` when the model declares that import suffix.

    Constraints get their row dual (a ranged constraint compiles to two rows: their sum),
    variables their reduced cost; both are the change of the optimum per unit raised of the
    constraint's bound or the variable's active bound (HiGHS's sign: ``∂ objective / ∂ bound``).
    For a MIP they come from :func:`fixed_integer_duals`; ``sol.duals_source`` says which.
    Rows left out of the compiled model (all terms fixed) get none.
    """
    suffix = getattr(m, "dual", None)
    if not isinstance(suffix, pyo.Suffix) or not sol.has_values:
        return
    rows, columns = sol.row_duals, sol.reduced_costs
    if cm.is_mip:
        fixed = fixed_integer_duals(cm, sol.column_values, options)
        if fixed is None:
            return
        rows, columns, exact = fixed
        sol.row_duals = rows
        sol.duals_source = FIXED_DUALS if exact else FIXED_DUALS + RELATIVE_DUALS
    if rows is None or columns is None:
        return
    previous = None
    for row, value in zip(cm.rows, rows.tolist(), strict=True):
        # a ranged constraint's two rows come one after the other
        suffix[row] = suffix[row] + value if row is previous else value
        previous = row
    for var, value in zip(cm.columns, columns.tolist(), strict=True):
        suffix[var] = value


def compile_checked(
    m: pyo.ConcreteModel, options: SolverOptions
) -> tuple[CompiledModel | None, Conflict | None]:
    """:func:`compile_model`, with the rows whose terms are all fixed taken out when there are any.

    Pyomo's compiler rejects such a row if it misses its bounds at all (no tolerance). Rows met
    within :data:`~wattbit.infeasibility.FEASIBILITY_TOL` are left out of the compiled model; if
    any misses by more, the model is infeasible and the conflict is the earliest of them, unless
    the model is already infeasible at an earlier step.
    """
    try:
        return compile_model(m), None
    except InfeasibleConstraintException:
        pass
    rows = fixed_rows(m)
    for row, _ in rows:
        row.deactivate()
    try:
        cm = compile_model(m)
    finally:
        for row, _ in rows:
            row.activate()
    broken = [row for row, miss in rows if miss > FEASIBILITY_TOL]
    if not broken:
        return cm, None
    steps = [fixed_row_step(row) for row in broken]
    first = min(steps)
    conflict = diagnose(cm, options, before=first)
    if conflict.step == first and not conflict.rows and not conflict.exclusive:
        at_first = [row for row, step in zip(broken, steps, strict=True) if step == first]
        conflict = Conflict(step=first, rows=at_first, fixed=True)
    return None, conflict


def solve_model(
    m: pyo.ConcreteModel, options: SolverOptions, warm_start: dict[int, float] | None = None
) -> tuple[Solution, CompiledModel | None]:
    """Compile, solve and load values into ``m``; timings for each phase in ``Solution.timings``.

    ``warm_start`` maps ``id(var)`` to a value, used as a MIP start. A model that rows of fixed
    values alone make infeasible comes back ``infeasible`` with no compiled model.
    """
    t0 = time.perf_counter()
    cm, conflict = compile_checked(m, options)
    t1 = time.perf_counter()
    if cm is None:
        timings = {"hand_off": t1 - t0}
        return Solution("infeasible", describe(conflict), timings=timings, conflict=conflict), None
    start = None
    if warm_start is not None:
        start = np.array([warm_start.get(id(v), 0.0) for v in cm.columns])
    sol = solve_compiled(cm, options, start)
    t2 = time.perf_counter()
    if sol.has_values:
        load_values(m, cm, sol.column_values)
    if sol.reduced_costs is not None:
        load_reduced_costs(m, cm, sol.reduced_costs)
    load_duals(m, cm, sol, options)
    sol.timings = {"hand_off": t1 - t0, **sol.timings, "load": time.perf_counter() - t2}
    return sol, cm
