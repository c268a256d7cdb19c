"""``wattbit ridethrough`` and ``wattbit connect``: the type ③ questions on the command line."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
    err_console,
    escape,
    exits,
    message,
    output,
    parse_assignment,
    progress_bar,
    solver_options,
)

if TYPE_CHECKING:
    from wattbit.studies.connection import Choice
    from wattbit.studies.ridethrough import RideThrough

OutOpt = Annotated[Path | None, typer.Option(help="folder for NetCDF, CSV, JSON and PNG outputs")]
ScenariosOpt = Annotated[int | None, typer.Option(help="number of scenarios K (type3.scenarios)")]
SeedOpt = Annotated[int | None, typer.Option(help="seed of the event sampling (type3.seed)")]
TimeOpt = Annotated[float | None, typer.Option(help="solver time limit per solve, s")]
MJPY = 1e6
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


COST_COLUMNS = (
    Column(
        "term",
        "term",
        lambda t: t.removeprefix("cost_").removesuffix("_jpy").replace("_", " "),
        left=True,
    ),
    Column("type3_jpy_per_year", "type ③", "{:,.1f}", MJPY),
    Column("firm_jpy_per_year", "firm", "{:,.1f}", MJPY),
    Column("ride_through_jpy_per_year", "ride-through", "{:+,.1f}", MJPY),
)
OPTION_COLUMNS = (
    Column("option", "option", left=True),
    Column("lead_time_years", "lead\nyr", "{:.2f}"),
    Column("connection_cost_jpy", "connection\nMJPY", "{:,.0f}", MJPY),
    Column("annual_cost_jpy", "annual cost\nMJPY", "{:,.0f}", MJPY),
    Column("lost_margin_while_waiting_jpy", "margin lost\nwaiting MJPY", "{:,.0f}", MJPY),
    Column("npv_jpy", "NPV\nMJPY", "{:,.0f}", MJPY),
)
SENSITIVITY_COLUMNS = (
    Column("firm_lead_time_years", "firm lead\nyr", "{:g}"),
    Column("margin_jpy_per_mwh", "margin\nJPY/kWh", "{:g}", 1000.0),
    Column("best_option", "best option", left=True),
    Column("best_npv_jpy", "best NPV\nMJPY", "{:,.0f}", MJPY),
    Column("type3_gain_over_waiting_jpy", "type ③ gain\nMJPY", "{:+,.0f}", MJPY),
)
CURVES = (
    ("survival_probability", "P(survive ≥ d)"),
    ("survival_probability_normal", "  from normal operation"),
    ("survival_probability_maintenance", "  from inside maintenance"),
    ("full_service_probability", "P(full service ≥ d)"),
)


def _print_ride_through(study: RideThrough, shown: Output) -> None:
    run, costs, result = study.run, study.costs, study.survival
    for warning in study.warnings:
        err_console().print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
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
    shown.line(
        f"[bold]{escape(study.name)}[/]: {int(k['scenarios'])} scenarios; sizes: {sizes or 'none'}"
    )
    error = study.standard_error_jpy_per_year
    if not math.isnan(error):
        shown.line(
            f"expected cost {k['total_cost_jpy'] / 1e6:,.1f} ± {error / 1e6:,.1f} MJPY/yr "
            "(one standard error of the scenario sample)"
        )
    rows = costs.to_dict(orient="records")
    shown.table("costs", "expected annual cost (MJPY/yr)", COST_COLUMNS, rows)
    shown.line(f"ride-through cost: {study.cost_jpy_per_year / 1e6:,.1f} MJPY/yr")
    title = "what carried the outages (per year; MWh, IT energy for the last three)"
    if shown.format is Format.table:  # one row per carrier, a column per kind: 80 columns
        frame = study.carried.set_index("kind").T
        kinds = [Column(str(kind), str(kind), "{:,.1f}") for kind in frame.columns]
        rows = [
            {"carrier": name.removesuffix("_mwh").replace("_", " "), **row}
            for name, row in frame.to_dict(orient="index").items()
        ]
        shown.table("carried_by", title, [Column("carrier", "", left=True), *kinds], rows)
    else:
        shown.data("carried_by", study.carried.to_dict(orient="records"))
    fresh = study.out_of_sample
    if fresh is not None:
        shown.line(
            f"out of sample ({len(fresh.year_costs_jpy)} fresh years, sizes fixed, plan + rule): "
            f"{fresh.mean_jpy / 1e6:,.1f} ± {fresh.standard_error_jpy / 1e6:,.1f} MJPY/yr against "
            f"{fresh.in_sample_jpy / 1e6:,.1f} in sample (gap {fresh.gap_jpy / 1e6:+,.1f}; the "
            f"same policy on the in-sample faults {fresh.in_sample_policy_jpy / 1e6:,.1f})"
        )
    curve = result.curve.set_index("duration_h")
    points = [h for h in CURVE_HOURS if h in curve.index]
    for column, label in CURVES:
        if curve[column].notna().any():
            shown.line(
                f"{label}: " + ", ".join(f"{h} h {curve.loc[h, column]:.3f}" for h in points)
            )
    shown.data(
        "survival", result.curve.loc[result.curve["duration_h"].isin(points)].to_dict("records")
    )
    if curve["survival_probability"].isna().all():
        shown.line(NO_SURVIVAL)
    shown.line(
        f"expected unserved IT energy from faults: {result.expected_unserved_mwh_per_year:,.1f} "
        f"MWh/yr (simulated rule); momentary faults {result.momentary_faults_per_year:.2f}/yr, "
        f"{'ridden by UPS/battery' if result.momentary_ridden else 'NOT ridden through'}"
    )
    if "scenario_survival_required" in run.results:  # a chance-constrained service level (K4)
        held = run.results["scenario_survival_required"].values
        weight = float((run.results["scenario_probability"].values * held).sum())
        shown.line(
            f"service level: the protected load kept through the first "
            f"{float(run.results['type3_min_survival_h']):g} h of every fault in scenarios "
            f"{', '.join(str(i) for i in held.nonzero()[0])} (weight {weight:.3f} ≥ P = "
            f"{float(run.results['type3_min_survival_probability']):g})"
        )


def ridethrough_cmd(
    case: CaseArg,
    set_: SetOpt = None,
    scenarios: ScenariosOpt = None,
    seed: SeedOpt = None,
    hours: Annotated[float | None, typer.Option(help="longest outage of the curve, h")] = None,
    time_limit: TimeOpt = None,
    out: OutOpt = None,
    fmt: FormatOpt = Format.table,
    method: Annotated[
        str, typer.Option(help="benders (L-shaped, scenarios in parallel) or extensive")
    ] = "benders",
    jobs: Annotated[int, typer.Option(min=1, help="local processes for the scenarios")] = 1,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address for the scenarios")
    ] = None,
    dask_local: Annotated[
        int | None, typer.Option(min=1, help="a Dask LocalCluster of N workers for the scenarios")
    ] = None,
) -> None:
    """Type ③: size ride-through assets over K event scenarios; cost per year, survival curve."""
    with exits(), progress_bar() as progress:
        check_out(out, case)
        study = api.ridethrough(
            case,
            _overrides(set_, scenarios, seed),
            time_limit_s=solver_options(time_limit).get("time_limit_s"),
            max_h=hours,
            progress=progress,
            method=method,
            jobs=jobs,
            scheduler=scheduler,
            dask_local=dask_local,
        )
    with output(fmt) as shown:
        _print_ride_through(study, shown)
        message("time: " + ", ".join(f"{k} {v:.2f} s" for k, v in study.run.timings.items()))
        violation = study.run.verification.max_violation
        shown.line(f"verifier: max violation {violation:.2e} [green]ok[/]")
        if out is not None:
            paths = study.write(out)
            message("wrote " + ", ".join(escape(str(p)) for p in paths))


def _print_choice(choice: Choice, shown: Output) -> None:
    title = "connection options: NPV over the analysis period (MJPY)"
    shown.table("options", title, OPTION_COLUMNS, choice.table.to_dict(orient="records"))
    shown.line(escape(choice.verdict()))
    if choice.sensitivity is not None:
        title = "sensitivity: firm lead time × margin (NPV, MJPY)"
        rows = choice.sensitivity.to_dict(orient="records")
        shown.table("sensitivity", title, SENSITIVITY_COLUMNS, rows)


def connect_cmd(
    case: CaseArg,
    set_: SetOpt = None,
    scenarios: ScenariosOpt = None,
    seed: SeedOpt = None,
    time_limit: TimeOpt = None,
    out: OutOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """NPV of waiting for a firm connection vs type ③ / type ② now (and split blocks)."""
    with exits(), progress_bar() as progress:
        check_out(out, case)
        time_limit_s = solver_options(time_limit).get("time_limit_s")
        choice = api.connect(
            case, _overrides(set_, scenarios, seed), time_limit_s=time_limit_s, progress=progress
        )
    with output(fmt) as shown:
        _print_choice(choice, shown)
        if out is not None:
            paths = choice.write(out)
            message("wrote " + ", ".join(escape(str(p)) for p in paths))


def register(app: typer.Typer) -> None:
    app.command("ridethrough")(ridethrough_cmd)
    app.command("connect")(connect_cmd)
