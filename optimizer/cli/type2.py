"""``wattbit headroom`` and ``wattbit compare``: the type ② questions on the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from wattbit import api
from wattbit.cli.common import (
    CaseArg,
    SetOpt,
    check_out,
    exits,
    out_console,
    overrides,
    progress,
    solver_options,
)
from wattbit.errors import CaseError
from wattbit.modes import MODES
from wattbit.studies.cells import STRATEGIES

if TYPE_CHECKING:
    from wattbit.studies.compare import Comparison

OutOpt = Annotated[Path | None, typer.Option(help="folder for CSV, JSON and PNG outputs")]


RangeOpt = Annotated[
    str, typer.Option(help="LOW,HIGH multipliers of the case's value for --sensitivity")
]


def _ranges(**texts: str) -> dict[str, tuple[float, float]]:
    """``{parameter: (low, high)}`` from ``LOW,HIGH`` texts; a bad one is a one-line error."""
    ranges = {}
    for name, text in texts.items():
        flag = f"--range-{name.replace('_', '-')}"
        try:
            low, high = (float(v) for v in text.split(","))
        except ValueError:
            raise CaseError(flag, text, "expected LOW,HIGH, e.g. 0.5,1.5") from None
        if not 0 <= low <= high:
            raise CaseError(flag, text, "expected 0 ≤ LOW ≤ HIGH")
        ranges[name] = (low, high)
    return ranges


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
    with exits():
        check_out(out, case)
        study = api.headroom_study(case, overrides(set_), reference_weeks=reference_weeks)
    table = Table(title=f"{escape(study.name)}: headroom potential (whole series)")
    for col in ("limit", "MWh/yr", "MW usable all year", "mean MW"):
        table.add_column(col, justify="right" if col != "limit" else "left")
    for _, row in study.potentials().iterrows():
        table.add_row(
            row["limit"],
            f"{row['energy_mwh_per_year']:,.0f}",
            f"{row['usable_all_year_mw']:,.2f}",
            f"{row['mean_mw']:,.2f}",
        )
    out_console.print(table)
    hours = Table(title="by hour of day (MW)")
    for col in ("hour", "pattern (min)", "H min", "H median"):
        hours.add_column(col, justify="right")
    for hour, row in study.by_hour().iterrows():
        hours.add_row(
            f"{hour:02d}", f"{row.pattern_mw:.2f}", f"{row.h_min_mw:.2f}", f"{row.h_median_mw:.2f}"
        )
    out_console.print(hours)
    if (test := study.instability) is not None:
        exc, per_year = test.exceedance, 8760.0 / test.test_hours
        out_console.print(
            f"Pattern from the first {test.reference_weeks} weeks, applied to the remaining "
            f"{test.test_hours:,.0f} h: it exceeds the real headroom in {exc.hours:,.0f} h by "
            f"{exc.energy_mwh:,.1f} MWh (at most {exc.max_mw:.2f} MW), annualised "
            f"{exc.hours * per_year:,.0f} h/yr and {exc.energy_mwh * per_year:,.1f} MWh/yr; a DC "
            f"importing up to the pattern would lose up to {test.lost_compute_jpy:,.0f} JPY of "
            f"compute there ({test.lost_compute_jpy * per_year:,.0f} JPY/yr)."
        )
    if out is not None:
        csv, png = study.write(out)
        out_console.print(f"wrote {csv}, {png}")


def _print_comparison(comparison: Comparison) -> None:
    table = Table(
        title=f"{escape(comparison.case)}: strategies × headroom rules (costs in MJPY/yr)"
    )
    for col in (
        "strategy",
        "mode",
        "served MWh/yr",
        "lost MWh/yr",
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
            f"{row['dc_it_served_mwh_per_year']:,.0f}",
            f"{row['dc_it_unserved_mwh_per_year']:,.1f}",
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
    sensitivity: Annotated[
        bool, typer.Option(help="also a tornado: net benefit as each parameter moves alone")
    ] = False,
    range_lost_compute: RangeOpt = "0.5,1.5",
    range_battery_price: RangeOpt = "0.5,1.5",
    range_energy_price: RangeOpt = "0.5,1.5",
    set_: SetOpt = None,
    time_limit: Annotated[float | None, typer.Option(help="solver time limit per solve, s")] = None,
    out: OutOpt = None,
) -> None:
    """Solve strategies × headroom rules; print the table and verdict; write CSV, JSON, PNGs."""
    with exits():
        check_out(out, case)
        time_limit_s = solver_options(time_limit).get("time_limit_s")
        comparison = api.compare(
            case,
            overrides(set_),
            strategies=_split(strategies),
            modes=_split(modes),
            breakeven_modes=_split(breakeven_modes) or (),
            breakeven_tolerance=breakeven_tol,
            sensitivity_ranges=_ranges(
                lost_compute=range_lost_compute,
                battery_price=range_battery_price,
                energy_price=range_energy_price,
            )
            if sensitivity
            else None,
            time_limit_s=time_limit_s,
            progress=progress,
        )
    _print_comparison(comparison)
    if out is not None:
        paths = comparison.write(out)
        out_console.print("wrote " + ", ".join(str(p) for p in paths))


def register(app: typer.Typer) -> None:
    app.command("headroom")(headroom_cmd)
    app.command("compare")(compare_cmd)
