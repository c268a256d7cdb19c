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
from the first one there is solved cold (:func:`~wattbit.optimise.solve_inputs`); one that moves
no entry is *inert*. The map is checked once against a cold compile of the second window
(:meth:`WindowModel.check`); if it misses, every window is solved cold.

A zero that multiplies a column leaves its coefficient out of the matrix's pattern (a battery
starting empty; PV availability at night times the fixed PV capacity column), so the model is
built with the zeros of the carried scalars and of the series that are not all zero moved by
:data:`PROBE` of their scale, and every window (the first too) is solved by the map from there:
a coefficient a window sets to 0 is removed by HiGHS. Moving a series' zeros is kept only if the
map then reproduces a cold compile of the first window itself (a formulation that treats a zero
specially would not); otherwise only the carried scalars are moved.

A window's data come in as plain arrays (:meth:`WindowModel.solve_arrays`: the window's series
and its carried scalars), the update is one gather over the mapped inputs and three HiGHS calls on
the entries the map touches (and ``changeCoeff`` for a coefficient that changed), and the solution
goes out as a :class:`~wattbit.strategies.realise.Plan`: one gather puts every time-indexed model
variable in a row of one array (named ``<block>_<var>``, as :func:`~wattbit.results.build_results`
names them), the scalar ones in a dict. Inputs and cost terms are not in it (the realised
operation reads the inputs from the horizon and is costed by
:func:`~wattbit.strategies.realise.evaluate`). A window the LP does not
solve to optimality, or whose solution charges and discharges the battery at once under
``battery.exclusive = auto``, gives ``None``: the caller solves it cold.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
import pyomo.environ as pyo
import xarray as xr

from wattbit.errors import CaseError
from wattbit.model import create_model, has_component
from wattbit.optimise import SIMULTANEOUS_TOL_MW
from wattbit.solve import CompiledModel, SolverOptions, _new_highs, compile_checked
from wattbit.strategies import lpmap
from wattbit.strategies.lpmap import PROBE, Entries
from wattbit.strategies.realise import EMERGENCY, Plan

MAP_RTOL = 1e-9
"""Relative tolerance of the measured map against a cold compile (:meth:`WindowModel.check`)."""


@dataclass
class WindowStats:
    """Windows solved in place and cold, and per phase its wall and CPU seconds (summed over the
    windows) and how many windows it ran for. :meth:`start` marks the clocks, :meth:`lap` books
    the time since the last mark to a phase."""

    warm: int = 0
    cold: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    _mark: tuple[float, float] = (0.0, 0.0)

    def start(self) -> None:
        self._mark = (time.perf_counter(), time.process_time())

    def lap(self, phase: str) -> None:
        now = (time.perf_counter(), time.process_time())
        self.timings[phase] = self.timings.get(phase, 0.0) + now[0] - self._mark[0]
        self.cpu[phase] = self.cpu.get(phase, 0.0) + now[1] - self._mark[1]
        self.counts[phase] = self.counts.get(phase, 0) + 1
        self._mark = now


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
        self.inert: set[str] = set()
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
        t0, c0 = time.perf_counter(), time.process_time()
        series = [str(v) for v in ds.data_vars if ds[v].dims == ("time",)]
        scalars = [c for c in carried if c in ds and ds[c].dims == ()]
        mixed = [s for s in series if np.any(ds[s].values == 0) and np.any(ds[s].values != 0)]
        window = cls._measured(ds, options, series + scalars, scalars + mixed)
        if window is not None and mixed and not window.check(ds):  # zeros are special: unmoved
            window = cls._measured(ds, options, series + scalars, scalars)
        if window is not None:
            window.stats.timings["compile_once"] = time.perf_counter() - t0
            window.stats.cpu["compile_once"] = time.process_time() - c0
            window.stats.counts["compile_once"] = 1
        return window

    @classmethod
    def _measured(
        cls, ds: xr.Dataset, options: SolverOptions, names: list[str], moved: list[str]
    ) -> WindowModel | None:
        """The model built at ``ds`` with the zeros of ``moved`` moved, its map measured."""
        window = cls(lpmap.away_from_zero(ds, moved), options, None)
        try:
            window.model = create_model(window.base)
        except (ValueError, CaseError):
            window = cls(ds, options, create_model(ds))
        cm, _ = compile_checked(window.model, options)
        if cm is None or cm.is_mip:
            return None
        window.compiled = cm
        base, pattern = lpmap.vectors(cm), lpmap.matrix(cm)
        pending = {name: window._measure(name, base, pattern) for name in names}
        window._ramps({k: v for k, v in pending.items() if v is not None}, base, pattern)
        window._base = base
        window._inputs = {  # what a window is checked or mapped on; the rest enters no LP data
            str(k): window.base.variables[k].values
            for k in ds.data_vars
            if k not in window.inert
            and (k in window.maps or k in window.structural or ds[k].dims != ("time",))
        }
        window._feed()
        window._highs = _new_highs(options, cm.lp)
        window._highs.passModel(cm.lp)
        window._layout(lpmap.column_map(window.model, cm))
        return window

    def _compile(self, ds: xr.Dataset) -> CompiledModel | None:
        cm, _ = compile_checked(create_model(ds), self.options)
        return None if cm is None or cm.is_mip else cm

    def _probe(
        self, shifts: dict[str, np.ndarray], base: np.ndarray, pattern: tuple[np.ndarray, ...]
    ) -> np.ndarray | None:
        """How :math:`v` moves when the inputs are moved by ``shifts``; ``None`` if the moved
        inputs are rejected, or the LP changes shape or pattern."""
        moved = {k: (self.base[k].dims, self.base[k].values + d) for k, d in shifts.items()}
        try:
            cm = self._compile(self.base.assign(moved))
        except (ValueError, CaseError):
            return None
        probe = None if cm is None else lpmap.vectors(cm, pattern)
        return None if probe is None or probe.shape != base.shape else lpmap.moved(base, probe)

    def _measure(
        self, name: str, base: np.ndarray, pattern: tuple[np.ndarray, ...]
    ) -> tuple[float, np.ndarray] | None:
        """Move ``name`` by a constant: a scalar is then mapped, inert or structural; a series
        that moves entries is returned (``δ``, how :math:`v` moved) for :meth:`_ramps`."""
        x = self.base[name].values.astype(float)
        delta = PROBE * max(1.0, float(np.max(np.abs(x), initial=0.0)))
        flat = self._probe({name: np.full_like(x, delta)}, base, pattern)
        if flat is None or np.isnan(flat).any():
            self.structural.add(name)
            return None
        index = np.flatnonzero(flat)
        if not index.size:
            self.inert.add(name)
            return (delta, flat) if x.ndim else None
        if not x.ndim:
            self.maps[name] = Entries(index, np.zeros(index.size, int), flat[index] / delta)
            return None
        return delta, flat

    def _ramps(
        self,
        pending: dict[str, tuple[float, np.ndarray]],
        base: np.ndarray,
        pattern: tuple[np.ndarray, ...],
    ) -> None:
        """Move the series ``pending`` by ramps :math:`δ (t + 1) / L` to find each entry's step:
        in groups whose entries are apart, all of a group at once (an inert series' ramp must
        move nothing); if a group's probe fails or moves an entry no constant moved, its inputs
        one by one."""
        groups: list[dict[str, tuple[float, np.ndarray]]] = []  # inputs whose entries are apart
        for name, (delta, flat) in pending.items():
            group = next(
                (g for g in groups if not any(np.any(f[flat != 0]) for _, f in g.values())), None
            )
            if group is None:
                groups.append(group := {})
            group[name] = (delta, flat)
        if len(groups) > 1:
            for group in groups:
                self._ramps(group, base, pattern)
            return
        if not pending:
            return
        flats = np.array([flat for _, flat in pending.values()])
        shifts = {}
        for name, (delta, _) in pending.items():
            size = self.base[name].size
            shifts[name] = delta * np.arange(1, size + 1, dtype=float) / size
        ramped = self._probe(shifts, base, pattern)
        stray = ramped is None or np.isnan(ramped).any()
        stray = stray or np.any((ramped != 0) & ~np.any(flats != 0, axis=0))
        if stray and len(pending) > 1:
            for name, measured in pending.items():
                self._ramps({name: measured}, base, pattern)
            return
        for name, (delta, flat) in pending.items():
            if stray:  # moved by a ramp where not by a constant, or the probe failed
                self.inert.discard(name)
                self.structural.add(name)
            elif name not in self.inert:
                self._steps(name, delta, flat, ramped)

    def _steps(self, name: str, delta: float, flat: np.ndarray, ramped: np.ndarray) -> None:
        """Map ``name``: the entries its constant moved, each at the step its ramp gives."""
        size = self.base[name].size
        index = np.flatnonzero(flat)
        ratio = ramped[index] / flat[index] * size
        step = np.rint(ratio).astype(int) - 1
        if np.any(np.abs(ratio - (step + 1)) > 1e-6 * np.abs(ratio)) or np.any(
            (step < 0) | (step >= size)
        ):
            self.structural.add(name)
            return
        self.maps[name] = Entries(index, step, flat[index] / delta)

    def _feed(self) -> None:
        """Precompute the update as one gather: the mapped inputs laid end to end (``_order``),
        per map entry its position there, its coefficient and its entry of :math:`v` (as a slot
        among the touched entries, which :func:`~wattbit.strategies.lpmap.split` sorts into costs,
        column bounds, row bounds, offset and matrix coefficients)."""
        self._order = sorted(self.maps)
        maps = [self.maps[name] for name in self._order]
        ends = np.cumsum([self._inputs[name].size for name in self._order], dtype=int)
        starts = ends - [self._inputs[name].size for name in self._order]
        self._pos = np.concatenate([[]] + [o + e.step for o, e in zip(starts, maps, strict=True)])
        self._pos = self._pos.astype(int)
        index = np.concatenate([[]] + [e.index for e in maps]).astype(int)
        self._coef = np.concatenate([[]] + [e.coef for e in maps])
        self._touched, slot = np.unique(index, return_inverse=True)
        self._x0 = self._concat(self._inputs)
        lp = self.compiled.lp
        n, m = lp.num_col_, lp.num_row_
        self._cost, self._bound_cols, self._bound_rows, self._offset = lpmap.split(
            self._touched, n, m
        )
        coef_at, self._coef_row, self._coef_col = self._mapped_coefficients()
        cols, rows = self._bound_cols, self._bound_rows
        parts = [self._cost, n + cols, 2 * n + cols, 3 * n + rows, 3 * n + m + rows]
        parts += [np.array([3 * n + 2 * m] if self._offset else [], int), coef_at]
        held = np.concatenate(parts).astype(int)  # the arguments' entries of v, end to end
        ends = np.cumsum([p.size for p in parts])
        self._parts = [slice(e - p.size, e) for p, e in zip(parts, ends, strict=True)]
        order = np.argsort(held)
        self._at = order[np.searchsorted(held, self._touched, sorter=order)]
        self._arg = self._at[slot]  # per map entry, its argument
        self._args0 = self._base[held]
        self._watch = sorted(self.structural)
        self._applied = self._args0[self._parts[-1]]

    def _concat(self, x: Mapping, scalars: Mapping | None = None) -> np.ndarray:
        """The mapped inputs end to end, from ``x`` (or ``scalars`` where ``x`` lacks one)."""
        return np.concatenate(
            [[]]
            + [np.ravel(x[k] if k in x or scalars is None else scalars[k]) for k in self._order]
        )

    def _args(
        self, series: Mapping[str, np.ndarray], scalars: Mapping[str, float]
    ) -> np.ndarray | None:
        """What HiGHS is handed for a window (``_parts``: the costs, column and row bounds,
        offset and matrix coefficients of the entries the map touches), by the map from the
        window's arrays; ``None`` if it differs from the first window in a structural input
        (or does not give one the model reads). An argument no input moves keeps its first
        window's value (a row bound whose other bound moves)."""
        if not self.usable:
            return None
        for name in self._watch:
            new = series[name] if name in series else scalars.get(name)
            if new is None or not np.array_equal(new, self._inputs[name]):
                return None
        try:
            dx = self._concat(series, scalars) - self._x0
        except (KeyError, ValueError):  # an input missing, or of another length
            return None
        return self._args0 + np.bincount(self._arg, self._coef * dx[self._pos], self._args0.size)

    def _v(
        self, series: Mapping[str, np.ndarray], scalars: Mapping[str, float]
    ) -> np.ndarray | None:
        """:math:`v` of a window by the map from its arrays (:meth:`_args`)."""
        args = self._args(series, scalars)
        if args is None:
            return None
        v = self._base.copy()
        v[self._touched] = args[self._at]
        return v

    def _arrays(self, ds: xr.Dataset) -> tuple[dict, dict] | None:
        """``ds`` as a window's arrays, ``None`` if it differs from the first window in its
        length, its variables, its attributes or a scalar that is not carried."""
        base = self.base
        if dict(ds.sizes) != dict(base.sizes) or set(ds.data_vars) != set(base.data_vars):
            return None
        if not lpmap.same_attrs(ds.attrs, base.attrs):
            return None
        series, scalars = {}, {}
        for name, old in self._inputs.items():
            new = ds.variables[name].values
            if new.shape != old.shape:
                return None
            if new.ndim:
                series[name] = new
            elif name in self.maps or name in self.structural:
                scalars[name] = float(new)
            elif not np.array_equal(new, old):
                return None
        series.update({str(k): ds[k].values for k in ds.data_vars if ds[k].dims == ("time",)})
        return series, scalars

    def vectors(self, ds: xr.Dataset) -> np.ndarray | None:
        """The LP data of window ``ds`` by the map, ``None`` if ``ds`` differs from the first
        window in anything the map does not cover (then the window is solved cold)."""
        arrays = self._arrays(ds)
        return None if arrays is None else self._v(*arrays)

    def check(
        self,
        ds: xr.Dataset,
        series: Mapping[str, np.ndarray] | None = None,
        scalars: Mapping[str, float] | None = None,
        compile_: bool = True,
    ) -> bool:
        """Compare the map's LP data for ``ds`` with a cold compile of ``ds`` (``compile_``) and,
        when the window's ``series`` and ``scalars`` are given, require that they give the same
        LP data as ``ds``; on a miss the model is marked unusable (every later window cold)."""
        v = self.vectors(ds)
        ok = v is not None
        if ok and series is not None:
            w = self._v(series, scalars or {})
            ok = w is not None and np.array_equal(v, w)
        if ok and compile_:
            cm = self._compile(ds)
            exact = None if cm is None else lpmap.vectors(cm, lpmap.matrix(self.compiled))
            ok = exact is not None and exact.shape == v.shape
            if ok:
                finite = np.isfinite(exact)
                ok = bool(
                    np.array_equal(np.isfinite(v), finite)
                    and np.allclose(v[finite], exact[finite], rtol=MAP_RTOL, atol=MAP_RTOL)
                )
        self.usable = ok
        return ok

    def solve(self, ds: xr.Dataset, start: int = 0) -> Plan | None:
        """The plan of window ``ds`` (module doc), solved in place; ``None``: solve it cold."""
        arrays = self._arrays(ds)
        if arrays is None:
            self.stats.cold += 1
            return None
        self.stats.start()
        return self.solve_arrays(*arrays, start)

    def solve_arrays(
        self, series: Mapping[str, np.ndarray], scalars: Mapping[str, float], start: int = 0
    ) -> Plan | None:
        """The plan of the window with these ``series`` (its inputs per step; those in
        :attr:`reads` are enough) and carried ``scalars``, its first step ``start`` of the
        horizon; its other scalars and attributes must be the first window's (:meth:`check`
        verifies it on a window). ``None``: solve it cold. Phases are booked from the caller's
        :meth:`WindowStats.start`."""
        args = self._args(series, scalars)
        if args is None:
            self.stats.cold += 1
            return None
        self._apply(args)
        self.stats.lap("update")
        h = self._highs
        h.run()
        self.stats.lap("highs")
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            self.stats.cold += 1
            return None
        plan = self._plan(h.getSolution().col_value, start)
        self.stats.lap("extract")
        if plan is None:
            self.stats.cold += 1
            return None
        self.stats.warm += 1
        return plan

    @property
    def reads(self) -> list[str]:
        """The inputs a window's LP data are computed or checked on."""
        return [*self._order, *self._watch]

    def _apply(self, args: np.ndarray) -> None:
        """Hand HiGHS a window's arguments (:meth:`_args`), each kind in one call on a
        contiguous part of ``args``; a matrix coefficient only where it changed."""
        h = self._highs
        cost, lower, upper, row_lower, row_upper, offset, coef = self._parts
        if self._cost.size:
            h.changeColsCost(self._cost.size, self._cost, args[cost])
        if self._bound_cols.size:
            h.changeColsBounds(self._bound_cols.size, self._bound_cols, args[lower], args[upper])
        if self._bound_rows.size:
            rows = self._bound_rows
            h.changeRowsBounds(rows.size, rows, args[row_lower], args[row_upper])
        if self._offset:
            h.changeObjectiveOffset(float(args[offset][0]))
        if self._coef_row:
            now = args[coef]
            for i in np.flatnonzero(now != self._applied).tolist():
                h.changeCoeff(self._coef_row[i], self._coef_col[i], float(now[i]))
            self._applied = now

    def _mapped_coefficients(self) -> tuple[np.ndarray, list[int], list[int]]:
        """Every matrix coefficient an input moves: its entry of :math:`v`, row and column."""
        lp = self.compiled.lp
        first = 3 * lp.num_col_ + 2 * lp.num_row_ + 1
        start, rows, _ = lpmap.matrix(self.compiled)
        at = self._touched[self._touched >= first].astype(int)
        cols = np.searchsorted(start, at - first, side="right") - 1
        return at, rows[at - first].astype(int).tolist(), cols.astype(int).tolist()

    def _layout(self, columns: dict[str, tuple]) -> None:
        """Precompute the extraction as one gather from the solution followed by the default
        values (after the solution in ``_ext``): ``_grid`` (a row per time-indexed variable, and a zero row for
        the realised :data:`~wattbit.strategies.realise.EMERGENCY`) and ``_scalar_at``."""
        n = self.compiled.lp.num_col_
        defaults: list[float] = [0.0]
        grid, scalar_at, self._rows, self._scalar_names = [], [], {}, []

        def source(cols: np.ndarray, default: np.ndarray) -> np.ndarray:
            at = n + len(defaults) + np.arange(cols.size)
            defaults.extend(default.tolist())
            return np.where(cols >= 0, cols, at)

        for name, (dims, cols, default) in columns.items():
            if dims:
                self._rows[name] = len(grid)
                grid.append(source(cols, default))
            else:
                self._scalar_names.append(name)
                scalar_at.append(int(source(cols, default)[0]))
        self._rows[EMERGENCY] = len(grid)
        grid.append(np.full(self.base.sizes["time"], n))  # the first default, 0
        self._grid = np.array(grid, dtype=int)
        self._scalar_at = np.array(scalar_at, dtype=int)
        self._ext = np.concatenate([np.zeros(n), defaults])  # a solution, then the defaults
        self._exclusive = (
            (self._rows["battery_charge_mw"], self._rows["battery_discharge_mw"])
            if "battery_charge_mw" in self._rows
            and self.base.attrs.get("battery_exclusive") == "auto"
            else None
        )

    def _plan(self, values: Sequence[float], start: int) -> Plan | None:
        """The plan of the solution's column ``values`` (HiGHS's list: read into ``_ext``)."""
        ext = self._ext
        ext[: len(values)] = values
        grid = ext[self._grid]
        if self._exclusive is not None:
            both = np.minimum(grid[self._exclusive[0]], grid[self._exclusive[1]])
            if both.max() > SIMULTANEOUS_TOL_MW:
                return None
        scalars = dict(zip(self._scalar_names, ext[self._scalar_at].tolist(), strict=True))
        return Plan(start, self._rows, grid, scalars)
