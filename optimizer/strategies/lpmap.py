"""The LP data of a compiled window as one vector :math:`v`, and how an input moves it.

:math:`v` stacks the column costs, column bounds, row bounds, objective offset and the matrix's
values on a fixed pattern (:func:`vectors`); :class:`Entries` is the measured map of one input
(:mod:`wattbit.strategies.windows`); :func:`column_map` says which compiled column holds each
element of each model variable, for reading a solution back as ``<block>_<var>`` arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
import xarray as xr
from scipy import sparse

from wattbit.formulations.site import component_blocks
from wattbit.solve import CompiledModel

PROBE = 1e-3
"""An input is moved by this share of its largest magnitude (at least 1) to measure its map."""


@dataclass
class Entries:
    """Where one input enters the LP data: entry ``index`` of :math:`v` moves by ``coef`` per
    unit of the input at step ``step`` (``step`` is 0 for a scalar)."""

    index: np.ndarray
    step: np.ndarray
    coef: np.ndarray


def vectors(cm: CompiledModel, pattern: tuple[np.ndarray, ...] | None = None) -> np.ndarray | None:
    """:math:`v` of ``cm``, its matrix values read on ``pattern`` (by default its own); ``None``
    if ``cm`` has another shape or a coefficient outside ``pattern``. A coefficient the compiler
    left out because it is 0 (a battery starting empty) reads as 0."""
    lp = cm.lp
    parts = (lp.col_cost_, lp.col_lower_, lp.col_upper_, lp.row_lower_, lp.row_upper_)
    values = np.asarray(lp.a_matrix_.value_, dtype=float)
    own = matrix(cm)
    if pattern is not None and not same_matrix(own, pattern):
        start, rows, shape = pattern
        if not np.array_equal(own[2], shape):  # rows or columns added or removed
            return None
        a = sparse.csc_matrix((values, own[1], own[0]), shape=tuple(shape))
        cols = np.repeat(np.arange(shape[1]), np.diff(start))
        read = np.asarray(a[rows, cols]).ravel()
        if a.count_nonzero() != np.count_nonzero(read):
            return None
        values = read
    return np.concatenate([*(np.asarray(p, dtype=float) for p in parts), [lp.offset_], values])


def matrix(cm: CompiledModel) -> tuple[np.ndarray, ...]:
    """The matrix's pattern (column starts, row indices, shape); its values are part of
    :math:`v`."""
    a, lp = cm.lp.a_matrix_, cm.lp
    return (np.asarray(a.start_), np.asarray(a.index_), np.array([lp.num_row_, lp.num_col_]))


def same_matrix(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> bool:
    return all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def moved(base: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """``probe − base``, entries infinite in both (same sign) unmoved, NaN where only one is."""
    both = np.isinf(base) & np.isinf(probe) & (np.sign(base) == np.sign(probe))
    with np.errstate(invalid="ignore"):
        diff = probe - base
    diff[both] = 0.0
    diff[~np.isfinite(diff)] = np.nan
    return diff


def away_from_zero(ds: xr.Dataset, names: list[str]) -> xr.Dataset:
    """``ds`` with each zero of the inputs ``names`` moved by :data:`PROBE` of the input's scale
    (module doc)."""
    moved = {}
    for name in names:
        x = ds[name].values.astype(float)
        if np.any(x == 0):
            delta = PROBE * max(1.0, float(np.max(np.abs(x), initial=0.0)))
            moved[name] = (ds[name].dims, np.where(x == 0, delta, x), ds[name].attrs)
    return ds.assign(moved)


def same_attrs(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def split(touched: np.ndarray, n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Sort entries of :math:`v` (``n`` columns, ``m`` rows) into the columns whose cost, the
    columns whose bounds and the rows whose bounds they hold (``int32``, as HiGHS takes them),
    and whether they hold the offset."""
    lower, upper = (
        touched[(touched >= n) & (touched < 2 * n)],
        touched[(touched >= 2 * n) & (touched < 3 * n)],
    )
    rows = touched[(touched >= 3 * n) & (touched < 3 * n + 2 * m)] - 3 * n
    return (
        touched[touched < n].astype(np.int32),
        np.union1d(lower - n, upper - 2 * n).astype(np.int32),
        np.union1d(rows[rows < m], rows[rows >= m] - m).astype(np.int32),
        bool(np.any(touched == 3 * n + 2 * m)),
    )


def column_map(m: pyo.ConcreteModel, cm: CompiledModel) -> dict[str, tuple]:
    """Per ``<block>_<var>`` (time-indexed or scalar, as in results): its dims, the compiled
    column of each element (−1 if not in the matrix) and the value such an element takes
    (:func:`~wattbit.solve.load_values`' rule)."""
    column = {id(v): j for j, v in enumerate(cm.columns)}
    out: dict[str, tuple] = {}
    for blk in component_blocks(m):
        for var in blk.component_objects(pyo.Var, descend_into=False):
            if var.is_indexed() and var.index_set() is not m.T:
                continue
            data = list(var.values())
            index = np.array([column.get(id(v), -1) for v in data], dtype=int)
            default = np.array([v.lb if v.lb is not None and v.lb > 0 else 0.0 for v in data])
            dims = ("time",) if var.is_indexed() else ()
            out[f"{blk.local_name}_{var.local_name}"] = (dims, index, default)
    return out
