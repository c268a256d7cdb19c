"""The master problem of the L-shaped method (:mod:`wattbit.strategies.benders`): one column
per class of equal shared columns, the rows among them (once), ``θ_k`` per scenario and the cuts."""

from __future__ import annotations

import math

import highspy
import numpy as np
import scipy.sparse as sp

from wattbit.solve import SolverOptions, _new_highs
from wattbit.strategies.subproblem import SIZE_TIE, Answer, Shape

CUT_TOL = 1e-9  # a cut is added when V_k exceeds θ_k by more than this (relative)


class Refused(Exception):
    """The decomposition does not apply; the message says why."""


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
        """The master's columns and objective (a lower bound). Each solve starts cold, with
        presolve: from the last basis, HiGHS re-solves the unpresolved LP after the cuts, at
        several times the cost per simplex iteration (full year, K = 4: 11.4 CPU s warm against
        3.2 cold after the first cuts; docs/performance.md, "Type ③ by decomposition"). Where
        the presolved solve does not end optimal (the cuts' coefficients span 1e-9 to 1e9, and
        the postsolved point can miss a row by 1e-4), it is solved again without presolve."""
        if self.highs is None:
            self.highs = _new_highs(options, self.lp)
            self.highs.passModel(self.lp)
        else:
            self.highs.clearSolver()
        self.highs.run()
        status = self.highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            self.highs.setOptionValue("presolve", "off")
            self.highs.clearSolver()
            self.highs.run()
            self.highs.setOptionValue("presolve", "choose")
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
