"""Breakeven battery energy prices of the type ② comparison: two questions, named apart.

``vs_load_following``
    The battery energy price :math:`c` (``battery.energy_capex_jpy_per_kwh``, power cost held) at
    which battery-shaped use stops beating load-following:
    :math:`B(c) = \\text{cost}_{LF} − \\text{cost}_{BS}(c)` reaches 0. Battery-shaped use runs the
    DC's whole desired load (nothing deferred), so this compares two ways of following the limit.
``size_zero``
    The price at which the *optimal* battery of a strategy (``battery_shaped`` or ``both``) reaches
    zero energy capacity :math:`E^*(c) = 0`: the question a battery developer sizing the asset asks.
    Under ``both`` the battery competes with deferral and only has to beat it at the margin.

Both functions are monotone in :math:`c`: the optimal cost is non-decreasing, and the optimal size
non-increasing (for minimisers at :math:`c_1 < c_2`,
:math:`(c_1 − c_2)(E^*_1 − E^*_2) \\le 0`). Each breakeven brackets the price by doubling an upper
bound from the case's own price, then bisects to a relative tolerance on :math:`c`
(:func:`~wattbit.studies.bisection.bisect_price`); every solved point is kept for the plot. A solve
at a price serves both questions (it is cached).

Fewer solves, the same answer: a bisection price is solved on the kept warm model and only its
total cost and battery energy are read (:meth:`PriceSolves.point`; no results, no verifier), and
a step whose sign the concavity of the optimal cost in the price already decides is not solved
at all (:class:`~wattbit.studies.bisection.Concave`). Both ends of the final bracket are then
solved in full and verified (:meth:`PriceSolves.run`); if either end's sign differs from the one
decided, the bisection is repeated solving every step in full. The bracket is a dyadic interval
of the doubled start, so a verified bracket of the same width is the one the plain bisection
reaches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import xarray as xr

from wattbit.case import load_case
from wattbit.input_dataset import annualised_per_mw
from wattbit.inputs import build_inputs
from wattbit.optimise import Run, options_from_case
from wattbit.progress import Progress, silent
from wattbit.sizes import lifetime_name
from wattbit.solve import SolverOptions
from wattbit.strategies import one_optimisation, solve
from wattbit.studies import checked
from wattbit.studies.bisection import FREE, Concave, bisect_price
from wattbit.studies.cells import apply_strategy
from wattbit.warm import Point, WarmPool
from wattbit.warm_inputs import cost_move, same_inputs

BATTERY_COST_PATH = "battery.energy_capex_jpy_per_kwh"
QUESTIONS: dict[str, str] = {
    "vs_load_following": "battery-shaped stops beating load-following",
    "size_zero": "the optimal battery size reaches zero",
}
SIZE_TOL_MWH = 1e-6
ENERGY_COEFFICIENT = "battery_energy_capex_jpy_per_mwh_year"
Key = tuple[str, str, "float | None"]


@dataclass
class Breakeven:
    """A breakeven battery energy price (JPY/kWh) for one question, strategy and mode.

    ``points`` holds every ``(price, value)`` this question evaluated: the net benefit over
    load-following (JPY/yr) for ``vs_load_following``, the optimal battery energy (MWh) for
    ``size_zero``. ``curve`` holds the same value at every price solved for the strategy under
    the mode in the comparison (the cells, either question, the steps the concave cost decided
    around), for the plot: a question whose steps were mostly decided without a solve still
    shows the whole curve."""

    question: str
    strategy: str
    mode: str
    cost_jpy_per_kwh: float | None
    tolerance_jpy_per_kwh: float
    note: str
    points: list[tuple[float, float]] = field(default_factory=list)
    curve: list[tuple[float, float]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """What it answers, in words: the question, the strategy and the mode."""
        if self.question == "vs_load_following":
            return f"{self.strategy} vs load_following under {self.mode}"
        return f"optimal {self.strategy} battery = 0 under {self.mode}"

    def record(self) -> dict[str, Any]:
        """The JSON form of ``compare.json``."""
        return {
            "question": self.question,
            "meaning": QUESTIONS[self.question],
            "strategy": self.strategy,
            "mode": self.mode,
            "battery_energy_cost_jpy_per_kwh": self.cost_jpy_per_kwh,
            "tolerance_jpy_per_kwh": self.tolerance_jpy_per_kwh,
            "note": self.note,
            "points": [list(p) for p in self.points],
            "curve": [list(p) for p in self.curve],
        }


class PriceSolves:
    """Solves of one case at a battery energy price, cached by (strategy, mode, price).

    Every solve of one optimisation of the whole horizon (a cell under ``firm``,
    ``type2_dynamic`` or ``type2_fixed``, the plan on a fixed pattern, each bisection price) goes
    through one :class:`~wattbit.warm.WarmPool`: a cell of another mode or strategy whose LP has
    the same matrix is re-solved from the kept basis with its own import limits and size bounds
    (``rebase``), a further price by changing one objective coefficient (``update``). Results
    equal cold solves (:mod:`wattbit.warm`)."""

    def __init__(
        self,
        case_path: Path,
        overrides: dict[str, Any] | None = None,
        options: SolverOptions | None = None,
    ) -> None:
        self.case_path = case_path
        self.overrides = dict(overrides or {})
        self.options = options
        self._runs: dict[Key, Run] = {}
        self._points: dict[Key, Point] = {}
        self._inputs: dict[Key, xr.Dataset] = {}
        self._alias: dict[tuple[str, str], str] = {}  # a strategy → another with equal inputs
        self._curves: dict[tuple[str, str], tuple[Concave, Callable[[float], float]] | None] = {}
        self._bases: dict[tuple[str, str], xr.Dataset] = {}  # each curve's first inputs
        self.pool: WarmPool | None = None
        battery = load_case(case_path, self.overrides).case.battery
        self.case_price = battery.energy_capex_jpy_per_kwh if battery else 0.0

    def _key(self, strategy: str, mode: str, price: float | None) -> Key:
        return (strategy, mode, None if price == self.case_price else price)

    def _inputs_of(self, key: Key) -> tuple[xr.Dataset, SolverOptions]:
        strategy, mode, price = key
        overrides = {**self.overrides, "grid.mode": mode}
        if price is not None:
            overrides[BATTERY_COST_PATH] = price
        loaded = load_case(self.case_path, overrides)
        inputs = apply_strategy(build_inputs(loaded), strategy, loaded.file)
        options = self.options or options_from_case(loaded)
        if self.pool is None or self.pool.options != options:
            self.pool = WarmPool(options)
        self._inputs[key] = inputs
        return inputs, options

    def run(self, strategy: str, mode: str, price: float | None = None) -> Run:
        """The checked solve of ``strategy`` under ``mode`` at a battery energy ``price``
        (JPY/kWh; ``None``: the case's own)."""
        key = self._key(strategy, mode, price)
        if key not in self._runs:
            inputs, options = self._inputs_of(key)
            pool = self.pool
            assert pool is not None
            same = self._same(key, inputs)
            if same in self._runs:  # another strategy's inputs exactly: its run, relabelled
                other = self._runs[same]
                run = replace(other, inputs=inputs, kpis=dict(other.kpis))
                if other.results is not None:
                    run.results = other.results.assign_attrs(strategy=strategy)
            else:
                run = solve(inputs, options, lambda ds, _: pool.solve(ds))
            where = f"{self.case_path}: {strategy} × {mode}"
            if key[2] is not None:
                where += f" at {key[2]:,.0f} JPY/kWh"
            self._runs[key] = checked(run, where)
            self._keep(key, Point.of_kpis(run.kpis))
        return self._runs[key]

    def point(self, strategy: str, mode: str, price: float | None = None) -> Point:
        """The total cost and battery energy of ``strategy`` under ``mode`` at ``price``: read
        from the kept warm model where it takes the price as a cost change (results neither
        built nor verified, :meth:`wattbit.warm.WarmModel.point`), else from :meth:`run`."""
        key = self._key(strategy, mode, price)
        if key not in self._points:
            inputs, _ = self._inputs_of(key)
            same = self._same(key, inputs)
            if same in self._points:
                self._keep(key, self._points[same])
                return self._points[key]
            found = self.pool.point(inputs) if self.pool and one_optimisation(inputs) else None
            if found is not None:
                self._keep(key, found)
            else:
                self.run(strategy, mode, price)
        return self._points[key]

    def solved(self, strategy: str, mode: str) -> list[tuple[float, Point]]:
        """Every price (JPY/kWh) solved for ``strategy`` under ``mode``, or for a strategy with
        the same inputs, with its point, by price."""
        name = self._alias.get((strategy, mode), strategy)
        found = {
            self.case_price if price is None else price: point
            for (other, m, price), point in self._points.items()
            if m == mode and self._alias.get((other, m), other) == name
        }
        return sorted(found.items())

    def concave(self, strategy: str, mode: str) -> tuple[Concave, Callable[[float], float]] | None:
        """The points solved for ``strategy`` under ``mode`` (or for a strategy with the same
        inputs) as a concave optimal cost in the annualised energy coefficient :math:`k`, and
        :math:`k` of a price (JPY/kWh); ``None`` when a price moves anything else the model
        reads (e.g. an ageing cost that follows the energy capex): then the cost is not of that
        form (:mod:`wattbit.studies.bisection`)."""
        return self._curves.get((self._alias.get((strategy, mode), strategy), mode))

    def _keep(self, key: Key, point: Point) -> None:
        """Keep the point of ``key`` and add it to its strategy's concave cost."""
        self._points[key] = point
        strategy, mode, price = key
        name = (self._alias.get((strategy, mode), strategy), mode)
        inputs = self._inputs[key]
        if name not in self._curves and ENERGY_COEFFICIENT in inputs:
            rate = float(inputs.attrs["discount_rate"])
            life = float(inputs[lifetime_name("battery_energy_mwh")])
            self._curves[name] = (Concave(), lambda c: annualised_per_mw(rate, life, c))
            self._bases[name] = inputs
        curve = self._curves.get(name)
        if curve is None:
            return
        concave, k = curve
        x = k(self.case_price if price is None else price)
        if cost_move(self._bases[name], inputs) is None or float(inputs[ENERGY_COEFFICIENT]) != x:
            self._curves[name] = None
            return
        concave.add(x, point.total_cost_jpy, point.battery_energy_mwh)

    def _same(self, key: Key, inputs: xr.Dataset) -> Key | None:
        """Another strategy under the same mode and price whose inputs equal these but for the
        strategy's label (``both`` is ``battery_shaped`` when nothing is deferrable): the same
        computation, so the same result."""
        for other, seen in self._inputs.items():
            if other[1:] == key[1:] and other[0] != key[0] and same_inputs(seen, inputs):
                self._alias.setdefault(key[:2], self._alias.get(other[:2], other[0]))
                return other
        return None


def vs_load_following(
    solves: PriceSolves,
    mode: str,
    tolerance: float = 1e-3,
    max_doublings: int = 12,
    progress: Progress = silent,
) -> Breakeven:
    """Breakeven price of battery-shaped use against load-following (see module doc); each
    price solved is reported to ``progress``."""
    lf_cost = solves.run("load_following", mode).kpis["total_cost_jpy"]
    eps = 1e-9 * max(1.0, abs(lf_cost))
    search = _Search(
        solves,
        "battery_shaped",
        mode,
        lambda p: lf_cost - p.total_cost_jpy,
        lambda c, k: (lf_cost - c.upper(k), lf_cost - c.lower(k)),
        eps,
        f"breakeven vs load_following under {mode}",
        progress,
    )
    estimate, half, note = search.bisect(tolerance, max_doublings)
    if note.startswith(FREE):
        note = "battery-shaped use does not pay even with free energy capacity (power cost held)"
    return Breakeven(
        "vs_load_following",
        "battery_shaped",
        mode,
        estimate,
        half,
        _note(note, search.points),
        sorted(search.points),
        search.curve(),
    )


def size_zero(
    solves: PriceSolves,
    strategy: str,
    mode: str,
    tolerance: float = 1e-3,
    max_doublings: int = 12,
    progress: Progress = silent,
) -> Breakeven:
    """The price at which the optimal battery energy of ``strategy`` reaches 0 (see module doc);
    each price solved is reported to ``progress``."""
    search = _Search(
        solves,
        strategy,
        mode,
        lambda p: p.battery_energy_mwh,
        Concave.energy_bounds,
        SIZE_TOL_MWH,
        f"breakeven {strategy} battery = 0 under {mode}",
        progress,
    )
    estimate, half, note = search.bisect(tolerance, max_doublings)
    if note.startswith(FREE):
        note = "the optimiser builds no battery even with free energy capacity (power cost held)"
    return Breakeven(
        "size_zero",
        strategy,
        mode,
        estimate,
        half,
        _note(note, search.points),
        sorted(search.points),
        search.curve(),
    )


class _Search:
    """One breakeven's bisection: the sign of ``measure(point) - threshold`` at each price, from
    a solve or from the concave cost's ``bounds`` on the measure at :math:`k` (module doc), with
    the answer's prices verified."""

    def __init__(
        self,
        solves: PriceSolves,
        strategy: str,
        mode: str,
        measure: Callable[[Point], float],
        bounds: Callable[[Concave, float], tuple[float, float]],
        threshold: float,
        label: str,
        progress: Progress,
    ) -> None:
        self.solves, self.strategy, self.mode = solves, strategy, mode
        self.measure, self.bounds, self.threshold = measure, bounds, threshold
        self.label, self.progress = label, progress
        self.points: list[tuple[float, float]] = []
        self.full = False  # every step solved in full (after a decided sign proved wrong)

    def bisect(self, tolerance: float, max_doublings: int) -> tuple[float | None, float, str]:
        found = bisect_price(
            self.evaluate, self.solves.case_price, tolerance, max_doublings, self.known
        )
        estimate, half, note, ends = found
        if not self.full and any((self.evaluate(p, full=True) > 0) != sign for p, sign in ends):
            self.full = True
            estimate, half, note, _ = bisect_price(
                self.evaluate, self.solves.case_price, tolerance, max_doublings
            )
        return estimate, half, note

    def evaluate(self, price: float, full: bool = False) -> float:
        """``measure - threshold`` at ``price``, solved (a point, or in full and verified); a
        price solved for the first time is reported and kept for the plot."""
        args = (self.strategy, self.mode, price)
        if full or self.full:
            point = Point.of_kpis(self.solves.run(*args).kpis)
        else:
            point = self.solves.point(*args)
        value = self.measure(point)
        if all(p != price for p, _ in self.points):
            step = len(self.points) + 1
            self.progress(f"{self.label}: step {step}, {price:,.0f} JPY/kWh")
            self.points.append((price, value))
        return value - self.threshold

    def curve(self) -> list[tuple[float, float]]:
        """The measure at every price solved for this strategy and mode (:class:`Breakeven`)."""
        return [
            (price, self.measure(p)) for price, p in self.solves.solved(self.strategy, self.mode)
        ]

    def known(self, price: float) -> bool | None:
        """The sign at ``price`` where the concave cost decides it; where it does not, the
        crossing of the neighbours' supergradient lines is solved first and asked again."""
        if self.full:
            return None
        sign, crossing = self._decide(price)
        if sign is None and crossing is not None:
            self.evaluate(crossing)
            sign, _ = self._decide(price)
        return sign

    def _decide(self, price: float) -> tuple[bool | None, float | None]:
        found = self.solves.concave(self.strategy, self.mode)
        if found is None:
            return None, None
        concave, k = found
        x = k(price)
        low, high = self.bounds(concave, x)
        if low > self.threshold:
            return True, None
        if high <= self.threshold:
            return False, None
        cross = concave.crossing(x)
        return None, None if cross is None else cross / k(1.0)


def _note(note: str, points: list[tuple[float, float]]) -> str:
    return f"{note}; {len(points)} solves"
