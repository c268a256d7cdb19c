"""One scenario's part of the L-shaped method (:mod:`wattbit.strategies.benders`).

Scenario ``k``'s site model is built and compiled alone. Its columns split in two:

* **shared** — a size (K1), or a variable that the non-anticipativity rows (K3) tie to another
  scenario: a variable without index of a site block while ``s_k > 0``, and a time-indexed one
  of a site block at a step ``t < s_k``, where ``s_k = max_{j≠k} δ_jk`` is the step from which
  no other scenario has the same data as ``k`` (:func:`wattbit.strategies.stochastic.first_difference`).
  Each shared column belongs to one class of columns equal in the extensive form, named by its
  key and :func:`tie_time` (the class is the group of scenarios whose data agree up to it).
* **own** — every other column: only scenario ``k`` has it.

The master problem (:mod:`wattbit.strategies.benders`) holds the shared classes and the rows
whose columns are all shared; the subproblem holds the rows that touch an own column, with the
shared columns in them fixed at the master's values. Its value ``V_k`` counts the costs of its
own columns only; the reduced costs of the fixed columns are a subgradient of ``V_k`` in them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
import xarray as xr
from pyomo.common.gc_manager import PauseGC

from wattbit.model import create_model
from wattbit.results import build_results
from wattbit.solve import SolverOptions, _new_highs, compile_model, load_values

SIZE_TIE = -1  # the tie time of a size: equal in every scenario
ColumnKey = tuple[str, str, object]  # (site block, variable, index)


@dataclass
class Shape:
    """What the master needs of one scenario: its shared columns (key, tie time, cost, bounds),
    the rows among them alone (CSR over the shared columns) and which shared columns the
    subproblem fixes."""

    keys: list[ColumnKey]
    tie_times: np.ndarray
    costs: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    rows: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    fixed: np.ndarray  # positions in ``keys`` of the columns the subproblem fixes
    offset: float
    is_mip: bool
    own_columns: int
    own_rows: int
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class Answer:
    """A subproblem solved at fixed shared values: ``V_k`` and its subgradient (``None`` when
    HiGHS did not end optimal; ``status`` says how it ended). When infeasible, ``feasibility``
    holds ``(d, low, high)``: every feasible point has ``low ≤ d x_F ≤ high`` (:func:`farkas`)."""

    status: str
    value: float | None
    gradient: np.ndarray | None
    seconds: float
    feasibility: tuple[np.ndarray, float, float] | None = None
    cpu_seconds: float = 0.0  # the worker's CPU seconds in HiGHS


def _interval(coef: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[float, float]:
    """The range of ``coef · z`` over the box ``lower ≤ z ≤ upper`` (±inf where unbounded)."""
    nz = coef != 0.0
    c, lo, up = coef[nz], lower[nz], upper[nz]
    with np.errstate(invalid="ignore"):
        a, b = c * lo, c * up
    low = np.where(c > 0, a, b)
    high = np.where(c > 0, b, a)
    return float(np.sum(low)), float(np.sum(high))


def farkas(
    a: sp.csc_matrix,
    ray: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    col_lower: np.ndarray,
    col_upper: np.ndarray,
    n_own: int,
) -> tuple[np.ndarray, float, float]:
    """A row aggregation ``y`` of ``L ≤ A z ≤ U`` gives ``y·A z = d·z`` with ``d = Aᵀy``: on any
    feasible point ``y·A z`` lies in the range of ``y·r`` over ``r ∈ [L, U]`` and ``d·z`` in its
    range over the column bounds. With the own columns (the first ``n_own``) at their bounds,
    the fixed ones must satisfy ``low ≤ d_F x_F ≤ high`` — an implied inequality whatever the sign
    convention of ``ray``; it cuts off the master's point when the subproblem was infeasible."""
    d = a.T @ ray
    rows_low, rows_high = _interval(ray, row_lower, row_upper)
    own_low, own_high = _interval(d[:n_own], col_lower[:n_own], col_upper[:n_own])
    return d[n_own:], rows_low - own_high, rows_high - own_low


def tie_time(block: pyo.Block, var: pyo.Var, sizes: set[tuple[str, str]]) -> int | None:
    """``SIZE_TIE`` for a size, 0 for a variable without index of a site block, ``None`` for a
    variable K3 never ties; a time-indexed variable of a site block is tied up to its step."""
    if (block.local_name, var.local_name) in sizes:
        return SIZE_TIE
    return 0 if not var.is_indexed() else None


class Subproblem:
    """Scenario ``k``'s subproblem, kept in HiGHS between solves (the basis carries over)."""

    def __init__(
        self,
        site: xr.Dataset,
        split: int,
        sizes: set[tuple[str, str]],
        options: SolverOptions,
    ) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        self.site = site
        self.model = create_model(site)
        t1, c1 = time.perf_counter(), time.process_time()
        cm = compile_model(self.model)
        self.compiled = cm
        t2, c2 = time.perf_counter(), time.process_time()
        # The split allocates while every model this process keeps is alive: the cyclic
        # collector's passes over them were half its time, more with each model kept.
        with PauseGC():
            shared, ties, keys = self._classify(split, sizes)
            lp = cm.lp
            a = sp.csc_matrix(
                (lp.a_matrix_.value_, lp.a_matrix_.index_, lp.a_matrix_.start_),
                shape=(lp.num_row_, lp.num_col_),
            ).tocsr()
            own = ~shared
            touches = np.diff(a[:, np.flatnonzero(own)].tocsr().indptr) > 0
            sub_rows = a[touches]
            fixed_cols = np.flatnonzero(shared & (np.diff(sub_rows.tocsc().indptr) > 0))
            self.own = np.flatnonzero(own)
            self.fixed = fixed_cols
            columns = np.concatenate([self.own, self.fixed])
            row_lower, row_upper = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
            col_lower, col_upper = np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)
            cost = np.asarray(lp.col_cost_)
            sub = highspy.HighsLp()
            sub.num_col_, sub.num_row_ = len(columns), int(touches.sum())
            sub.col_cost_ = np.concatenate([cost[self.own], np.zeros(len(self.fixed))])
            sub.col_lower_, sub.col_upper_ = col_lower[columns], col_upper[columns]
            sub.row_lower_, sub.row_upper_ = row_lower[touches], row_upper[touches]
            m = sub_rows[:, columns].tocsc()
            self.lp = sub
            self.a = m
            sub.a_matrix_.format_ = highspy.MatrixFormat.kColwise
            sub.a_matrix_.start_, sub.a_matrix_.index_, sub.a_matrix_.value_ = (
                m.indptr,
                m.indices,
                m.data,
            )
            self.highs = _new_highs(options, sub)
            self.highs.passModel(sub)
            self.n_own = len(self.own)
            self.values = np.zeros(len(columns))
            shared_idx = np.flatnonzero(shared)
            self.shared_idx = shared_idx
            position = {int(c): i for i, c in enumerate(shared_idx)}
            master_rows = a[~touches][:, shared_idx].tocsr()
            self.shape = Shape(
                keys=[keys[c] for c in shared_idx],
                tie_times=ties[shared_idx],
                costs=cost[shared_idx],
                lower=col_lower[shared_idx],
                upper=col_upper[shared_idx],
                rows=master_rows,
                row_lower=row_lower[~touches],
                row_upper=row_upper[~touches],
                fixed=np.array([position[int(c)] for c in self.fixed], dtype=int),
                offset=float(lp.offset_),
                is_mip=cm.is_mip,
                own_columns=len(self.own),
                own_rows=int(touches.sum()),
                seconds={
                    "build": t1 - t0,
                    "hand_off": t2 - t1,
                    "split": time.perf_counter() - t2,
                    "build_cpu": c1 - c0,
                    "hand_off_cpu": c2 - c1,
                    "split_cpu": time.process_time() - c2,
                },
            )

    def _classify(
        self, split: int, sizes: set[tuple[str, str]]
    ) -> tuple[np.ndarray, np.ndarray, dict[int, ColumnKey]]:
        """Per compiled column: shared or not, its tie time; the key of each shared one. Read
        per variable of each site block (a block directly under the model: K3 ties nothing
        else), not per column."""
        m, columns = self.model, self.compiled.columns
        n = len(columns)
        position = {id(v): i for i, v in enumerate(columns)}
        shared = np.zeros(n, dtype=bool)
        ties = np.full(n, SIZE_TIE, dtype=int)
        keys: dict[int, ColumnKey] = {}
        for block in m.component_data_objects(pyo.Block, descend_into=False):
            for var in block.component_objects(pyo.Var, descend_into=False):
                tie = tie_time(block, var, sizes)
                timed = tie is None and var.index_set() is m.T
                if tie is None and not timed:
                    continue
                # the names once per variable: a block's local_name searches its parent's index
                names = (block.local_name, var.local_name)
                for index, v in var.items():
                    i = position.get(id(v))
                    t = int(index) if timed else tie
                    if i is not None and (t == SIZE_TIE or t < split):
                        shared[i], ties[i] = True, t
                        keys[i] = (*names, index)
        return shared, ties, keys

    def relaxed(self) -> Answer:
        """The subproblem with its shared columns free within their bounds: a lower bound on
        ``V_k`` at any shared values."""
        return self._run()

    def solve(self, fixed_values: np.ndarray) -> Answer:
        """``V_k`` with the shared columns fixed at ``fixed_values`` (in :attr:`Shape.fixed`
        order)."""
        idx = np.arange(self.n_own, self.n_own + len(self.fixed), dtype=np.int32)
        v = np.asarray(fixed_values, dtype=float)
        self.highs.changeColsBounds(len(idx), idx, v, v)
        return self._run()

    def _run(self) -> Answer:
        t0, c0 = time.perf_counter(), time.process_time()
        self.highs.run()
        answer = self._answer(time.perf_counter() - t0)
        answer.cpu_seconds = time.process_time() - c0
        return answer

    def _answer(self, seconds: float) -> Answer:
        status = self.highs.getModelStatus()
        if status == highspy.HighsModelStatus.kModelEmpty:  # data equal to another's throughout
            return Answer("optimal", 0.0, np.zeros(len(self.fixed)), seconds)
        if status == highspy.HighsModelStatus.kInfeasible:
            return Answer("infeasible", None, None, seconds, self._feasibility())
        if status != highspy.HighsModelStatus.kOptimal:
            return Answer(self.highs.modelStatusToString(status), None, None, seconds)
        solution = self.highs.getSolution()
        self.values = np.asarray(solution.col_value)
        duals = np.asarray(solution.col_dual)[self.n_own :]
        value = float(self.highs.getInfo().objective_function_value)
        return Answer("optimal", value, duals, seconds)

    def _feasibility(self) -> tuple[np.ndarray, float, float] | None:
        _, has_ray, ray = self.highs.getDualRay()
        if not has_ray:
            return None
        lp = self.highs.getLp()
        return farkas(
            self.a,
            np.asarray(ray),
            np.asarray(lp.row_lower_),
            np.asarray(lp.row_upper_),
            np.asarray(lp.col_lower_),
            np.asarray(lp.col_upper_),
            self.n_own,
        )

    def results(self, shared_values: np.ndarray) -> xr.Dataset:
        """The site results of the last solve with every shared column at ``shared_values``
        (in :attr:`Shape.keys` order)."""
        values = np.zeros(len(self.compiled.columns))
        values[self.shared_idx] = shared_values
        values[self.own] = self.values[: self.n_own]
        load_values(self.model, self.compiled, values)
        return build_results(self.site, self.model, {})
