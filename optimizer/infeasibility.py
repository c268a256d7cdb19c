"""Why and from when a model is infeasible, in the case's own time stamps and in plain words.

Placing a conflict in time
--------------------------
Every column of the compiled model belongs to a time step — the index of its time set (``T``, or
a battery's exclusivity steps ``X``) — or to none (sizes, initial states: step −1). Every row
belongs to the latest step among its own index and its columns: a battery's cyclic rule
``e_{n-1} = e_{-1}`` (B6) belongs to the last step. The model *up to step k* keeps the rows and
columns of steps ≤ k; it only gains rows and columns as k grows, so once infeasible it stays
infeasible. The first infeasible step is the smallest such k, found by bisection
(⌈log2(n + 1)⌉ feasibility solves, integrality kept). A conflict found in the model up to that
step must involve that step: the model up to the step before is feasible.

The conflict itself is an irreducible infeasible set (HiGHS's IIS) of the LP relaxation of the
model up to the first infeasible step. When that relaxation is feasible, only the batteries'
charge/discharge exclusivity (B7) makes the case infeasible: a battery would have to charge and
discharge at once, burning energy as losses (see ``docs/formulation.md``, "Burning energy").

Rows whose terms are all fixed (a branch whose flow is fixed by fixed loads, a reverse-flow limit
behind a merchant battery's fixed schedule) never reach HiGHS: Pyomo's compiler rejects them.
:func:`fixed_rows` finds them all; those met within :data:`FEASIBILITY_TOL` are left out of the
compiled model, the others are the conflict unless an earlier step is already infeasible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import highspy
import numpy as np
import pandas as pd
import pyomo.environ as pyo
import scipy.sparse as sp
import xarray as xr
from pyomo.core.expr.numvalue import is_fixed
from pyomo.core.expr.visitor import identify_variables

from wattbit.infeasibility_words import KIND_WORDS, ROWS, SITE_WORDS, VARIABLES

if TYPE_CHECKING:
    from wattbit.solve import CompiledModel, Solution, SolverOptions

TIME_SETS = ("T", "X")
FEASIBILITY_TOL = 1e-7
"""A row whose terms are all fixed counts as met within this (× max(1, |bound|)); HiGHS's own
primal feasibility tolerance."""
NETWORK_KINDS = ("battery", "dc", "ev", "pv")


@dataclass
class Conflict:
    """The first step at which a model is infeasible and what cannot hold there.

    ``step`` is −1 when the rows that touch no time step (sizes, initial states) conflict alone,
    ``None`` when the placement could not finish (a feasibility solve hit the time limit).
    """

    step: int | None
    rows: list[pyo.Constraint] = field(default_factory=list)
    bounds: list[pyo.Var] = field(default_factory=list)
    fixed: bool = False
    exclusive: list[pyo.Block] = field(default_factory=list)


# --------------------------------------------------------------------------- steps


def _time_positions(component: pyo.Component, cache: dict[int, tuple[int, ...]]) -> tuple:
    key = id(component)
    if key not in cache:
        factors = list(component.index_set().subsets())
        cache[key] = tuple(i for i, s in enumerate(factors) if s.local_name in TIME_SETS)
    return cache[key]


def step_of(data: pyo.Var | pyo.Constraint, cache: dict[int, tuple[int, ...]]) -> int:
    """The time step of a variable or constraint by its own index (−1 if it has none)."""
    positions = _time_positions(data.parent_component(), cache)
    if not positions:
        return -1
    index = data.index()
    index = index if isinstance(index, tuple) else (index,)
    return max(int(index[i]) for i in positions)


def _steps(cm: CompiledModel) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix]:
    """Step of every column and row of a compiled model, and its matrix (rows × columns)."""
    cache: dict[int, tuple[int, ...]] = {}
    a = cm.lp.a_matrix_
    A = sp.csc_matrix(
        (np.asarray(a.value_), np.asarray(a.index_), np.asarray(a.start_)),
        shape=(cm.lp.num_row_, cm.lp.num_col_),
    ).tocsr()
    cols = np.fromiter((step_of(v, cache) for v in cm.columns), int, len(cm.columns))
    rows = np.fromiter((step_of(r, cache) for r in cm.rows), int, len(cm.rows))
    touched = np.full(len(cm.rows), -1)
    nonempty = np.diff(A.indptr) > 0
    if A.nnz:
        latest = np.maximum.reduceat(cols[A.indices], A.indptr[:-1][nonempty])
        touched[nonempty] = latest
    return cols, np.maximum(rows, touched), A


# --------------------------------------------------------------------------- sub-models


def _sub_lp(
    cm: CompiledModel, A: sp.csr_matrix, keep_cols: np.ndarray, keep_rows: np.ndarray, relax: bool
) -> highspy.HighsLp:
    """The model's rows and columns selected, with no objective (a feasibility problem)."""
    lp = cm.lp
    sub = A[keep_rows][:, keep_cols].tocsc()
    out = highspy.HighsLp()
    out.num_col_, out.num_row_ = int(keep_cols.sum()), int(keep_rows.sum())
    out.col_cost_ = np.zeros(out.num_col_)
    out.col_lower_ = np.asarray(lp.col_lower_)[keep_cols]
    out.col_upper_ = np.asarray(lp.col_upper_)[keep_cols]
    out.row_lower_ = np.asarray(lp.row_lower_)[keep_rows]
    out.row_upper_ = np.asarray(lp.row_upper_)[keep_rows]
    out.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    out.a_matrix_.start_ = sub.indptr
    out.a_matrix_.index_ = sub.indices
    out.a_matrix_.value_ = sub.data
    if cm.is_mip and not relax:
        out.integrality_ = [t for t, k in zip(lp.integrality_, keep_cols, strict=True) if k]
    return out


def _highs(options: SolverOptions) -> highspy._Highs:
    h = highspy._Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(options.time_limit_s))
    h.setOptionValue("threads", int(options.threads))
    return h


def _feasible(lp: highspy.HighsLp, options: SolverOptions) -> bool | None:
    """True, False, or None when HiGHS could not tell within the time limit."""
    h = _highs(options)
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return False
    if status == highspy.HighsModelStatus.kOptimal:
        return True
    return None


def _iis(lp: highspy.HighsLp, options: SolverOptions) -> tuple[list[int], list[int]] | None:
    """Rows and bounded columns of an irreducible infeasible set, or None if the LP solves."""
    h = _highs(options)
    h.passModel(lp)
    # HiGHS's default ("light") IIS only finds contradictory bounds: ask for one from the whole
    # LP reduced to an irreducible set (bit map 2 | 4 since HiGHS 1.16; older take 2).
    if h.setOptionValue("iis_strategy", 6) != highspy.HighsStatus.kOk:
        h.setOptionValue("iis_strategy", 2)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kInfeasible:
        return None
    _, iis = h.getIis()
    # a column whose bounds play no part in the conflict is reported with status "free"
    free = int(getattr(getattr(highspy, "IisBoundStatus", None), "kIisBoundStatusFree", 1))
    bounds = list(iis.col_bound_) or [None] * len(iis.col_index_)
    cols = [i for i, b in zip(iis.col_index_, bounds, strict=True) if b != free]
    return list(iis.row_index_), cols


# --------------------------------------------------------------------------- diagnosis


def diagnose(cm: CompiledModel, options: SolverOptions, before: int | None = None) -> Conflict:
    """The first infeasible step of a compiled model and an irreducible conflict there.

    With ``before`` (a step of a fixed row that cannot be met), only steps before it are
    searched; ``Conflict.step`` is then ``before`` with no rows if none of them is infeasible.
    """
    cols, rows, A = _steps(cm)
    last = int(max(cols.max(initial=-1), rows.max(initial=-1)))
    hi = last if before is None else before - 1

    def up_to(k: int, relax: bool = False) -> highspy.HighsLp:
        return _sub_lp(cm, A, cols <= k, rows <= k, relax)

    if before is not None and (hi < -1 or _feasible(up_to(hi), options) is not False):
        return Conflict(step=before)
    lo = -2  # invariant: feasible up to lo (nothing, at −2), infeasible up to hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        feasible = _feasible(up_to(mid), options)
        if feasible is None:
            return Conflict(step=None)
        lo, hi = (mid, hi) if feasible else (lo, mid)
    keep_cols, keep_rows = cols <= hi, rows <= hi
    found = _iis(up_to(hi, relax=True), options)
    if found is None:
        return Conflict(step=hi, exclusive=_exclusive_at(cm, cols, hi))
    row_ids = np.flatnonzero(keep_rows)[found[0]]
    col_ids = np.flatnonzero(keep_cols)[found[1]]
    return Conflict(
        step=hi,
        rows=[cm.rows[i] for i in row_ids],
        bounds=[cm.columns[i] for i in col_ids],
    )


def _exclusive_at(cm: CompiledModel, cols: np.ndarray, step: int) -> list[pyo.Block]:
    """Battery blocks with an exclusivity binary at ``step`` (else at any step before it)."""
    binary = [
        (i, v.parent_block())
        for i, v in enumerate(cm.columns)
        if v.parent_component().local_name == "charging" and cols[i] <= step
    ]
    at_step = [b for i, b in binary if cols[i] == step] or [b for _, b in binary]
    return list(dict.fromkeys(at_step))


def fixed_rows(m: pyo.Block) -> list[tuple[pyo.Constraint, float]]:
    """Every active row whose terms are all fixed, with how far it misses its bounds (0 if met)."""
    found = []
    for row in m.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        if not is_fixed(row.body):
            continue
        value = pyo.value(row.body)
        miss = 0.0
        if row.has_lb():
            lower = pyo.value(row.lower)
            miss = max(miss, (lower - value) / max(1.0, abs(lower)))
        if row.has_ub():
            upper = pyo.value(row.upper)
            miss = max(miss, (value - upper) / max(1.0, abs(upper)))
        found.append((row, miss))
    return found


def fixed_row_step(row: pyo.Constraint) -> int:
    """A fixed row's step: its own index, or the latest of its (fixed) variables."""
    cache: dict[int, tuple[int, ...]] = {}
    steps = [step_of(v, cache) for v in identify_variables(row.body, include_fixed=True)]
    return max([step_of(row, cache), *steps])


# --------------------------------------------------------------------------- plain words


def _path(block: pyo.Block) -> tuple[list[str], str]:
    """Local names of the blocks from the model down to ``block``, and where an indexed block
    (a scenario) sits among its siblings (`` in scenario 2``; empty if none)."""
    names, where = [], ""
    while block is not None and block.parent_block() is not None:
        names.append(block.parent_component().local_name)
        if block.parent_component().is_indexed():
            where = f" in {block.parent_component().local_name} {block.index()}"
        block = block.parent_block()
    return names[::-1], where


def owner(block: pyo.Block, kinds: Mapping[str, str]) -> tuple[str, str]:
    """(kind, words) of the block holding a row: ``kinds`` maps network asset names to kinds."""
    path, where = _path(block)
    kind, words = _owner(path, kinds)
    return kind, words + where


def _owner(path: list[str], kinds: Mapping[str, str]) -> tuple[str, str]:
    if not path:
        return "model", "the model"
    name = path[-1]
    at_node = f" at node '{path[1]}'" if len(path) >= 3 and path[0] == "node" else ""
    if path[0] == "node" and len(path) == 2:
        return "node", f"node '{name}'"
    if path[0] == "branch" and len(path) == 2:
        return "branch", f"branch '{name}'"
    if name == "upstream":
        return "grid", f"the upstream supply{at_node}"
    if name in kinds:
        return kinds[name], f"{KIND_WORDS[kinds[name]]} '{name}'{at_node}"
    for suffix, kind, words in (
        ("_deferrable", "shift", "deferrable work"),
        ("_migration", "geo_site", "migration"),
    ):
        if at_node and name.endswith(suffix):
            return kind, f"the {words} of DC '{name[: -len(suffix)]}'{at_node}"
    return name, SITE_WORDS.get(name, f"'{'.'.join(path)}'")


def family(item: pyo.Constraint | pyo.Var, kinds: Mapping[str, str]) -> str:
    """A row or a bounded column in plain words with its formulation tag."""
    kind, who = owner(item.parent_block(), kinds)
    local = item.parent_component().local_name
    if isinstance(item.parent_component(), pyo.Var):
        words = VARIABLES.get(local, local.replace("_", " "))
        return f"the bounds on the {words} of {who}"
    rows = ROWS.get(kind, {})
    genset, _, row = local.partition("_")
    if kind == "generator" and local not in rows and row in rows:  # a genset type's row
        words, tag = rows[row]
        words = f"{words} ('{genset}' gensets)"
    else:
        words, tag = rows.get(local, (local.replace("_", " "), ""))
    whose = "" if kind == "model" else f" of {who}"
    return f"the {words}{whose}" + (f" ({tag})" if tag else "")


def _joined(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def time_label(times: pd.DatetimeIndex | None, step: int | None) -> str:
    """``at <local time stamp>`` of a step (``at step k`` without times)."""
    if step is None:
        return "at a step that could not be placed (a feasibility solve reached the time limit)"
    if step < 0:
        return "before the first step (in the sizes and start states alone)"
    if times is None:
        return f"at step {step}"
    return f"at {times[step].isoformat(sep=' ', timespec='minutes')}"


def describe(
    conflict: Conflict,
    times: pd.DatetimeIndex | None = None,
    kinds: Mapping[str, str] | None = None,
) -> str:
    """The conflict in one line: what cannot hold, from when, and why."""
    kinds = kinds or {}
    when = time_label(times, conflict.step)
    if conflict.exclusive:
        who = _joined(list(dict.fromkeys(owner(b, kinds)[1] for b in conflict.exclusive)))
        return (
            f"infeasible {when} only because {who} may not charge and discharge at once (B7): "
            "the other limits hold only if it burns energy there (charges and discharges at "
            "once, losing the difference), e.g. generation that cannot be curtailed behind an "
            'export or reverse-flow limit; set its exclusive = "never" to let it'
        )
    parts = list(dict.fromkeys(family(x, kinds) for x in [*conflict.rows, *conflict.bounds]))
    if not parts:
        return f"infeasible {when}; HiGHS found no irreducible infeasible set to name"
    if conflict.fixed:
        names = ", ".join(r.name for r in conflict.rows)
        return (
            f"{_joined(parts)} cannot hold {when}: all its terms are fixed "
            f"(loads, limits or schedules given in the case), row {names}"
        )
    verb = (
        "cannot hold"
        if len(parts) == 1
        else ("cannot both hold" if len(parts) == 2 else "cannot all hold")
    )
    return f"{_joined(parts)} {verb} {when}"


def local_times(inputs: xr.Dataset) -> pd.DatetimeIndex:
    """The input Dataset's time stamps in the case's own time zone."""
    utc = pd.DatetimeIndex(inputs["time"].values).tz_localize("UTC")
    return utc.tz_convert(inputs.attrs.get("timezone", "UTC"))


def asset_kinds(inputs: xr.Dataset) -> dict[str, str]:
    """Network asset names → their kind (empty for a single-site case)."""
    return {
        str(name): kind
        for kind in NETWORK_KINDS
        if kind in inputs.dims
        for name in inputs[kind].values.tolist()
    }


def in_case_terms(solution: Solution, inputs: xr.Dataset) -> None:
    """Rewrite an infeasible solution's message with the case's time stamps and asset names."""
    if solution.conflict is not None:
        solution.message = describe(solution.conflict, local_times(inputs), asset_kinds(inputs))
