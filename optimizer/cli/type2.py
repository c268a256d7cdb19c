"""``wattbit headroom`` and ``wattbit compare``: the type ② questions on the command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wattbit import api
from wattbit.cli.common import (
    CaseArg,
    Column,
    Format,
    FormatOpt,
    Output,
    SetOpt,
    check_out,
    escape,
    exits,
    message,
    output,
    overrides,
    progress_bar,
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


# Short names for the 80-column table; CSV and JSON keep the API's names.
STRATEGY_SHORT = {"load_following": "load-follow", "battery_shaped": "batt-shaped"}
MODE_SHORT = {"type2_fixed": "fixed", "type2_dynamic": "dynamic", "type2_forecast": "forecast"}
MJPY = 1e6

POTENTIAL_COLUMNS = (
    Column("limit", "limit", left=True),
    Column("energy_mwh_per_year", "MWh/yr", "{:,.0f}"),
    Column("usable_all_year_mw", "MW usable all year", "{:,.2f}"),
    Column("mean_mw", "mean MW", "{:,.2f}"),
)
HOUR_COLUMNS = (
    Column("hour", "hour", "{:02.0f}"),
    Column("pattern_mw", "pattern (min) MW", "{:.2f}"),
    Column("h_min_mw", "H min MW", "{:.2f}"),
    Column("h_median_mw", "H median MW", "{:.2f}"),
)
COMPARE_COLUMNS = (
    Column("strategy", "strategy", lambda s: STRATEGY_SHORT.get(s, s), left=True),
    Column("mode", "rule", lambda m: MODE_SHORT.get(m, m), left=True),
    Column("dc_it_served_mwh_per_year", "served\nMWh/yr", "{:,.0f}"),
    Column("dc_it_unserved_mwh_per_year", "lost\nMWh/yr", "{:,.1f}"),
    Column("battery_power_mw", "battery\nMW", "{:.2f}"),
    Column("battery_energy_mwh", "battery\nMWh", "{:.2f}"),
    Column("total_cost_jpy", "total\nMJPY/yr", "{:,.1f}", MJPY),
    Column("net_benefit_jpy", "benefit\nMJPY/yr", "{:+,.1f}", MJPY),
)


def headroom_cmd(
    case: CaseArg,
    set_: SetOpt = None,
    reference_weeks: Annotated[
        int | None,
        typer.Option(help="derive the pattern from the first N weeks, evaluate it on the rest"),
    ] = None,
    out: OutOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Headroom H(t), the fixed operating pattern, their potential and the pattern's instability."""
    with exits():
        check_out(out, case)
        study = api.headroom_study(case, overrides(set_), reference_weeks=reference_weeks)
    with output(fmt) as shown:
        potentials = study.potentials().to_dict(orient="records")
        title = f"{escape(study.name)}: headroom potential (whole series)"
        shown.table("potential", title, POTENTIAL_COLUMNS, potentials)
        hours = study.by_hour().rename_axis("hour").reset_index().to_dict(orient="records")
        shown.table("by_hour", "by hour of day", HOUR_COLUMNS, hours)
        if (test := study.instability) is not None:
            exc, per_year = test.exceedance, 8760.0 / test.test_hours
            shown.line(
                f"Pattern from the first {test.reference_weeks} weeks, applied to the remaining "
                f"{test.test_hours:,.0f} h: it exceeds the real headroom in {exc.hours:,.0f} h by "
                f"{exc.energy_mwh:,.1f} MWh (at most {exc.max_mw:.2f} MW), annualised "
                f"{exc.hours * per_year:,.0f} h/yr and {exc.energy_mwh * per_year:,.1f} MWh/yr; "
                f"a DC importing up to the pattern would lose up to {test.lost_compute_jpy:,.0f} "
                f"JPY of compute there ({test.lost_compute_jpy * per_year:,.0f} JPY/yr)."
            )
        if out is not None:
            csv, png = study.write(out)
            message(f"wrote {escape(str(csv))}, {escape(str(png))}")


def _print_comparison(comparison: Comparison, shown: Output) -> None:
    title = f"{escape(comparison.case)}: strategies × headroom rules"
    rows = comparison.table().to_dict(orient="records")
    shown.table("cells", title, COMPARE_COLUMNS, rows)
    shown.line(escape(comparison.verdict()))


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
    jobs: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="2: the cells of the modes without a breakeven in a second process "
            "[default: 2 on a machine with 2 cores or more]",
        ),
    ] = None,
    out: OutOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Solve strategies × headroom rules; print the table and verdict; write CSV, JSON, PNGs."""
    from wattbit.sweep.run import local_cores

    with exits(), progress_bar() as progress:
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
            jobs=jobs or min(2, local_cores()),
        )
    with output(fmt) as shown:
        _print_comparison(comparison, shown)
        if out is not None:
            paths = comparison.write(out)
            message("wrote " + ", ".join(escape(str(p)) for p in paths))


def register(app: typer.Typer) -> None:
    app.command("headroom")(headroom_cmd)
    app.command("compare")(compare_cmd)
