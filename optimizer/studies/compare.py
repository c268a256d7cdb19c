"""Type ② comparison: strategies × headroom rules, net benefit by cost term, verdict, breakeven.

Strategies act on the input Dataset of a case:

* ``load_following`` — no battery; the DC's deferrable share may wait (``dc.deferrable_share``,
  ``dc.max_delay_h``); what cannot be served is shed at the value of lost compute.
* ``battery_shaped`` — the DC runs its desired profile (nothing deferrable); the battery, sized by
  the optimiser, shapes grid import to the limit.
* ``both`` — battery and deferrable work.

Modes are the case's ``grid.mode`` values. Every cell's net benefit is taken against
``load_following`` under ``type2_fixed`` (the seed's baseline), term by term.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from wattbit.case import MODES, load_case
from wattbit.errors import CaseError, SolveError
from wattbit.inputs import build_inputs
from wattbit.optimise import Run, options_from_case
from wattbit.plots import plot_dispatch
from wattbit.solve import EXIT_CODES, SolverOptions
from wattbit.strategies import solve
from wattbit.studies.cells import clean_size
from wattbit.studies.plots import plot_benefit_by_term, plot_breakeven

STRATEGIES: tuple[str, ...] = ("load_following", "battery_shaped", "both")
BASELINE = ("load_following", "type2_fixed")
BATTERY_COST_PATH = "battery.energy_capex_jpy_per_kwh"

SIZE_KPIS = ("battery_power_mw", "battery_energy_mwh")  # in every table: 0 for no battery
TABLE_KPIS = (
    "dc_size_mw",
    "dc_it_served_mwh",
    "dc_it_unserved_mwh",
    "dc_emergency_curtailed_mwh",
    "grid_import_mwh",
    "battery_power_mw",
    "battery_energy_mwh",
    "battery_losses_mwh",
)


def check_choice(values: Sequence[str], allowed: Sequence[str], what: str) -> list[str]:
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise CaseError(f"--{what}", unknown[0], f"unknown; choose from {', '.join(allowed)}")
    return list(values)


def apply_strategy(inputs: xr.Dataset, strategy: str, file: str) -> xr.Dataset:
    """The input Dataset of one strategy (see module doc)."""
    ds = inputs.copy()
    has_battery = any(str(v).startswith("battery_") for v in ds.data_vars)
    if strategy in ("battery_shaped", "both"):
        if not has_battery:
            raise CaseError(file, "battery", f"strategy {strategy} needs a [battery] table")
        if float(ds["battery_power_mw_max"]) <= 0 or float(ds["battery_energy_mwh_max"]) <= 0:
            field_ = (
                "battery.power_mw"
                if float(ds["battery_power_mw_max"]) <= 0
                else "battery.energy_mwh"
            )
            raise CaseError(
                file, field_, f"strategy {strategy} needs a battery that may be sized above 0"
            )
    if strategy == "load_following" and has_battery:
        ds = ds.drop_vars([v for v in ds.data_vars if str(v).startswith("battery_")])
    if strategy == "battery_shaped":
        ds["dc_deferrable_share"] = ((), 0.0)
    ds.attrs["strategy"] = strategy
    return ds


@dataclass
class Cell:
    strategy: str
    mode: str
    run: Run

    @property
    def costs(self) -> dict[str, float]:
        return {k: v for k, v in self.run.kpis.items() if k.startswith("cost_")}

    @property
    def total(self) -> float:
        return self.run.kpis["total_cost_jpy"]


@dataclass
class Breakeven:
    """Battery energy cost (JPY/kWh) at which battery-shaped use stops beating load-following."""

    mode: str
    cost_jpy_per_kwh: float | None
    tolerance_jpy_per_kwh: float
    note: str
    points: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class Comparison:
    case: str
    cells: list[Cell]
    breakevens: list[Breakeven] = field(default_factory=list)

    def cell(self, strategy: str, mode: str) -> Cell | None:
        return next((c for c in self.cells if (c.strategy, c.mode) == (strategy, mode)), None)

    @property
    def baseline(self) -> Cell | None:
        return self.cell(*BASELINE)

    def table(self) -> pd.DataFrame:
        """One row per cell: KPIs, every cost term, total, net benefit vs the baseline."""
        terms = sorted({k for c in self.cells for k in c.costs})
        kpis = [k for k in TABLE_KPIS if k in SIZE_KPIS or any(k in c.run.kpis for c in self.cells)]
        rows = []
        base = self.baseline
        for c in self.cells:
            row: dict[str, Any] = {"strategy": c.strategy, "mode": c.mode}
            row.update({k: c.run.kpis.get(k, 0.0) for k in kpis})
            row.update({k: clean_size(row[k]) for k in SIZE_KPIS})
            row.update({t: c.costs.get(t, 0.0) for t in terms})
            row["total_cost_jpy"] = c.total
            if base is not None:
                row["net_benefit_jpy"] = base.total - c.total
            rows.append(row)
        return pd.DataFrame(rows)

    def benefit_by_term(self) -> pd.DataFrame:
        """Net benefit of each cell vs the baseline, split by cost term (JPY/yr, + = saving)."""
        base = self.baseline
        if base is None:
            return pd.DataFrame()
        terms = sorted({k for c in self.cells for k in c.costs})
        rows = []
        for c in self.cells:
            row: dict[str, Any] = {"strategy": c.strategy, "mode": c.mode}
            row.update({t: base.costs.get(t, 0.0) - c.costs.get(t, 0.0) for t in terms})
            row["net_benefit_jpy"] = base.total - c.total
            rows.append(row)
        return pd.DataFrame(rows)

    def verdict(self) -> str:
        """Plain words for the seed's question."""
        lines: list[str] = []
        lf_fixed, bs_fixed = (
            self.cell("load_following", "type2_fixed"),
            self.cell("battery_shaped", "type2_fixed"),
        )
        if lf_fixed and bs_fixed:
            saving = lf_fixed.total - bs_fixed.total
            share = saving / lf_fixed.total if lf_fixed.total else math.nan
            who = "saves" if saving > 0 else "costs"
            lines.append(
                f"Under the fixed pattern, battery-shaped use {who} {abs(saving):,.0f} JPY/yr "
                f"({abs(share):.1%}) {'over' if saving > 0 else 'more than'} load-following."
            )
            terms = {
                t: lf_fixed.costs.get(t, 0.0) - bs_fixed.costs.get(t, 0.0)
                for t in set(lf_fixed.costs) | set(bs_fixed.costs)
            }
            big = sorted(terms.items(), key=lambda kv: -abs(kv[1]))[:3]
            lines.append(
                "Largest terms (+ = battery-shaped cheaper): "
                + "; ".join(f"{_term_name(t)} {v:+,.0f}" for t, v in big)
                + "."
            )
        for b in self.breakevens:
            if b.cost_jpy_per_kwh is None:
                lines.append(f"Breakeven under {b.mode}: {b.note}.")
            else:
                lines.append(
                    f"Breakeven battery energy cost under {b.mode}: {b.cost_jpy_per_kwh:,.0f} JPY/kWh "
                    f"(± {b.tolerance_jpy_per_kwh:,.0f}); {b.note}."
                )
        bs_dyn = self.cell("battery_shaped", "type2_dynamic")
        if bs_fixed and bs_dyn:
            lines.append(
                f"Dynamic use of the true headroom with a battery would add "
                f"{bs_fixed.total - bs_dyn.total:,.0f} JPY/yr over battery-shaped use of the fixed "
                "pattern (perfect foresight)."
            )
        bs_fc = self.cell("battery_shaped", "type2_forecast")
        if bs_fixed and bs_fc:
            curtailed = bs_fc.run.kpis.get("dc_emergency_curtailed_mwh", 0.0)
            lines.append(
                f"With forecast error it adds {bs_fixed.total - bs_fc.total:,.0f} JPY/yr "
                f"({curtailed:,.1f} MWh of emergency curtailment over the horizon)."
            )
        lf_dyn = self.cell("load_following", "type2_dynamic")
        if lf_fixed and lf_dyn:
            lines.append(
                f"Load-following under the true headroom saves {lf_fixed.total - lf_dyn.total:,.0f} "
                "JPY/yr over the fixed pattern, without a battery."
            )
        return "\n".join(lines)

    def write(self, out: Path) -> list[Path]:
        """``compare.csv``, ``benefit_by_term.csv``, ``verdict.txt``, ``compare.json``,
        ``week.png`` (battery-shaped under the fixed pattern, else the first cell), and with a
        baseline and breakevens ``benefit.png`` and ``breakeven.png``, in ``out``."""
        out.mkdir(parents=True, exist_ok=True)
        paths = [
            out / "compare.csv",
            out / "benefit_by_term.csv",
            out / "verdict.txt",
            out / "compare.json",
        ]
        self.table().to_csv(paths[0], index=False)
        benefit = self.benefit_by_term()
        benefit.to_csv(paths[1], index=False)
        paths[2].write_text(self.verdict() + "\n")
        payload = {
            "case": self.case,
            "cells": self.table().to_dict(orient="records"),
            "breakevens": [
                {
                    "mode": b.mode,
                    "battery_energy_cost_jpy_per_kwh": b.cost_jpy_per_kwh,
                    "tolerance_jpy_per_kwh": b.tolerance_jpy_per_kwh,
                    "note": b.note,
                    "points": b.points,
                }
                for b in self.breakevens
            ],
            "verdict": self.verdict(),
        }
        paths[3].write_text(json.dumps(payload, indent=2, default=float))
        week_cell = self.cell("battery_shaped", "type2_fixed") or self.cells[0]
        paths.append(plot_dispatch(week_cell.run.results, out / "week.png"))
        if not benefit.empty:
            paths.append(plot_benefit_by_term(benefit, out / "benefit.png"))
        if self.breakevens:
            paths.append(
                plot_breakeven(
                    {b.mode: b.points for b in self.breakevens},
                    out / "breakeven.png",
                    {b.mode: b.cost_jpy_per_kwh for b in self.breakevens},
                )
            )
        return paths


def _term_name(term: str) -> str:
    return term.removeprefix("cost_").removesuffix("_jpy").replace("_", " ")


Progress = Callable[[str], None]


def compare(
    case_path: Path,
    strategies: Sequence[str] = STRATEGIES,
    modes: Sequence[str] = ("type2_fixed", "type2_dynamic", "type2_forecast", "firm"),
    overrides: dict[str, Any] | None = None,
    options: SolverOptions | None = None,
    breakeven_modes: Sequence[str] = ("type2_fixed",),
    breakeven_tolerance: float = 1e-3,
    progress: Progress | None = None,
) -> Comparison:
    """Solve the strategy × mode matrix (and breakevens) of one case."""
    check_choice(strategies, STRATEGIES, "strategies")
    check_choice(modes, MODES, "modes")
    check_choice(breakeven_modes, MODES, "breakeven-modes")
    note = progress or (lambda _: None)
    prepared = []
    for mode in modes:  # every cell is validated before the first solve
        loaded = load_case(case_path, {**(overrides or {}), "grid.mode": mode})
        inputs = build_inputs(loaded)
        opts = options or options_from_case(loaded)
        prepared += [(s, mode, apply_strategy(inputs, s, loaded.file), opts) for s in strategies]
    cells: list[Cell] = []
    for strategy, mode, inputs, opts in prepared:
        note(f"solving {strategy} × {mode}")
        run = solve(inputs, opts)
        if not run.ok:
            raise SolveError(
                f"{case_path}: {strategy} × {mode}: {run.solution.status}: {run.solution.message}",
                EXIT_CODES[run.solution.status],
            )
        cells.append(Cell(strategy, mode, run))
    comparison = Comparison(case=str(case_path), cells=cells)
    for mode in breakeven_modes:
        if "battery_shaped" in strategies and "load_following" in strategies:
            note(f"breakeven battery cost under {mode}")
            comparison.breakevens.append(
                breakeven(
                    case_path,
                    mode,
                    overrides,
                    options,
                    breakeven_tolerance,
                    comparison.cell("load_following", mode),
                )
            )
    return comparison


def _net_benefit_function(
    case_path: Path,
    mode: str,
    overrides: dict[str, Any] | None,
    options: SolverOptions | None,
    load_following_cost: float,
) -> Callable[[float], float]:
    def net_benefit(cost_jpy_per_kwh: float) -> float:
        loaded = load_case(
            case_path,
            {**(overrides or {}), "grid.mode": mode, BATTERY_COST_PATH: cost_jpy_per_kwh},
        )
        inputs = apply_strategy(build_inputs(loaded), "battery_shaped", loaded.file)
        run = solve(inputs, options or options_from_case(loaded))
        if not run.ok:
            raise SolveError(
                f"{case_path}: battery-shaped at {cost_jpy_per_kwh:,.0f} JPY/kWh: "
                f"{run.solution.status}: {run.solution.message}",
                EXIT_CODES[run.solution.status],
            )
        return load_following_cost - run.kpis["total_cost_jpy"]

    return net_benefit


def breakeven(
    case_path: Path,
    mode: str,
    overrides: dict[str, Any] | None = None,
    options: SolverOptions | None = None,
    tolerance: float = 1e-3,
    load_following: Cell | None = None,
    max_doublings: int = 12,
) -> Breakeven:
    """Bisection on the battery energy cost for B(c) = cost(load-following) − cost(battery-shaped).

    B falls as c rises (the optimal cost of battery-shaped use is non-decreasing in c). The
    breakeven is the smallest c with B(c) ≤ 0 (to a cost tolerance of 1e-9 relative), bracketed to
    ``tolerance`` relative on c.
    """
    if load_following is None:
        loaded = load_case(case_path, {**(overrides or {}), "grid.mode": mode})
        run = solve(
            apply_strategy(build_inputs(loaded), "load_following", loaded.file),
            options or options_from_case(loaded),
        )
        lf_cost = run.kpis["total_cost_jpy"]
    else:
        lf_cost = load_following.total
    B = _net_benefit_function(case_path, mode, overrides, options, lf_cost)
    eps = 1e-9 * max(1.0, abs(lf_cost))
    points: list[tuple[float, float]] = []

    def evaluate(c: float) -> float:
        value = B(c)
        points.append((c, value))
        return value

    if evaluate(0.0) <= eps:
        return Breakeven(
            mode,
            None,
            0.0,
            "the battery does not pay even with free energy capacity (its power cost held)",
            points,
        )
    current = load_case(case_path, overrides).case.battery
    hi = max(current.energy_capex_jpy_per_kwh if current else 0.0, 1000.0)
    doublings = 0
    while evaluate(hi) > eps:
        hi *= 2
        doublings += 1
        if doublings > max_doublings:
            return Breakeven(
                mode, None, 0.0, f"battery-shaped use still pays at {hi:,.0f} JPY/kWh", points
            )
    lo = 0.0 if doublings == 0 else hi / 2
    while hi - lo > tolerance * hi:
        mid = 0.5 * (lo + hi)
        if evaluate(mid) > eps:
            lo = mid
        else:
            hi = mid
    estimate = 0.5 * (lo + hi)
    return Breakeven(
        mode,
        estimate,
        0.5 * (hi - lo),
        f"{len(points)} solves, relative tolerance {tolerance:g}",
        sorted(points),
    )
