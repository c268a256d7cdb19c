"""Rolling-horizon windows compiled once: later windows applied to HiGHS as vector updates.

Every full-length window of :mod:`wattbit.strategies.rolling` is the *same* LP: the same
variables, rows and matrix, with other data in the right-hand sides, the column bounds and the
costs (the forecast limit, the load, the prices, the start state of charge and backlog).
:class:`WindowModel` builds and compiles the first window's model once and keeps it in a
``Highs`` object with its last optimal basis; a later window's LP data are

.. math::  v_k = v_0 + \\sum_s J_s\\,(x_{s,k} - x_{s,0})

where :math:`v` stacks the column costs, column bounds, row bounds, objective offset and the
matrix's coefficients (its pattern fixed: the start state of charge multiplies the fixed energy
size column, say), and
:math:`x_s` is an input of the window (a series over its steps, or a scalar). :math:`J_s` is
*measured*, not derived by hand from the formulations: the window's model is compiled again with
:math:`x_s` moved by a constant :math:`\\delta` and by a ramp :math:`\\delta (t + 1) / L`; an
entry that moves by :math:`a` under the constant and :math:`a (t + 1) / L` under the ramp depends on step
:math:`t` of :math:`x_s` with coefficient :math:`a / \\delta`. An input that changes the matrix's
pattern or the shape of the LP, or moves an entry in any other way, is *structural*: a window that differs
from the first one there is solved cold (:func:`~wattbit.optimise.solve_inputs`). The map is
checked once against a cold compile of the second window (:meth:`WindowModel.check`); if it
misses, every window is solved cold.

The plan of a window (:meth:`WindowModel.solve`) holds the window's inputs and every model
variable as ``<block>_<var>``, as :func:`~wattbit.results.build_results` names them; cost terms are
not computed (the realised operation is costed by :func:`~wattbit.strategies.realise.evaluate`).
A window the LP does not solve to optimality, or whose solution charges and discharges the battery
at once under ``battery.exclusive = auto``, returns ``None``: the caller solves it cold.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import highspy
import numpy as np
import pyomo.environ as pyo
import xarray as xr
from scipy import sparse

from wattbit.errors import CaseError
from wattbit.formulations.site import component_blocks
from wattbit.model import create_model, has_component
from wattbit.optimise import SIMULTANEOUS_TOL_MW
from wattbit.solve import CompiledModel, SolverOptions, _new_highs, compile_checked

PROBE = 1e-3
"""An input is moved by this share of its largest magnitude (at least 1) to measure its map."""
MAP_RTOL = 1e-9
"""Relative tolerance of the measured map against a cold compile (:meth:`WindowModel.check`)."""


@dataclass
class Entries:
    """Where one input enters the LP data: entry ``index`` of :math:`v` moves by ``coef`` per
    unit of the input at step ``step`` (``step`` is 0 for a scalar)."""

    index: np.ndarray
    step: np.ndarray
    coef: np.ndarray


@dataclass
class WindowStats:
    """Windows solved in place and cold, and seconds per phase (summed over windows)."""

    warm: int = 0
    cold: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def add(self, phase: str, seconds: float) -> None:
        self.timings[phase] = self.timings.get(phase, 0.0) + seconds


def _vectors(cm: CompiledModel, pattern: tuple[np.ndarray, ...] | None = None) -> np.ndarray | None:
    """:math:`v` of ``cm``, its matrix values read on ``pattern`` (by default its own); ``None``
    if ``cm`` has a coefficient outside ``pattern`` or another shape. A coefficient the compiler
    left out because it is 0 (a battery starting empty) reads as 0."""
    lp = cm.lp
    parts = (lp.col_cost_, lp.col_lower_, lp.col_upper_, lp.row_lower_, lp.row_upper_)
    values = np.asarray(lp.a_matrix_.value_, dtype=float)
    own = _matrix(cm)
    if pattern is not None and not _same_matrix(own, pattern):
        if own[0].shape != pattern[0].shape:
            return None
        n_rows, n_cols = lp.num_row_, lp.num_col_
        a = sparse.csc_matrix((values, own[1], own[0]), shape=(n_rows, n_cols))
        start, rows = pattern
        cols = np.repeat(np.arange(n_cols), np.diff(start))
        read = np.asarray(a[rows, cols]).ravel()
        if a.count_nonzero() != np.count_nonzero(read):
            return None
        values = read
    return np.concatenate([*(np.asarray(p, dtype=float) for p in parts), [lp.offset_], values])


def _matrix(cm: CompiledModel) -> tuple[np.ndarray, ...]:
    """The matrix's pattern (column starts, row indices); its values are part of :math:`v`."""
    a = cm.lp.a_matrix_
    return (np.asarray(a.start_), np.asarray(a.index_))


def _same_matrix(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> bool:
    return all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def _moved(base: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """``probe − base``, entries infinite in both (same sign) unmoved, NaN where only one is."""
    both = np.isinf(base) & np.isinf(probe) & (np.sign(base) == np.sign(probe))
    with np.errstate(invalid="ignore"):
        diff = probe - base
    diff[both] = 0.0
    diff[~np.isfinite(diff)] = np.nan
    return diff


def _away_from_zero(ds: xr.Dataset, names: list[str]) -> xr.Dataset:
    """``ds`` with each zero of the inputs ``names`` moved by :data:`PROBE` of the input's scale:
    a carried scalar at zero (a battery starting empty) would leave its coefficients out of the
    matrix's pattern. The model is built there, and every window (the first too) solved by the
    map from it. (Series are not moved: a zero in a series, PV at night, may remove columns, and
    such a series stays structural.)"""
    moved = {}
    for name in names:
        x = ds[name].values.astype(float)
        if np.any(x == 0):
            delta = PROBE * max(1.0, float(np.max(np.abs(x), initial=0.0)))
            moved[name] = (ds[name].dims, np.where(x == 0, delta, x), ds[name].attrs)
    return ds.assign(moved)


def _same_attrs(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


class WindowModel:
    """The LP of a rolling-horizon window, compiled once and re-solved in place (module doc)."""

    def __init__(
        self, ds: xr.Dataset, options: SolverOptions, model: pyo.ConcreteModel | None
    ) -> None:
        self.base = ds
        self.options = options
        self.model = model
        self.compiled: CompiledModel | None = None
        self.maps: dict[str, Entries] = {}
        self.structural: set[str] = set()
        self.stats = WindowStats()
        self.usable = True

    @classmethod
    def from_window(
        cls, ds: xr.Dataset, options: SolverOptions, carried: Iterable[str] = ()
    ) -> WindowModel | None:
        """Build and compile ``ds``'s model and measure the map of its series and of the scalars
        ``carried`` (those that change from window to window); ``None`` when the window's LP
        cannot be kept (exclusivity ``always``, a MIP, rows of fixed values alone)."""
        if has_component(ds, "battery") and ds.attrs.get("battery_exclusive") == "always":
            return None
        t0 = time.perf_counter()
        names = [str(v) for v in ds.data_vars if ds[v].dims == ("time",)]
        names += [c for c in carried if c in ds and ds[c].dims == ()]
        window = cls(_away_from_zero(ds, [c for c in carried if c in names]), options, None)
        try:
            window.model = create_model(window.base)
        except (ValueError, CaseError):
            window = cls(ds, options, create_model(ds))
        cm, _ = compile_checked(window.model, options)
        if cm is None or cm.is_mip:
            return None
        window.compiled = cm
        base, matrix = _vectors(cm), _matrix(cm)
        for name in names:
            window._measure(name, base, matrix)
        window._base = base
        window._inputs = {  # what a window is checked or mapped on; the rest enters no LP data
            str(k): window.base.variables[k].values
            for k in ds.data_vars
            if k in window.maps or k in window.structural or ds[k].dims != ("time",)
        }
        window._coefficients = window._mapped_coefficients()
        window._highs = _new_highs(options, cm.lp)
        window._highs.passModel(cm.lp)
        window._columns = _column_map(window.model, cm)
        window.stats.add("compile_once", time.perf_counter() - t0)
        return window

    def _compile(self, ds: xr.Dataset) -> CompiledModel | None:
        cm, _ = compile_checked(create_model(ds), self.options)
        return None if cm is None or cm.is_mip else cm

    def _measure(self, name: str, base: np.ndarray, matrix: tuple[np.ndarray, ...]) -> None:
        x = self.base[name].values.astype(float)
        delta = PROBE * max(1.0, float(np.max(np.abs(x), initial=0.0)))
        ramp = np.arange(1, x.size + 1, dtype=float) / max(x.size, 1)
        moved = []
        for shift in (np.full_like(x, delta), delta * ramp) if x.ndim else (delta,):
            try:
                cm = self._compile(self.base.assign({name: (self.base[name].dims, x + shift)}))
            except (ValueError, CaseError):  # the moved input is rejected: keep it fixed
                cm = None
            probe = None if cm is None else _vectors(cm, matrix)
            if probe is None or probe.shape != base.shape:
                self.structural.add(name)
                return
            moved.append(_moved(base, probe))
        flat = moved[0]
        if np.isnan(flat).any():
            self.structural.add(name)
            return
        index = np.flatnonzero(flat)
        if not x.ndim:
            if index.size:
                self.maps[name] = Entries(index, np.zeros(index.size, int), flat[index] / delta)
            return
        ramped = moved[1]
        if np.isnan(ramped).any() or np.any((ramped != 0) & (flat == 0)):
            self.structural.add(name)
            return
        ratio = ramped[index] / flat[index] * x.size
        step = np.rint(ratio).astype(int) - 1
        if np.any(np.abs(ratio - (step + 1)) > 1e-6 * np.abs(ratio)) or np.any(
            (step < 0) | (step >= x.size)
        ):
            self.structural.add(name)
            return
        if index.size:
            self.maps[name] = Entries(index, step, flat[index] / delta)

    def vectors(self, ds: xr.Dataset) -> np.ndarray | None:
        """The LP data of window ``ds`` by the map, ``None`` if ``ds`` differs from the first
        window in anything the map does not cover (then the window is solved cold)."""
        base = self.base
        if not self.usable or dict(ds.sizes) != dict(base.sizes):
            return None
        if set(ds.data_vars) != set(base.data_vars) or not _same_attrs(ds.attrs, base.attrs):
            return None
        v = self._base.copy()
        for name, old in self._inputs.items():
            new = ds.variables[name].values
            if new.shape != old.shape:
                return None
            if name in self.maps:
                e = self.maps[name]
                dx = (new - old).reshape(-1)
                v[e.index] += e.coef * dx[e.step]
            elif (name in self.structural or new.ndim == 0) and not np.array_equal(new, old):
                return None
        return v

    def check(self, ds: xr.Dataset) -> bool:
        """Compare the map's LP data for ``ds`` with a cold compile of ``ds``; on a miss the model
        is marked unusable (every later window cold)."""
        v = self.vectors(ds)
        cm = self._compile(ds)
        exact = None if cm is None else _vectors(cm, _matrix(self.compiled))
        ok = v is not None and exact is not None and exact.shape == v.shape
        if ok:
            finite = np.isfinite(exact)
            ok = bool(
                np.array_equal(np.isfinite(v), finite)
                and np.allclose(v[finite], exact[finite], rtol=MAP_RTOL, atol=MAP_RTOL)
            )
        self.usable = ok
        return ok

    def solve(self, ds: xr.Dataset) -> xr.Dataset | None:
        """The plan of window ``ds`` (module doc), solved in place; ``None``: solve it cold."""
        t0 = time.perf_counter()
        v = self.vectors(ds)
        if v is None:
            self.stats.cold += 1
            return None
        self._apply(v)
        t1 = time.perf_counter()
        h = self._highs
        h.run()
        t2 = time.perf_counter()
        self.stats.add("update", t1 - t0)
        self.stats.add("highs", t2 - t1)
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            self.stats.cold += 1
            return None
        values = np.asarray(h.getSolution().col_value)
        plan = self._plan(ds, values)
        self.stats.add("extract", time.perf_counter() - t2)
        if plan is None:
            self.stats.cold += 1
            return None
        self.stats.warm += 1
        return plan

    def _apply(self, v: np.ndarray) -> None:
        lp, h = self.compiled.lp, self._highs
        n, m = lp.num_col_, lp.num_row_
        cols, rows = np.arange(n, dtype=np.int32), np.arange(m, dtype=np.int32)
        h.changeColsCost(n, cols, v[:n])
        h.changeColsBounds(n, cols, v[n : 2 * n], v[2 * n : 3 * n])
        h.changeRowsBounds(m, rows, v[3 * n : 3 * n + m], v[3 * n + m : 3 * n + 2 * m])
        h.changeObjectiveOffset(float(v[3 * n + 2 * m]))
        for k, row, col in self._coefficients:
            h.changeCoeff(row, col, float(v[k]))

    def _mapped_coefficients(self) -> list[tuple[int, int, int]]:
        """(entry of :math:`v`, row, column) of every matrix coefficient an input moves."""
        lp = self.compiled.lp
        first = 3 * lp.num_col_ + 2 * lp.num_row_ + 1
        start, rows = _matrix(self.compiled)
        mapped = np.unique(np.concatenate([e.index for e in self.maps.values()] or [[]]))
        out = []
        for k in mapped[mapped >= first].astype(int):
            at = k - first
            col = int(np.searchsorted(start, at, side="right") - 1)
            out.append((int(k), int(rows[at]), col))
        return out

    def _plan(self, ds: xr.Dataset, values: np.ndarray) -> xr.Dataset | None:
        variables: dict[str, tuple] = {}
        for name, (dims, index, default) in self._columns.items():
            x = np.where(index >= 0, values[np.maximum(index, 0)], default)
            variables[name] = (dims, x if dims else float(x[0]))
        if "battery_charge_mw" in variables and ds.attrs.get("battery_exclusive") == "auto":
            both = np.minimum(
                variables["battery_charge_mw"][1], variables["battery_discharge_mw"][1]
            )
            if np.max(both, initial=0.0) > SIMULTANEOUS_TOL_MW:
                return None
        data = {k: ds.variables[k] for k in ds.data_vars}
        data.update({k: xr.Variable(*dv) for k, dv in variables.items()})
        return xr.Dataset(data, coords=ds.coords, attrs=ds.attrs)


def _column_map(m: pyo.ConcreteModel, cm: CompiledModel) -> dict[str, tuple]:
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
