"""One-at-a-time sensitivity of the type ② answer: a tornado over the inputs it hangs on.

The answer is the net benefit of a strategy with a battery (``battery_shaped`` by default) over
load-following under one mode (``type2_fixed``), JPY/yr, and the strategy's optimal battery. Each
parameter is moved alone to the low and the high end of its range, given as multipliers of the
case's own value:

* ``lost_compute`` — ``dc.value_of_lost_compute_jpy_per_mwh`` (and the planned value, if given);
* ``battery_price`` — ``battery.energy_capex_jpy_per_kwh`` (power price held);
* ``energy_price`` — the level of ``grid.energy_price_jpy_per_mwh`` (scale and offset of a
  column, or the constant, × the multiplier).

Every point is a pair of full solves (load-following and the strategy), checked by the verifier.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from wattbit.case import load_case
from wattbit.case.fields import SeriesColumn
from wattbit.solve import SolverOptions
from wattbit.studies.breakeven import PriceSolves

PARAMETERS: dict[str, str] = {
    "lost_compute": "value of lost compute",
    "battery_price": "battery energy price",
    "energy_price": "energy price level",
}
DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "lost_compute": (0.5, 1.5),
    "battery_price": (0.5, 1.5),
    "energy_price": (0.5, 1.5),
}


def _overrides(case_path: Path, base: Mapping[str, Any], parameter: str, factor: float) -> dict:
    """The overrides that multiply one parameter of the case by ``factor``."""
    case = load_case(case_path, dict(base)).case
    if parameter == "lost_compute":
        out = {"dc.value_of_lost_compute_jpy_per_mwh": case.dc.value_of_lost_compute_jpy_per_mwh}
        if case.dc.value_of_planned_curtailment_jpy_per_mwh is not None:
            planned = case.dc.value_of_planned_curtailment_jpy_per_mwh
            out["dc.value_of_planned_curtailment_jpy_per_mwh"] = planned
        return {k: v * factor for k, v in out.items()}
    if parameter == "battery_price":
        battery = case.battery
        price = battery.energy_capex_jpy_per_kwh if battery else 0.0
        return {"battery.energy_capex_jpy_per_kwh": price * factor}
    price = case.grid.energy_price_jpy_per_mwh
    if isinstance(price, float | int):
        return {"grid.energy_price_jpy_per_mwh": float(price) * factor}
    column = SeriesColumn(column=price) if isinstance(price, str) else price
    return {
        "grid.energy_price_jpy_per_mwh": {
            "column": column.column,
            "scale": column.scale * factor,
            "offset": column.offset * factor,
        }
    }


@dataclass(frozen=True)
class Point:
    parameter: str
    factor: float
    net_benefit_jpy: float
    battery_energy_mwh: float
    battery_power_mw: float


@dataclass
class Sensitivity:
    """The tornado: the base answer and each parameter at the ends of its range."""

    strategy: str
    mode: str
    base_net_benefit_jpy: float
    points: list[Point]

    def table(self) -> pd.DataFrame:
        """One row per parameter: the range, the answer at each end, the swing (JPY/yr)."""
        rows = []
        for name, label in PARAMETERS.items():
            ends = sorted((p for p in self.points if p.parameter == name), key=lambda p: p.factor)
            if len(ends) != 2:
                continue
            low, high = ends
            rows.append(
                {
                    "parameter": name,
                    "meaning": label,
                    "low_factor": low.factor,
                    "high_factor": high.factor,
                    "net_benefit_low_jpy": low.net_benefit_jpy,
                    "net_benefit_base_jpy": self.base_net_benefit_jpy,
                    "net_benefit_high_jpy": high.net_benefit_jpy,
                    "battery_energy_low_mwh": low.battery_energy_mwh,
                    "battery_energy_high_mwh": high.battery_energy_mwh,
                    "swing_jpy": abs(high.net_benefit_jpy - low.net_benefit_jpy),
                }
            )
        frame = pd.DataFrame(rows)
        return frame.sort_values("swing_jpy", ascending=False) if len(frame) else frame

    def words(self) -> str:
        head = (
            f"Sensitivity of the net benefit of {self.strategy} over load_following under "
            f"{self.mode} (base {self.base_net_benefit_jpy:,.0f} JPY/yr): "
        )
        parts = [
            f"{row.meaning} ×{row.low_factor:g}…×{row.high_factor:g}: "
            f"{row.net_benefit_low_jpy:,.0f} … {row.net_benefit_high_jpy:,.0f}"
            for row in self.table().itertuples()
        ]
        return head + "; ".join(parts) + " JPY/yr."


Progress = Callable[[str], None]


def sensitivity(
    case_path: Path,
    overrides: Mapping[str, Any] | None = None,
    options: SolverOptions | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    strategy: str = "battery_shaped",
    mode: str = "type2_fixed",
    progress: Progress | None = None,
    base: PriceSolves | None = None,
) -> Sensitivity:
    """Solve the tornado (see module doc); ``ranges`` maps parameters to (low, high) factors;
    ``base`` may bring the solves of the case as given (e.g. the comparison's)."""
    note = progress or (lambda _: None)
    base_overrides = dict(overrides or {})
    chosen = {**DEFAULT_RANGES, **(ranges or {})}
    base = base or PriceSolves(case_path, base_overrides, options)
    base_benefit = _benefit(base, strategy, mode)[0]
    points = []
    for parameter, (low, high) in chosen.items():
        for factor in (low, high):
            note(f"sensitivity: {PARAMETERS[parameter]} ×{factor:g}")
            moved = {**base_overrides, **_overrides(case_path, base_overrides, parameter, factor)}
            solves = PriceSolves(case_path, moved, options)
            solves.pool = base.pool  # a moved price is a cost change of the same LP: warm
            benefit, energy, power = _benefit(solves, strategy, mode)
            points.append(Point(parameter, factor, benefit, energy, power))
    return Sensitivity(strategy, mode, base_benefit, points)


def _benefit(solves: PriceSolves, strategy: str, mode: str) -> tuple[float, float, float]:
    lf = solves.run("load_following", mode).kpis["total_cost_jpy"]
    run = solves.run(strategy, mode)
    return (
        lf - run.kpis["total_cost_jpy"],
        run.kpis.get("battery_energy_mwh", 0.0),
        run.kpis.get("battery_power_mw", 0.0),
    )
