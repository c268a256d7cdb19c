"""``wattbit headroom`` and ``wattbit compare``: the type ② questions on the command line."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import typer
from rich.table import Table

from wattbit.case import MODES, load_case
from wattbit.cli.common import CaseArg, SetOpt, err_console, fail, out_console, parse_assignment
from wattbit.errors import CaseError, SolveError
from wattbit.headroom import exceedance, headroom, operating_pattern, potential
from wattbit.plots import plot_benefit_by_term, plot_breakeven, plot_dispatch
from wattbit.solve import SolverOptions
from wattbit.studies.compare import STRATEGIES, Comparison, compare

OutOpt = Annotated[Path | None, typer.Option(help="folder for CSV, JSON and PNG outputs")]


def _split(text: str | None, default: tuple[str, ...]) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()] if text else list(default)


def headroom_cmd(
    case: CaseArg,
    set_: SetOpt = None,
    reference_weeks: Annotated[
        int | None,
        typer.Option(help="derive the pattern from the first N weeks, evaluate it on the rest"),
    ] = None,
    out: OutOpt = None,
) -> None:
    """Headroom H(t), the fixed operating pattern, their potential and the pattern's instability."""
    try:
        overrides = dict(parse_assignment(a) for a in set_ or [])
        loaded = load_case(case, overrides)
        if reference_weeks is not None:
            if reference_weeks <= 0:
                raise CaseError("--reference-weeks", str(reference_weeks), "must be positive")
            first = loaded.full_series.index[0]
            cut = first + timedelta(weeks=reference_weeks)
            if cut >= loaded.full_series.index[-1]:
                raise CaseError("--reference-weeks", str(reference_weeks), "leaves nothing to test")
            overrides |= {"grid.pattern.reference_end": cut.to_pydatetime()}
            loaded = load_case(case, overrides)
        h_full = headroom(loaded, full=True)
        pattern_full = operating_pattern(loaded, h_full.index)
    except CaseError as exc:
        raise fail(str(exc), 2) from None
    dt = float((h_full.index[1] - h_full.index[0]).total_seconds() / 3600)
    table = Table(title=f"{loaded.case.name}: headroom potential (whole series)")
    for col in ("limit", "MWh/yr", "MW usable all year", "mean MW"):
        table.add_column(col, justify="right" if col != "limit" else "left")
    for name, series in (("H(t), real-time use", h_full), ("fixed pattern", pattern_full)):
        p = potential(series)
        table.add_row(
            name,
            f"{p.energy_mwh_per_year:,.0f}",
            f"{p.usable_all_year_mw:,.2f}",
            f"{p.mean_mw:,.2f}",
        )
    out_console.print(table)
    by_hour = pd.DataFrame({"H": h_full.to_numpy(), "pattern": pattern_full.to_numpy()})
    by_hour["hour"] = h_full.index.hour
    summary = by_hour.groupby("hour").agg(
        pattern_mw=("pattern", "min"), h_min_mw=("H", "min"), h_median_mw=("H", "median")
    )
    hours = Table(title="by hour of day (MW)")
    for col in ("hour", "pattern (min)", "H min", "H median"):
        hours.add_column(col, justify="right")
    for hour, row in summary.iterrows():
        hours.add_row(
            f"{hour:02d}", f"{row.pattern_mw:.2f}", f"{row.h_min_mw:.2f}", f"{row.h_median_mw:.2f}"
        )
    out_console.print(hours)
    reference = loaded.case.grid.pattern
    if reference_weeks is not None:
        test = h_full.index >= pd.Timestamp(reference.reference_end)
        exc = exceedance(pattern_full[test].to_numpy(), h_full[test].to_numpy(), dt)
        dc = loaded.case.dc
        pue = float(np.mean(loaded.quantity("dc.pue", full=True)))
        lost = exc.energy_mwh / pue * dc.value_of_lost_compute_jpy_per_mwh
        out_console.print(
            f"Pattern from the first {reference_weeks} weeks, applied to the remaining "
            f"{test.sum() * dt:,.0f} h: it exceeds the real headroom in {exc.hours:,.0f} h by "
            f"{exc.energy_mwh:,.1f} MWh (at most {exc.max_mw:.2f} MW); a DC importing up to the "
            f"pattern would lose up to {lost:,.0f} JPY of compute there."
        )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        frame = pd.DataFrame(
            {
                "timestamp": h_full.index.map(pd.Timestamp.isoformat),
                "headroom_mw": h_full.to_numpy(),
                "pattern_mw": pattern_full.to_numpy(),
            }
        )
        frame.to_csv(out / "headroom.csv", index=False)
        _plot_headroom(h_full, pattern_full, summary, out / "headroom.png", loaded.case.name)
        out_console.print(f"wrote {out / 'headroom.csv'}, {out / 'headroom.png'}")


def _plot_headroom(
    h: pd.Series, pattern: pd.Series, summary: pd.DataFrame, path: Path, name: str
) -> None:
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 7))
    ax1.plot(h.index, h.to_numpy(), lw=0.4, color="black", label="headroom H(t)")
    ax1.plot(pattern.index, pattern.to_numpy(), lw=0.6, color="tab:red", label="fixed pattern")
    ax1.set_ylabel("MW")
    ax1.legend(fontsize=8, loc="upper right")
    ax1.set_title(f"{name}: headroom and the fixed operating pattern")
    groups = [h[h.index.hour == hour].to_numpy() for hour in range(24)]
    ax2.boxplot(groups, positions=range(24), widths=0.6, showfliers=False)
    ax2.step(
        range(24),
        summary["pattern_mw"].to_numpy(),
        where="mid",
        color="tab:red",
        label="pattern (per-hour minimum)",
    )
    ax2.set_xlabel("hour of day")
    ax2.set_ylabel("MW")
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _print_comparison(comparison: Comparison) -> None:
    table = Table(title=f"{comparison.case}: strategies × headroom rules (costs in MJPY/yr)")
    for col in (
        "strategy",
        "mode",
        "served MWh",
        "lost MWh",
        "battery MW",
        "battery MWh",
        "total",
        "net benefit",
    ):
        table.add_column(col, justify="left" if col in ("strategy", "mode") else "right")
    frame = comparison.table()
    for _, row in frame.iterrows():
        table.add_row(
            row["strategy"],
            row["mode"],
            f"{row['dc_it_served_mwh']:,.0f}",
            f"{row['dc_it_unserved_mwh']:,.1f}",
            f"{row['battery_power_mw']:.2f}",
            f"{row['battery_energy_mwh']:.2f}",
            f"{row['total_cost_jpy'] / 1e6:,.1f}",
            f"{row.get('net_benefit_jpy', float('nan')) / 1e6:+,.1f}",
        )
    out_console.print(table, width=max(out_console.width, 130))
    out_console.print(comparison.verdict())


def _write_comparison(comparison: Comparison, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        out / "compare.csv",
        out / "benefit_by_term.csv",
        out / "verdict.txt",
        out / "compare.json",
    ]
    comparison.table().to_csv(paths[0], index=False)
    benefit = comparison.benefit_by_term()
    benefit.to_csv(paths[1], index=False)
    paths[2].write_text(comparison.verdict() + "\n")
    payload = {
        "case": comparison.case,
        "cells": comparison.table().to_dict(orient="records"),
        "breakevens": [
            {
                "mode": b.mode,
                "battery_energy_cost_jpy_per_kwh": b.cost_jpy_per_kwh,
                "tolerance_jpy_per_kwh": b.tolerance_jpy_per_kwh,
                "note": b.note,
                "points": b.points,
            }
            for b in comparison.breakevens
        ],
        "verdict": comparison.verdict(),
    }
    paths[3].write_text(json.dumps(payload, indent=2, default=float))
    week_cell = comparison.cell("battery_shaped", "type2_fixed") or comparison.cells[0]
    paths.append(plot_dispatch(week_cell.run.results, out / "week.png"))
    if not benefit.empty:
        paths.append(plot_benefit_by_term(benefit, out / "benefit.png"))
    if comparison.breakevens:
        paths.append(
            plot_breakeven(
                {b.mode: b.points for b in comparison.breakevens},
                out / "breakeven.png",
                {b.mode: b.cost_jpy_per_kwh for b in comparison.breakevens},
            )
        )
    return paths


def compare_cmd(
    case: CaseArg,
    strategies: Annotated[
        str | None, typer.Option(help=f"comma list of {', '.join(STRATEGIES)}")
    ] = None,
    modes: Annotated[str | None, typer.Option(help=f"comma list of {', '.join(MODES)}")] = None,
    breakeven_modes: Annotated[
        str, typer.Option(help="modes for the breakeven battery cost ('' for none)")
    ] = "type2_fixed",
    breakeven_tol: Annotated[
        float, typer.Option(help="relative tolerance on the breakeven")
    ] = 1e-3,
    set_: SetOpt = None,
    time_limit: Annotated[float | None, typer.Option(help="solver time limit per solve, s")] = None,
    out: OutOpt = None,
) -> None:
    """Solve strategies × headroom rules; print the table and verdict; write CSV, JSON, PNGs."""
    try:
        overrides = dict(parse_assignment(a) for a in set_ or [])
        options = SolverOptions(time_limit_s=time_limit) if time_limit else None
        comparison = compare(
            case,
            strategies=_split(strategies, STRATEGIES),
            modes=_split(modes, ("type2_fixed", "type2_dynamic", "type2_forecast", "firm")),
            overrides=overrides,
            options=options,
            breakeven_modes=_split(breakeven_modes, ()),
            breakeven_tolerance=breakeven_tol,
            progress=lambda msg: err_console.print(f"[dim]{msg}[/]"),
        )
    except CaseError as exc:
        raise fail(str(exc), 2) from None
    except SolveError as exc:
        raise fail(str(exc), exc.exit_code) from None
    _print_comparison(comparison)
    if out is not None:
        paths = _write_comparison(comparison, out)
        out_console.print("wrote " + ", ".join(str(p) for p in paths))


def register(app: typer.Typer) -> None:
    app.command("headroom")(headroom_cmd)
    app.command("compare")(compare_cmd)
