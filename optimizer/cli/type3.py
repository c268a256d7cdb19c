"""``wattbit ridethrough`` and ``wattbit connect``: the type ③ questions on the command line."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from wattbit import api
from wattbit.cli.common import (
    CaseArg,
    SetOpt,
    check_out,
    err_console,
    exits,
    out_console,
    parse_assignment,
    progress,
    solver_options,
)

if TYPE_CHECKING:
    from wattbit.studies.connection import Choice
    from wattbit.studies.ridethrough import RideThrough

OutOpt = Annotated[Path | None, typer.Option(help="folder for NetCDF, CSV, JSON and PNG outputs")]
ScenariosOpt = Annotated[int | None, typer.Option(help="number of scenarios K (type3.scenarios)")]
SeedOpt = Annotated[int | None, typer.Option(help="seed of the event sampling (type3.seed)")]
TimeOpt = Annotated[float | None, typer.Option(help="solver time limit per solve, s")]
CURVE_HOURS = (1, 2, 4, 8, 12, 24, 48, 60, 72, 168)
NO_SURVIVAL = (
    "survival: not estimated: in every scenario its own faults cut the margin over the whole "
    "horizon, so no step is left for a fault to start from; give a horizon longer than the faults "
    "sampled in it (e.g. a longer cut, or fewer scenarios holding a long failure)"
)


def _overrides(set_: list[str] | None, scenarios: int | None, seed: int | None) -> dict[str, Any]:
    overrides: dict[str, Any] = dict(parse_assignment(a) for a in set_ or [])
    if scenarios is not None:
        overrides["type3.scenarios"] = scenarios
    if seed is not None:
        overrides["type3.seed"] = seed
    return overrides


def _print_ride_through(study: RideThrough) -> None:
    run, costs, result = study.run, study.costs, study.survival
    for warning in study.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    k = run.kpis
    sizes = ", ".join(
        f"{label} {k[key]:,.2f} {unit}"
        for key, label, unit in (
            ("generator_power_mw", "generator", "MW"),
            ("ups_power_mw", "UPS", "MW"),
            ("battery_power_mw", "battery", "MW"),
            ("battery_energy_mwh", "battery", "MWh"),
        )
        if key in k
    )
    out_console.print(
        f"[bold]{escape(study.name)}[/]: {int(k['scenarios'])} scenarios; sizes: {sizes or 'none'}"
    )
    error = study.standard_error_jpy_per_year
    if not math.isnan(error):
        out_console.print(
            f"expected cost {k['total_cost_jpy'] / 1e6:,.1f} ± {error / 1e6:,.1f} MJPY/yr "
            "(one standard error of the scenario sample)"
        )
    table = Table(title="expected annual cost (MJPY/yr)")
    for col in ("term", "type ③", "firm", "ride-through"):
        table.add_column(col, justify="left" if col == "term" else "right")
    for _, row in costs.iterrows():
        table.add_row(
            row["term"],
            f"{row['type3_jpy_per_year'] / 1e6:,.1f}",
            f"{row['firm_jpy_per_year'] / 1e6:,.1f}",
            f"{row['ride_through_jpy_per_year'] / 1e6:+,.1f}",
        )
    out_console.print(table)
    out_console.print(f"ride-through cost: {study.cost_jpy_per_year / 1e6:,.1f} MJPY/yr")
    carried = Table(title="what carried the outages (per year; MWh, IT energy for the last three)")
    columns = [c for c in study.carried.columns if c != "kind"]
    carried.add_column("kind")
    for col in columns:
        carried.add_column(col.removesuffix("_mwh").replace("_", " "), justify="right")
    for _, row in study.carried.iterrows():
        carried.add_row(row["kind"], *(f"{row[c]:,.0f}" for c in columns))
    out_console.print(carried)
    fresh = study.out_of_sample
    if fresh is not None:
        out_console.print(
            f"out of sample ({len(fresh.year_costs_jpy)} fresh years, sizes fixed, plan + rule): "
            f"{fresh.mean_jpy / 1e6:,.1f} ± {fresh.standard_error_jpy / 1e6:,.1f} MJPY/yr against "
            f"{fresh.in_sample_jpy / 1e6:,.1f} in sample (gap {fresh.gap_jpy / 1e6:+,.1f}; the "
            f"same policy on the in-sample faults {fresh.in_sample_policy_jpy / 1e6:,.1f})"
        )
    curve = result.curve.set_index("duration_h")
    points = [h for h in CURVE_HOURS if h in curve.index]
    for column, label in (
        ("survival_probability", "P(survive ≥ d)"),
        ("survival_probability_normal", "  from normal operation"),
        ("survival_probability_maintenance", "  from inside maintenance"),
        ("full_service_probability", "P(full service ≥ d)"),
    ):
        if curve[column].notna().any():
            out_console.print(
                f"{label}: " + ", ".join(f"{h} h {curve.loc[h, column]:.3f}" for h in points)
            )
    if curve["survival_probability"].isna().all():
        out_console.print(NO_SURVIVAL)
    out_console.print(
        f"expected unserved IT energy from faults: {result.expected_unserved_mwh_per_year:,.1f} "
        f"MWh/yr (simulated rule); momentary faults {result.momentary_faults_per_year:.2f}/yr, "
        f"{'ridden by UPS/battery' if result.momentary_ridden else 'NOT ridden through'}"
    )


def ridethrough_cmd(
    case: CaseArg,
    set_: SetOpt = None,
    scenarios: ScenariosOpt = None,
    seed: SeedOpt = None,
    hours: Annotated[float | None, typer.Option(help="longest outage of the curve, h")] = None,
    time_limit: TimeOpt = None,
    out: OutOpt = None,
) -> None:
    """Type ③: size ride-through assets over K event scenarios; cost per year, survival curve."""
    with exits():
        check_out(out, case)
        study = api.ridethrough(
            case,
            _overrides(set_, scenarios, seed),
            time_limit_s=solver_options(time_limit).get("time_limit_s"),
            max_h=hours,
            progress=progress,
        )
    _print_ride_through(study)
    timing = ", ".join(f"{k} {v:.2f} s" for k, v in study.run.timings.items())
    out_console.print(f"time: {timing}")
    out_console.print(
        f"verifier: max violation {study.run.verification.max_violation:.2e} [green]ok[/]"
    )
    if out is not None:
        paths = study.write(out)
        out_console.print("wrote " + ", ".join(str(p) for p in paths))


def _print_choice(choice: Choice) -> None:
    table = Table(title="connection options: NPV over the analysis period (MJPY)")
    for col in ("option", "lead (yr)", "connection", "annual cost", "margin lost waiting", "NPV"):
        table.add_column(col, justify="left" if col == "option" else "right")
    for _, row in choice.table.iterrows():
        table.add_row(
            row["option"],
            f"{row['lead_time_years']:.2f}",
            f"{row['connection_cost_jpy'] / 1e6:,.0f}",
            f"{row['annual_cost_jpy'] / 1e6:,.0f}",
            f"{row['lost_margin_while_waiting_jpy'] / 1e6:,.0f}",
            f"{row['npv_jpy'] / 1e6:,.0f}",
        )
    out_console.print(table, width=max(out_console.width, 120))
    out_console.print(choice.verdict())
    if choice.sensitivity is not None:
        sens = Table(title="sensitivity: firm lead time × margin (NPV, MJPY)")
        for col in ("firm lead (yr)", "margin (JPY/kWh)", "best option", "best NPV", "type ③ gain"):
            sens.add_column(col, justify="left" if col == "best option" else "right")
        for _, row in choice.sensitivity.iterrows():
            sens.add_row(
                f"{row['firm_lead_time_years']:g}",
                f"{row['margin_jpy_per_mwh'] / 1000:g}",
                row["best_option"],
                f"{row['best_npv_jpy'] / 1e6:,.0f}",
                f"{row['type3_gain_over_waiting_jpy'] / 1e6:+,.0f}",
            )
        out_console.print(sens, width=max(out_console.width, 120))


def connect_cmd(
    case: CaseArg,
    set_: SetOpt = None,
    scenarios: ScenariosOpt = None,
    seed: SeedOpt = None,
    time_limit: TimeOpt = None,
    out: OutOpt = None,
) -> None:
    """NPV of waiting for a firm connection vs type ③ / type ② now (and split blocks)."""
    with exits():
        check_out(out, case)
        time_limit_s = solver_options(time_limit).get("time_limit_s")
        choice = api.connect(
            case, _overrides(set_, scenarios, seed), time_limit_s=time_limit_s, progress=progress
        )
    _print_choice(choice)
    if out is not None:
        paths = choice.write(out)
        out_console.print("wrote " + ", ".join(str(p) for p in paths))


def register(app: typer.Typer) -> None:
    app.command("ridethrough")(ridethrough_cmd)
    app.command("connect")(connect_cmd)
