"""``wattbit headroom`` and ``wattbit compare``: the type ② questions on the command line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import pandas as pd
import typer
from rich.table import Table

from wattbit import api
from wattbit.case import MODES, load_case
from wattbit.cli.common import (
    CaseArg,
    SetOpt,
    exits,
    fail,
    out_console,
    overrides,
    parse_assignment,
    progress,
)
from wattbit.errors import CaseError
from wattbit.headroom import exceedance, headroom, operating_pattern, potential
from wattbit.studies.compare import STRATEGIES
from wattbit.studies.plots import plot_headroom

if TYPE_CHECKING:
    from wattbit.studies.compare import Comparison

OutOpt = Annotated[Path | None, typer.Option(help="folder for CSV, JSON and PNG outputs")]


def _split(text: str | None) -> list[str] | None:
    """A comma list; None (the API's default) when not given."""
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


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
        plot_headroom(h_full, pattern_full, summary, out / "headroom.png", loaded.case.name)
        out_console.print(f"wrote {out / 'headroom.csv'}, {out / 'headroom.png'}")


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
    with exits():
        comparison = api.compare(
            case,
            overrides(set_),
            strategies=_split(strategies),
            modes=_split(modes),
            breakeven_modes=_split(breakeven_modes) or (),
            breakeven_tolerance=breakeven_tol,
            time_limit_s=time_limit,
            progress=progress,
        )
    _print_comparison(comparison)
    if out is not None:
        paths = comparison.write(out)
        out_console.print("wrote " + ", ".join(str(p) for p in paths))


def register(app: typer.Typer) -> None:
    app.command("headroom")(headroom_cmd)
    app.command("compare")(compare_cmd)
