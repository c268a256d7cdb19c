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
bound from the case's own price, then bisects to a relative tolerance on :math:`c`; every evaluated
point is kept for the plot. A solve at a price serves both questions (it is cached).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import xarray as xr

from wattbit.case import load_case
from wattbit.inputs import build_inputs
from wattbit.optimise import Run, options_from_case
from wattbit.progress import Progress, silent
from wattbit.solve import SolverOptions
from wattbit.strategies import solve
from wattbit.studies import checked
from wattbit.studies.cells import apply_strategy
from wattbit.warm import WarmPool, same_inputs

BATTERY_COST_PATH = "battery.energy_capex_jpy_per_kwh"
QUESTIONS: dict[str, str] = {
    "vs_load_following": "battery-shaped stops beating load-following",
    "size_zero": "the optimal battery size reaches zero",
}
SIZE_TOL_MWH = 1e-6


@dataclass
class Breakeven:
    """A breakeven battery energy price (JPY/kWh) for one question, strategy and mode.

    ``points`` holds every evaluated ``(price, value)``: the net benefit over load-following
    (JPY/yr) for ``vs_load_following``, the optimal battery energy (MWh) for ``size_zero``."""

    question: str
    strategy: str
    mode: str
    cost_jpy_per_kwh: float | None
    tolerance_jpy_per_kwh: float
    note: str
    points: list[tuple[float, float]] = field(default_factory=list)

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
        self._runs: dict[tuple[str, str, float | None], Run] = {}
        self._inputs: dict[tuple[str, str, float | None], xr.Dataset] = {}
        self.pool: WarmPool | None = None
        battery = load_case(case_path, self.overrides).case.battery
        self.case_price = battery.energy_capex_jpy_per_kwh if battery else 0.0

    def run(self, strategy: str, mode: str, price: float | None = None) -> Run:
        """The checked solve of ``strategy`` under ``mode`` at a battery energy ``price``
        (JPY/kWh; ``None``: the case's own)."""
        if price == self.case_price:
            price = None
        key = (strategy, mode, price)
        if key not in self._runs:
            overrides = {**self.overrides, "grid.mode": mode}
            if price is not None:
                overrides[BATTERY_COST_PATH] = price
            loaded = load_case(self.case_path, overrides)
            inputs = apply_strategy(build_inputs(loaded), strategy, loaded.file)
            options = self.options or options_from_case(loaded)
            if self.pool is None or self.pool.options != options:
                self.pool = WarmPool(options)
            pool = self.pool
            same = self._same(key, inputs)
            if same is not None:  # another strategy's inputs exactly: its run, relabelled
                run = replace(same, inputs=inputs, kpis=dict(same.kpis))
                if same.results is not None:
                    run.results = same.results.assign_attrs(strategy=strategy)
            else:
                run = solve(inputs, options, lambda ds, _: pool.solve(ds))
            where = f"{self.case_path}: {strategy} × {mode}"
            if price is not None:
                where += f" at {price:,.0f} JPY/kWh"
            self._runs[key] = checked(run, where)
            self._inputs[key] = inputs
        return self._runs[key]

    def _same(self, key: tuple[str, str, float | None], inputs: xr.Dataset) -> Run | None:
        """The run of another strategy under the same mode and price whose inputs equal these
        but for the strategy's label (``both`` is ``battery_shaped`` when nothing is
        deferrable): the same computation, so the same result."""
        for (strategy, *rest), other in self._inputs.items():
            if tuple(rest) == key[1:] and strategy != key[0] and same_inputs(other, inputs):
                return self._runs[(strategy, *rest)]
        return None


def bisect_price(
    evaluate: Callable[[float], float],
    start: float,
    tolerance: float,
    max_doublings: int = 12,
) -> tuple[float | None, float, str]:
    """The smallest price ``c ≥ 0`` with ``evaluate(c) ≤ 0`` for a non-increasing ``evaluate``:
    (estimate, half-width of the final bracket, note). ``None`` with a note when
    ``evaluate(0) ≤ 0`` or when it stays positive up to ``start · 2^max_doublings``."""
    if evaluate(0.0) <= 0:
        return None, 0.0, "already at zero when battery energy capacity is free"
    hi = max(start, 1000.0)
    doublings = 0
    while evaluate(hi) > 0:
        hi *= 2
        doublings += 1
        if doublings > max_doublings:
            return None, 0.0, f"still positive at {hi:,.0f} JPY/kWh"
    lo = 0.0 if doublings == 0 else hi / 2
    while hi - lo > tolerance * hi:
        mid = 0.5 * (lo + hi)
        if evaluate(mid) > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi), 0.5 * (hi - lo), f"relative tolerance {tolerance:g}"


def vs_load_following(
    solves: PriceSolves,
    mode: str,
    tolerance: float = 1e-3,
    max_doublings: int = 12,
    progress: Progress = silent,
) -> Breakeven:
    """Breakeven price of battery-shaped use against load-following (see module doc); each
    price tried is reported to ``progress``."""
    lf_cost = solves.run("load_following", mode).kpis["total_cost_jpy"]
    eps = 1e-9 * max(1.0, abs(lf_cost))
    points: list[tuple[float, float]] = []

    def benefit(price: float) -> float:
        progress(
            f"breakeven vs load_following under {mode}: step {len(points) + 1}, {price:,.0f} JPY/kWh"
        )
        value = lf_cost - solves.run("battery_shaped", mode, price).kpis["total_cost_jpy"]
        points.append((price, value))
        return value - eps

    estimate, half, note = bisect_price(benefit, solves.case_price, tolerance, max_doublings)
    if estimate is None and not points[1:]:
        note = "battery-shaped use does not pay even with free energy capacity (power cost held)"
    return Breakeven(
        "vs_load_following",
        "battery_shaped",
        mode,
        estimate,
        half,
        _note(note, points),
        sorted(points),
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
    each price tried is reported to ``progress``."""
    points: list[tuple[float, float]] = []

    def size(price: float) -> float:
        progress(
            f"breakeven {strategy} battery = 0 under {mode}: step {len(points) + 1}, {price:,.0f} JPY/kWh"
        )
        value = solves.run(strategy, mode, price).kpis.get("battery_energy_mwh", 0.0)
        points.append((price, value))
        return value - SIZE_TOL_MWH

    estimate, half, note = bisect_price(size, solves.case_price, tolerance, max_doublings)
    if estimate is None and not points[1:]:
        note = "the optimiser builds no battery even with free energy capacity (power cost held)"
    return Breakeven(
        "size_zero", strategy, mode, estimate, half, _note(note, points), sorted(points)
    )


def _note(note: str, points: list[tuple[float, float]]) -> str:
    return f"{note}; {len(points)} solves"
