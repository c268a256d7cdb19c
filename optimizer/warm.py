"""Warm re-solves: one compiled LP kept in HiGHS, re-solved after cost and bound changes.

A study that solves the *same* LP many times with other prices or size bounds (the breakeven
bisection, a cost-only sweep) need not build, compile and hand the model to HiGHS again:
:class:`WarmModel` keeps the Pyomo model, its compiled column order and a ``Highs`` object with
the last optimal basis. :meth:`WarmModel.update` compares new inputs with the ones the model was
built from and applies the differences HiGHS can take in place:

* an annualised capex scalar (:data:`COST_COLUMNS`, e.g. ``battery_energy_capex_jpy_per_mwh_year``
  :math:`k_E`) changes the objective coefficient of its size column (``battery.energy_mwh``
  :math:`E`) by :math:`\\Delta k` (``changeColsCost``; HiGHS re-solves with primal simplex from the
  kept optimal basis of the nearest such price, :data:`KEPT_BASES`; from HiGHS's own start
  when the cost moves by more than :data:`RESTART_CHANGE`),
  and the block's ``cost_capex_jpy`` expression by :math:`\\Delta k \\cdot E`, so
  results and the verifier see the new cost;
* ``<size>_min`` / ``<size>_max`` change the size column's bounds (``changeColsBounds``; dual
  simplex from the kept basis). This relies on a size's range entering the LP only as its
  column's bounds: in ``formulations/`` only the exclusivity big-M (B7) also reads it, and the
  warm LP has no binaries;
* ``<size>_investment_jpy_per_<unit>``, ``<size>_lifetime_years`` and :data:`NOT_IN_MODEL` are
  not in the model (they feed the economics of the results only) and may differ freely.

Any other difference may change the model's structure or its matrix: :meth:`WarmModel.update`
returns ``False``. A capex scalar whose size column carries any other objective term (the column's
cost differs from the scalar) is refused the same way. :meth:`WarmModel.rebase` then takes the
general road: the new inputs are built and compiled (:meth:`WarmModel.build`), and when the
compiled LP has the kept one's shape, constraint matrix and integrality, only its
column costs, column bounds and row bounds can differ (the cells of a comparison: an import limit
series is the right-hand side of G1, a fixed battery size a column's bounds); those are changed in
place (``changeColsCost``, ``changeColsBounds``, ``changeRowsBounds``) and the new model is
re-solved from the kept basis. Results are read from the new Pyomo model, so they are the new
inputs' in every respect. A different matrix is refused: the caller solves on a new model.
:class:`WarmPool` keeps a few models of different structure (a comparison's strategies) and gives
each solve the one it fits.

Battery exclusivity: the warm model is the LP without binaries. A solution that charges and
discharges at once under ``battery.exclusive = auto`` is handed, as the rule's first solve, to
:func:`~wattbit.optimise.solve_inputs`, which adds binaries where it must; the LP optimum is
otherwise the optimum the cold solve reports (:mod:`wattbit.optimise`). ``always`` is solved cold.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
import pyomo.environ as pyo
import xarray as xr

from wattbit.model import create_model, has_component
from wattbit.optimise import (
    ExclusiveSolve,
    Run,
    add_timings,
    complete_run,
    simultaneous_steps,
    solve_inputs,
)
from wattbit.sizes import investment_name, lifetime_name, size_names
from wattbit.solve import (
    LP_DUALS,
    RELATIVE_DUALS,
    CompiledModel,
    Solution,
    SolverOptions,
    _new_highs,
    compile_checked,
    load_duals,
    load_reduced_costs,
    load_values,
    lp_duals,
    request_duals,
)
from wattbit.warm_inputs import COST_COLUMNS, NOT_IN_MODEL, cost_move, differences

COST_RTOL = 1e-12
KEPT_BASES = 8
"""Optimal bases a :class:`WarmModel` keeps, most recent first (:meth:`WarmModel._best_basis`)."""
RESTART_CHANGE = 0.99
"""A cost that changes by more than this share of the larger of its old and new value (to or
from 0, or a hundredfold) re-solves from HiGHS's own start (``clearSolver``: the compiled model
is kept, the basis dropped). Measured on type2_battery_wins (``benchmarks/warm_resolve.py``, 2,184
steps): from the optimal basis at a free battery (0 JPY/kWh, where any energy above what is used
is optimal) to 40 000 JPY/kWh primal simplex took 5.7 s against 2.8 s cold; halving or doubling
a price took 0.02–0.7 s against ~3 s. At the full year (``docs/performance.md``, goal 1), from
40 000 to 1 280 000 JPY/kWh (a move of 0.97) the kept basis took 5.3 s CPU against 9.8 s
restarted."""


@dataclass
class WarmStats:
    """How the model's solves went: warm re-solves, cold fall-backs and seconds per phase."""

    warm: int = 0
    cold: int = 0
    rebased: int = 0
    timings: dict[str, float] = field(default_factory=dict)


class WarmModel:
    """One LP of a single optimisation, compiled once and re-solved in place (module doc)."""

    def __init__(
        self,
        inputs: xr.Dataset,
        options: SolverOptions,
        model: pyo.ConcreteModel,
        compiled: CompiledModel,
    ) -> None:
        self.inputs = inputs
        self.options = options
        self.model = model
        self.compiled = compiled
        self.stats = WarmStats()
        self._highs = _new_highs(options, compiled.lp)
        self._highs.passModel(compiled.lp)
        self._take(model, compiled)
        self._restart = False
        self._built: dict[str, float] = {}  # build and hand-off of the model, for the next run
        self._bases: list[tuple[xr.Dataset, highspy.HighsBasis]] = []  # see :meth:`_best_basis`
        self._basis_of: xr.Dataset | None = None  # the inputs whose optimal basis HiGHS holds

    def _take(self, model: pyo.ConcreteModel, compiled: CompiledModel) -> None:
        """Make ``model`` (compiled as ``compiled``, already in HiGHS) the kept model."""
        self.model, self.compiled = model, compiled
        self._column = {id(v): j for j, v in enumerate(compiled.columns)}
        self._costs = np.array(compiled.lp.col_cost_, dtype=float)
        self._matrix = _matrix(compiled.lp)

    @staticmethod
    def build(inputs: xr.Dataset, options: SolverOptions) -> Built | None:
        """Build and compile the LP of ``inputs``; ``None`` when it cannot be kept (exclusivity
        ``always``, binaries, or rows of fixed values alone make it infeasible)."""
        if _exclusive_mode(inputs) == "always":
            return None
        t0 = time.perf_counter()
        m = request_duals(create_model(inputs))
        t1 = time.perf_counter()
        cm, _ = compile_checked(m, options)
        if cm is None or cm.is_mip:
            return None
        return Built(inputs, m, cm, {"build": t1 - t0, "hand_off": time.perf_counter() - t1})

    @classmethod
    def from_inputs(cls, inputs: xr.Dataset, options: SolverOptions) -> WarmModel | None:
        """Build and compile the LP of ``inputs`` (no solve yet); ``None`` when it cannot be kept
        (:meth:`build`)."""
        built = cls.build(inputs, options)
        return None if built is None else cls.from_built(built, options)

    @classmethod
    def from_built(cls, built: Built, options: SolverOptions) -> WarmModel:
        """A new kept model of a :meth:`build` (no solve yet)."""
        warm = cls(built.inputs, options, built.model, built.compiled)
        warm._built = dict(built.timings)
        return warm

    def fits(self, built: Built) -> bool:
        """Whether ``built`` differs from the kept LP only in costs, column and row bounds (and
        the objective's constant): same shape, matrix and integrality. HiGHS keeps the objective
        scale it was created with (as for :meth:`update`): a price 32× the case's in a breakeven
        after the ``firm`` cell was refused and solved on a new model, 32,611 iterations."""
        lp, kept = built.compiled.lp, self.compiled.lp
        return (lp.num_col_, lp.num_row_) == (kept.num_col_, kept.num_row_) and all(
            np.array_equal(a, b) for a, b in zip(_matrix(lp), self._matrix, strict=True)
        )

    def rebase(self, built: Built) -> bool:
        """Take the model of ``built`` when it :meth:`fits`: its costs, column bounds and row
        bounds are changed in the kept HiGHS model, whose basis stays (module doc); ``False``
        (nothing changed) otherwise."""
        if not self.fits(built):
            return False
        lp, h = built.compiled.lp, self._highs
        costs = np.asarray(lp.col_cost_, dtype=float)
        j = np.flatnonzero(costs != self._costs)
        if j.size:
            h.changeColsCost(j.size, j.astype(np.int32), costs[j])
            moved = np.abs(costs[j] - self._costs[j])
            if np.any(
                moved > RESTART_CHANGE * np.maximum(np.abs(costs[j]), np.abs(self._costs[j]))
            ):
                self._restart = True
        kept = self.compiled.lp
        _change_bounds(
            h.changeColsBounds, kept.col_lower_, kept.col_upper_, lp.col_lower_, lp.col_upper_
        )
        _change_bounds(
            h.changeRowsBounds, kept.row_lower_, kept.row_upper_, lp.row_lower_, lp.row_upper_
        )
        if lp.offset_ != kept.offset_:
            h.changeObjectiveOffset(lp.offset_)
        self.inputs = built.inputs
        self._take(built.model, built.compiled)
        self.stats.rebased += 1
        self._built = dict(built.timings)
        return True

    def column(self, block: str, name: str) -> int | None:
        """The compiled column of ``model.<block>.<name>`` (``None`` if not in the matrix)."""
        blk = getattr(self.model, block, None)
        var = getattr(blk, name, None) if blk is not None else None
        return None if var is None else self._column.get(id(var))

    def set_cost(self, scalar: str, value: float) -> bool:
        """Set the annualised capex ``scalar`` (a key of :data:`COST_COLUMNS`) to ``value``;
        ``False`` (nothing changed) if it does not map to one objective coefficient."""
        j = self._cost_column(scalar)
        if j is None:
            return False
        block, name = COST_COLUMNS[scalar]
        old = float(self.inputs[scalar])
        blk = getattr(self.model, block)
        blk.cost_capex_jpy.set_value(blk.cost_capex_jpy.expr + (value - old) * getattr(blk, name))
        self._costs[j] = value
        if abs(value - old) > RESTART_CHANGE * max(abs(value), abs(old)):
            self._restart = True
        self._highs.changeColsCost(1, np.array([j], dtype=np.int32), np.array([value]))
        return True

    def _cost_column(self, scalar: str) -> int | None:
        """The column whose objective coefficient is exactly ``scalar``, else ``None``."""
        j = self.column(*COST_COLUMNS[scalar])
        old = float(self.inputs[scalar])
        if j is None or abs(self._costs[j] - old) > COST_RTOL * max(1.0, abs(old)):
            return None
        return j

    def set_bounds(self, size: str, lower: float, upper: float) -> bool:
        """Set the bounds of ``size`` (a size name, e.g. ``battery_energy_mwh``)."""
        block, name = size.split("_", 1)
        j = self.column(block, name)
        if j is None:
            return False
        var = getattr(getattr(self.model, block), name)
        var.setlb(lower)
        var.setub(upper)
        idx = np.array([j], dtype=np.int32)
        self._highs.changeColsBounds(1, idx, np.array([lower]), np.array([upper]))
        return True

    def update(self, inputs: xr.Dataset) -> bool:
        """Apply the differences of ``inputs`` from the model's inputs as cost and bound changes;
        ``False`` if any difference alters the model otherwise (then nothing is changed)."""
        changed = differences(self.inputs, inputs)
        if changed is None:
            return False
        sizes = set(size_names(inputs))
        free = {investment_name(s) for s in sizes} | {lifetime_name(s) for s in sizes}
        free |= set(NOT_IN_MODEL)
        bounds = {s for s in sizes if f"{s}_min" in changed or f"{s}_max" in changed}
        costs = changed - free - {f"{s}_{e}" for s in bounds for e in ("min", "max")}
        if any(name not in COST_COLUMNS for name in costs):
            return False
        if any(self._cost_column(c) is None for c in costs) or any(
            self.column(*s.split("_", 1)) is None for s in bounds
        ):
            return False
        for name in sorted(costs):
            self.set_cost(name, float(inputs[name]))
        for s in sorted(bounds):
            self.set_bounds(s, float(inputs[f"{s}_min"]), float(inputs[f"{s}_max"]))
        self.inputs = inputs
        return True

    def solve(self) -> Run:
        """Re-solve from the kept basis; the cold :func:`solve_inputs` when the LP is not
        optimal or the battery exclusivity rule needs binaries (module doc)."""
        sol = self._optimum()
        if sol is None:
            return self._cold()
        if self._rule_needed():
            return self._cold(first=sol)
        t0 = time.perf_counter()
        m = self.model
        load_reduced_costs(m, self.compiled, sol.reduced_costs)
        load_duals(m, self.compiled, sol, self.options)
        timings = {**self._built, **sol.timings}
        timings["load"] += time.perf_counter() - t0
        self._built = {}
        self.stats.warm += 1
        run = complete_run(self.inputs, ExclusiveSolve(m, sol, {}, 0), self._mode(), timings)
        add_timings(self.stats.timings, run.timings)
        return run

    def point(self) -> Point | None:
        """Re-solve like :meth:`solve`, but read only the total cost and the battery energy, as
        the results would (``None`` where :meth:`solve` would take the cold path): for a
        bisection, which reads one number per price (:class:`Point`)."""
        sol = self._optimum()
        if sol is None or self._rule_needed():
            return None
        add_timings(self.stats.timings, {**self._built, **sol.timings})
        self._built = {}
        self.stats.warm += 1
        return Point.of(self.model)

    def _optimum(self) -> Solution | None:
        """Run HiGHS from the best kept basis (:meth:`_best_basis`); the LP optimum with its
        values loaded into the model, or ``None`` when it is not optimal or its duals are not
        (:func:`~wattbit.solve.lp_duals`, as a cold solve): the cold path."""
        h, cm = self._highs, self.compiled
        self._best_basis()
        if self._restart:
            h.clearSolver()
            self._restart = False
        t0 = time.perf_counter()
        h.run()
        t1 = time.perf_counter()
        self._basis_of = None
        duals = lp_duals(h)
        if duals is None:
            return None
        self._keep_basis()
        values = np.asarray(h.getSolution().col_value)
        sol = Solution("optimal", "optimal", h.getInfo().objective_function_value, 0.0, values)
        sol.row_duals, sol.reduced_costs, exact = duals
        sol.duals_source = LP_DUALS if exact else LP_DUALS + RELATIVE_DUALS
        load_values(self.model, cm, values)
        sol.timings = {"solve": t1 - t0, "load": time.perf_counter() - t1}
        return sol

    def _mode(self) -> str:
        return _exclusive_mode(self.inputs)

    def _rule_needed(self) -> bool:
        """Whether the solved LP charges and discharges at once under ``auto``: the exclusivity
        rule must go on from it (module doc)."""
        battery = getattr(self.model, "battery", None)
        return self._mode() == "auto" and battery is not None and bool(simultaneous_steps(battery))

    def _keep_basis(self) -> None:
        """Keep the optimal basis of the inputs just solved (at most :data:`KEPT_BASES`)."""
        self._basis_of = self.inputs
        self._bases = [(self.inputs, self._highs.getBasis()), *self._bases][:KEPT_BASES]

    def _best_basis(self) -> None:
        """Start from the kept optimal basis of the inputs nearest to the model's: among those
        that differ from them only in :data:`COST_COLUMNS` scalars, the one whose largest
        relative cost move is smallest (HiGHS's own basis when it is that one or none fits). A
        move over :data:`RESTART_CHANGE` from the basis taken re-solves from HiGHS's start.
        Measured (``benchmarks/profile_warm.py prices``): a bisection's price from the case's
        own price's basis, not from a price of another question or another mode's cell."""
        best: tuple[float, xr.Dataset, highspy.HighsBasis] | None = None
        for inputs, basis in self._bases:
            move = cost_move(inputs, self.inputs)
            if move is not None and (best is None or move < best[0]):
                best = (move, inputs, basis)
        if best is None:
            return
        move, inputs, basis = best
        if inputs is not self._basis_of:
            self._highs.setBasis(basis)
            self._basis_of = inputs
        self._restart = move > RESTART_CHANGE

    def _cold(self, first: Solution | None = None) -> Run:
        """The cold :func:`solve_inputs`, from ``first`` (this LP's optimum) where given."""
        self.stats.cold += 1
        lp = None if first is None else (self.model, first)
        run = solve_inputs(self.inputs, self.options, first=lp)
        add_timings(self.stats.timings, {f"cold_{k}": v for k, v in run.timings.items()})
        add_timings(self.stats.timings, {**self._built, **(first.timings if first else {})})
        self._built = {}
        return run


@dataclass(frozen=True)
class Point:
    """What a bisection reads of one solve (:meth:`WarmModel.point`): the total cost (JPY/yr)
    and the battery energy (MWh), read from the solved model exactly as
    :func:`wattbit.results.build_results` and :func:`wattbit.results.kpis` read them; the
    results are not built and not verified."""

    total_cost_jpy: float
    battery_energy_mwh: float

    @classmethod
    def of(cls, m: pyo.ConcreteModel) -> Point:
        battery = getattr(m, "battery", None)
        energy = 0.0 if battery is None else float(battery.energy_mwh.value)
        return cls(float(pyo.value(m.total_cost_jpy)), energy)

    @classmethod
    def of_kpis(cls, kpis: dict[str, float]) -> Point:
        return cls(kpis["total_cost_jpy"], kpis.get("battery_energy_mwh", 0.0))


@dataclass
class Built:
    """The model of some inputs, built and compiled, not yet in HiGHS (:meth:`WarmModel.build`)."""

    inputs: xr.Dataset
    model: pyo.ConcreteModel
    compiled: CompiledModel
    timings: dict[str, float]


def solve_warm(
    warm: WarmModel | None, inputs: xr.Dataset, options: SolverOptions
) -> tuple[Run, WarmModel | None]:
    """Solve ``inputs`` on ``warm`` when it takes them as cost/bound changes (:meth:`~WarmModel.
    update`, else :meth:`~WarmModel.rebase`), else on a new :class:`WarmModel` (or cold when none
    can be kept); returns the run and the model to reuse."""
    pool = WarmPool(options, size=1)
    if warm is not None:
        pool.models.append(warm)
    run = pool.solve(inputs)
    return run, pool.models[0] if pool.models else None


class WarmPool:
    """Up to ``size`` kept models of one :class:`SolverOptions`, most recently used first; each
    solve goes to the first model that takes its inputs (:meth:`WarmModel.update`, else
    :meth:`WarmModel.rebase`), else to a new model that displaces the least recently used."""

    def __init__(self, options: SolverOptions, size: int = 3) -> None:
        self.options = options
        self.size = size
        self.models: list[WarmModel] = []
        self.stats = WarmStats()  # the solves that found no model to keep (cold)
        self.last = ""
        """How the last solve went: ``update`` or ``rebase`` (on a kept model), ``new`` (a new
        kept model) or ``cold`` (none can be kept)."""

    def solve(self, inputs: xr.Dataset) -> Run:
        """The run of ``inputs``, warm where a kept model takes them (class doc)."""
        for warm in self.models:
            if warm.options == self.options and warm.update(inputs):
                self.last = "update"
                return self._use(warm).solve()
        built = WarmModel.build(inputs, self.options)
        if built is None:
            self.stats.cold += 1
            self.last = "cold"
            return solve_inputs(inputs, self.options)
        for warm in self.models:
            if warm.options == self.options and warm.rebase(built):
                self.last = "rebase"
                return self._use(warm).solve()
        fresh = WarmModel.from_built(built, self.options)
        self.models = [fresh, *self.models][: self.size]
        self.last = "new"
        return fresh.solve()

    def point(self, inputs: xr.Dataset) -> Point | None:
        """The total cost and battery energy of ``inputs`` read from a kept model that takes
        them as cost/bound changes (:meth:`WarmModel.point`); ``None`` where :meth:`solve` is
        needed (no kept model takes them, or the cold path)."""
        for warm in self.models:
            if warm.options == self.options and warm.update(inputs):
                self.last = "update"
                return self._use(warm).point()
        return None

    def _use(self, warm: WarmModel) -> WarmModel:
        self.models.remove(warm)
        self.models.insert(0, warm)
        return warm


def _exclusive_mode(inputs: xr.Dataset) -> str:
    if not has_component(inputs, "battery"):
        return "never"
    return str(inputs.attrs.get("battery_exclusive", "never"))


def _matrix(lp: highspy.HighsLp) -> tuple[np.ndarray, ...]:
    """The constraint matrix (column-wise) and integrality of a compiled LP, as arrays."""
    a = lp.a_matrix_
    return (
        np.asarray(a.start_),
        np.asarray(a.index_),
        np.asarray(a.value_),
        np.asarray([int(t) for t in lp.integrality_], dtype=np.int8),
    )


def _change_bounds(
    change: Callable[..., object],
    old_lower: Sequence[float],
    old_upper: Sequence[float],
    lower: Sequence[float],
    upper: Sequence[float],
) -> None:
    """Apply the bounds that differ (HiGHS's ``changeColsBounds`` or ``changeRowsBounds``)."""
    lo, up = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    i = np.flatnonzero((lo != np.asarray(old_lower)) | (up != np.asarray(old_upper)))
    if i.size:
        change(i.size, i.astype(np.int32), lo[i], up[i])
