"""Type ② comparison: strategies × headroom rules, net benefit by cost term, verdict, breakevens.

The strategies (``load_following``, ``battery_shaped``, ``both``) are defined in
:mod:`wattbit.studies.cells`; modes are the case's ``grid.mode`` values. Every cell's net benefit
is taken against ``load_following`` under ``type2_fixed`` (the seed's baseline), term by term.
The breakeven battery prices answer two questions, named apart (:mod:`wattbit.studies.breakeven`).

One unit convention: costs are annualised (JPY/yr) by the model; every energy KPI of the table is
annualised the same way (× 8760 h / horizon) and named ``…_mwh_per_year``; sizes are MW and MWh.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wattbit.case import MODES, load_case
from wattbit.inputs import build_inputs
from wattbit.plots import plot_dispatch
from wattbit.progress import Progress, silent
from wattbit.solve import SolverOptions
from wattbit.studies.breakeven import (
    QUESTIONS,
    Breakeven,
    PriceSolves,
    size_zero,
    vs_load_following,
)
from wattbit.studies.cells import (
    BASELINE,
    STRATEGIES,
    Cell,
    apply_strategy,
    catch_up_warning,
    check_choice,
    clean_size,
)
from wattbit.studies.plots import plot_benefit_by_term, plot_breakevens, plot_tornado
from wattbit.studies.sensitivity import Sensitivity, sensitivity

__all__ = ["STRATEGIES", "Comparison", "apply_strategy", "compare"]

MODES_DEFAULT = ("type2_fixed", "type2_dynamic", "type2_forecast", "firm")
SIZE_KPIS = ("battery_power_mw", "battery_energy_mwh")  # in every table: 0 for no battery
ENERGY_KPIS = (
    "dc_it_served_mwh",
    "dc_it_unserved_mwh",
    "dc_emergency_curtailed_mwh",
    "grid_import_mwh",
    "battery_losses_mwh",
)
HOURS_PER_YEAR = 8760.0


def per_year(kpis: dict[str, float], name: str) -> float:
    """An energy KPI of a horizon (MWh) annualised like the costs: × 8760 h / horizon."""
    return kpis.get(name, 0.0) * HOURS_PER_YEAR / kpis["horizon_h"]


@dataclass(frozen=True)
class PatternExceedance:
    """Where a fixed pattern promises more than the realised headroom, per year, and who pays."""

    hours_per_year: float
    energy_mwh_per_year: float
    max_mw: float
    planned_import_above_mwh_per_year: float  # what the DC's plan draws above H
    borne_by: str
    cost_jpy: float  # JPY/yr: to the DC (realised − planned cost) or to the grid (redispatch)


def pattern_exceedance(cell: Cell) -> PatternExceedance | None:
    """The exceedance of a ``type2_fixed`` cell's pattern over the realised headroom H on the
    horizon, annualised; ``None`` for other modes."""
    r = cell.run.results
    if cell.mode != "type2_fixed" or r is None:
        return None
    dt, scale = float(r.attrs["dt_h"]), HOURS_PER_YEAR / cell.run.kpis["horizon_h"]
    h = r["grid_headroom_mw"].values
    over = np.maximum(r["grid_import_limit_mw"].values - h, 0.0)
    borne = str(r.attrs.get("grid_pattern_exceedance_borne_by", "dc"))
    plan = r["plan_grid_import_mw" if "plan_grid_import_mw" in r else "grid_import_mw"].values
    above = float(np.maximum(plan - h, 0.0).sum()) * dt * scale
    if borne == "dc":
        cost = cell.total - float(r.attrs.get("plan_objective_jpy", cell.total))
    else:
        cost = above * float(r["grid_pattern_redispatch_cost_jpy_per_mwh"])
    return PatternExceedance(
        hours_per_year=float((over > 1e-9).sum()) * dt * scale,
        energy_mwh_per_year=float(over.sum()) * dt * scale,
        max_mw=float(over.max(initial=0.0)),
        planned_import_above_mwh_per_year=above,
        borne_by=borne,
        cost_jpy=cost,
    )


def _term_group(term: str) -> str:
    """Cost terms by meaning: lost compute is one term whichever block sheds it (the DC block
    for battery-shaped use, the workload-shift block for deferrable work)."""
    if term.endswith("lost_compute_jpy"):
        return "lost compute"
    return term.removeprefix("cost_").removesuffix("_jpy").replace("_", " ")


@dataclass
class Comparison:
    case: str
    cells: list[Cell]
    breakevens: list[Breakeven] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sensitivity: Sensitivity | None = None

    def cell(self, strategy: str, mode: str) -> Cell | None:
        return next((c for c in self.cells if (c.strategy, c.mode) == (strategy, mode)), None)

    @property
    def baseline(self) -> Cell | None:
        return self.cell(*BASELINE)

    def table(self) -> pd.DataFrame:
        """One row per cell: sizes, energies per year, every cost term, total, net benefit vs
        the baseline (all JPY/yr)."""
        terms = sorted({k for c in self.cells for k in c.costs})
        energies = [k for k in ENERGY_KPIS if any(k in c.run.kpis for c in self.cells)]
        rows = []
        base = self.baseline
        for c in self.cells:
            row: dict[str, Any] = {"strategy": c.strategy, "mode": c.mode}
            if "dc_size_mw" in c.run.kpis:
                row["dc_size_mw"] = c.run.kpis["dc_size_mw"]
            row.update({k: clean_size(c.run.kpis.get(k, 0.0)) for k in SIZE_KPIS})
            row.update({f"{k}_per_year": per_year(c.run.kpis, k) for k in energies})
            row.update({t: c.costs.get(t, 0.0) for t in terms})
            row["total_cost_jpy"] = c.total
            if base is not None:
                row["net_benefit_jpy"] = base.total - c.total
            over = pattern_exceedance(c)
            if over is not None:
                row.update({f"pattern_exceedance_{k}": v for k, v in asdict(over).items()})
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
        """Plain words for the seed's question; each figure says what it compares."""
        lines = [f"Warning: {w}." for w in self.warnings]
        lf_fixed, bs_fixed = (
            self.cell("load_following", "type2_fixed"),
            self.cell("battery_shaped", "type2_fixed"),
        )
        if lf_fixed and bs_fixed:
            lines += _versus(lf_fixed, bs_fixed)
        lines += [_breakeven_line(b) for b in self.breakevens]
        lines += _exceedance_lines([c for c in (lf_fixed, bs_fixed) if c is not None])
        bs_dyn = self.cell("battery_shaped", "type2_dynamic")
        if bs_fixed and bs_dyn:
            lines.append(
                f"Dynamic use of the true headroom with a battery would add "
                f"{bs_fixed.total - bs_dyn.total:,.0f} JPY/yr over battery-shaped use of the fixed "
                "pattern (perfect foresight)."
            )
        bs_fc = self.cell("battery_shaped", "type2_forecast")
        if bs_fixed and bs_fc:
            curtailed = per_year(bs_fc.run.kpis, "dc_emergency_curtailed_mwh")
            lines.append(
                f"With forecast error it adds {bs_fixed.total - bs_fc.total:,.0f} JPY/yr "
                f"({curtailed:,.1f} MWh/yr of emergency curtailment)."
            )
        lf_dyn = self.cell("load_following", "type2_dynamic")
        if lf_fixed and lf_dyn:
            lines.append(
                f"Load-following under the true headroom saves {lf_fixed.total - lf_dyn.total:,.0f} "
                "JPY/yr over the fixed pattern, without a battery."
            )
        if self.sensitivity is not None:
            lines.append(self.sensitivity.words())
        return "\n".join(lines)

    def records(self) -> dict[str, Any]:
        """The content of ``compare.json``."""
        return {
            "case": self.case,
            "units": "costs JPY/yr; energies MWh/yr (annualised like costs); sizes MW, MWh",
            "cells": self.table().to_dict(orient="records"),
            "breakevens": [b.record() for b in self.breakevens],
            "warnings": self.warnings,
            "sensitivity": (
                self.sensitivity.table().to_dict(orient="records") if self.sensitivity else None
            ),
            "verdict": self.verdict(),
        }

    def write(self, out: str | Path) -> list[Path]:
        """``compare.csv``, ``benefit_by_term.csv``, ``verdict.txt``, ``compare.json``,
        ``week.png`` (battery-shaped under the fixed pattern, else the first cell), and with a
        baseline and breakevens ``benefit.png`` and ``breakeven.png``, in ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / n for n in ("compare.csv", "benefit_by_term.csv", "verdict.txt")]
        paths.append(out / "compare.json")
        self.table().to_csv(paths[0], index=False)
        benefit = self.benefit_by_term()
        benefit.to_csv(paths[1], index=False)
        paths[2].write_text(self.verdict() + "\n")
        paths[3].write_text(json.dumps(self.records(), indent=2, default=float))
        week_cell = self.cell("battery_shaped", "type2_fixed") or self.cells[0]
        paths.append(plot_dispatch(week_cell.run.results, out / "week.png"))
        if not benefit.empty:
            paths.append(plot_benefit_by_term(benefit, out / "benefit.png"))
        if self.breakevens:
            paths.append(plot_breakevens(self.breakevens, out / "breakeven.png"))
        if self.sensitivity is not None:
            paths.append(out / "sensitivity.csv")
            self.sensitivity.table().to_csv(paths[-1], index=False)
            paths.append(plot_tornado(self.sensitivity, out / "tornado.png"))
        return paths


def _versus(lf: Cell, bs: Cell) -> list[str]:
    saving = lf.total - bs.total
    share = saving / lf.total if lf.total else math.nan
    who = "saves" if saving > 0 else "costs"
    terms: dict[str, float] = {}
    for t in set(lf.costs) | set(bs.costs):
        group = _term_group(t)
        terms[group] = terms.get(group, 0.0) + lf.costs.get(t, 0.0) - bs.costs.get(t, 0.0)
    big = sorted(terms.items(), key=lambda kv: -abs(kv[1]))[:3]
    return [
        f"Under the fixed pattern, battery-shaped use {who} {abs(saving):,.0f} JPY/yr "
        f"({abs(share):.1%}) {'over' if saving > 0 else 'more than'} load-following.",
        "Largest differences by cost term (+ = battery-shaped cheaper): "
        + "; ".join(f"{name} {v:+,.0f} JPY/yr" for name, v in big)
        + ".",
    ]


def _exceedance_lines(cells: list[Cell]) -> list[str]:
    lines = []
    for c in cells:
        over = pattern_exceedance(c)
        if over is None or over.energy_mwh_per_year <= 0:
            continue
        who = "the DC" if over.borne_by == "dc" else "the grid"
        lines.append(
            f"Out of sample, the fixed pattern exceeds the realised headroom {over.hours_per_year:,.0f}"
            f" h/yr by {over.energy_mwh_per_year:,.1f} MWh/yr (at most {over.max_mw:.2f} MW); "
            f"{c.strategy} plans to import {over.planned_import_above_mwh_per_year:,.1f} MWh/yr "
            f"above it, and {who} bears that: {over.cost_jpy:,.0f} JPY/yr."
        )
    return lines


def _breakeven_line(b: Breakeven) -> str:
    head = f"Breakeven battery energy price, {b.label} ({QUESTIONS[b.question]})"
    if b.cost_jpy_per_kwh is None:
        return f"{head}: none, {b.note}."
    return (
        f"{head}: {b.cost_jpy_per_kwh:,.0f} JPY/kWh (± {b.tolerance_jpy_per_kwh:,.0f}); {b.note}."
    )


def breakevens(
    solves: PriceSolves,
    strategies: Sequence[str],
    modes: Sequence[str],
    tolerance: float = 1e-3,
    progress: Progress | None = None,
) -> list[Breakeven]:
    """Both breakeven questions under each mode, for the strategies asked."""
    note = progress or silent
    found: list[Breakeven] = []
    for mode in modes:
        if "battery_shaped" in strategies and "load_following" in strategies:
            found.append(vs_load_following(solves, mode, tolerance, progress=note))
        for strategy in ("battery_shaped", "both"):
            if strategy in strategies:
                found.append(size_zero(solves, strategy, mode, tolerance, progress=note))
    return found


def solve_cells(
    case_path: Path,
    strategies: Sequence[str],
    modes: Sequence[str],
    overrides: dict[str, Any] | None,
    options: SolverOptions | None,
    progress: Progress | None = None,
    solves: PriceSolves | None = None,
) -> list[Cell]:
    """The cells of ``modes`` × ``strategies``, in that order, through ``solves`` (new if
    ``None``): each re-solved warm from the one before where its LP allows (``PriceSolves``)."""
    note = progress or silent
    solves = solves or PriceSolves(case_path, overrides, options)
    cells: list[Cell] = []
    for mode in modes:
        for strategy in strategies:
            note(
                f"solving {strategy} × {mode}", done=len(cells), total=len(modes) * len(strategies)
            )
            cells.append(Cell(strategy, mode, solves.run(strategy, mode)))
    return cells


def shares(
    modes: Sequence[str], breakeven_modes: Sequence[str], jobs: int
) -> tuple[list[str], list[str]]:
    """The modes whose cells this process solves and those a second process solves when
    ``jobs`` > 1: the breakeven modes stay here, where their bisections re-solve those cells' LPs
    warm, and the others go (with the defaults ``type2_forecast`` goes with ``type2_dynamic``,
    whose LP sizes its rolling horizon). No split when either share would be empty."""
    there = [m for m in modes if m not in breakeven_modes] if jobs > 1 else []
    here = [m for m in modes if m not in there]
    return (here, there) if here and there else (list(modes), [])


def compare(
    case_path: Path,
    strategies: Sequence[str] = STRATEGIES,
    modes: Sequence[str] = MODES_DEFAULT,
    overrides: dict[str, Any] | None = None,
    options: SolverOptions | None = None,
    breakeven_modes: Sequence[str] = ("type2_fixed",),
    breakeven_tolerance: float = 1e-3,
    progress: Progress | None = None,
    sensitivity_ranges: Mapping[str, tuple[float, float]] | None = None,
    jobs: int = 1,
) -> Comparison:
    """Solve the strategy × mode matrix (and the breakevens) of one case; with
    ``sensitivity_ranges`` (parameter → low, high factors; ``{}`` for the defaults) also the
    tornado of :mod:`wattbit.studies.sensitivity`. With ``jobs`` > 1 the cells of the modes
    without a breakeven are solved in a second process meanwhile (:func:`shares`); the answers
    are those of one process to the solver's tolerance (each cell starts from another basis)."""
    check_choice(strategies, STRATEGIES, "strategies")
    check_choice(modes, MODES, "modes")
    check_choice(breakeven_modes, MODES, "breakeven-modes")
    note = progress or silent
    warnings: list[str] = []
    for mode in modes:  # every cell is validated before the first solve
        loaded = load_case(case_path, {**(overrides or {}), "grid.mode": mode})
        inputs = build_inputs(loaded)
        for strategy in strategies:
            warning = catch_up_warning(apply_strategy(inputs, strategy, loaded.file))
            if warning and warning not in warnings:
                warnings.append(warning)
    solves = PriceSolves(case_path, overrides, options)
    here, there = shares(modes, breakeven_modes, jobs)
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) if there else nullcontext() as ex:
        elsewhere = (
            ex.submit(solve_cells, case_path, strategies, there, overrides, options) if ex else None
        )
        if there:
            note(f"solving the cells of {', '.join(there)} in a second process")
        cells = solve_cells(case_path, strategies, here, overrides, options, progress, solves)
        found = breakevens(solves, strategies, breakeven_modes, breakeven_tolerance, progress)
        if elsewhere:
            note(f"waiting for the cells of {', '.join(there)}")
            cells += elsewhere.result()
    cells.sort(key=lambda c: (modes.index(c.mode), strategies.index(c.strategy)))
    comparison = Comparison(case=str(case_path), cells=cells, warnings=warnings)
    comparison.breakevens = found
    if sensitivity_ranges is not None:
        comparison.sensitivity = sensitivity(
            case_path, overrides, options, sensitivity_ranges, progress=progress, base=solves
        )
    return comparison
