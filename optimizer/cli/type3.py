"""``wattbit ridethrough`` and ``wattbit connect``: the type ③ questions on the command line."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import matplotlib.pyplot as plt
import pandas as pd
import typer
from rich.table import Table

from wattbit.case import load_case
from wattbit.cli.common import CaseArg, SetOpt, err_console, fail, out_console, parse_assignment
from wattbit.errors import CaseError, SolveError
from wattbit.inputs import build_inputs
from wattbit.optimise import Run, options_from_case
from wattbit.report import write_results
from wattbit.solve import EXIT_CODES, SolverOptions
from wattbit.strategies import solve
from wattbit.strategies.stochastic import solve_stochastic, standard_error
from wattbit.studies.connection import Choice, connection_choice
from wattbit.studies.ridethrough import Survival, cost_by_term, firm_reference_inputs, survival

OutOpt = Annotated[Path | None, typer.Option(help="folder for NetCDF, CSV, JSON and PNG outputs")]
ScenariosOpt = Annotated[int | None, typer.Option(help="number of scenarios K (type3.scenarios)")]
SeedOpt = Annotated[int | None, typer.Option(help="seed of the event sampling (type3.seed)")]
TimeOpt = Annotated[float | None, typer.Option(help="solver time limit per solve, s")]
CURVE_HOURS = (1, 2, 4, 8, 12, 24, 48, 60, 72, 168)


def _overrides(set_: list[str] | None, scenarios: int | None, seed: int | None) -> dict[str, Any]:
    overrides: dict[str, Any] = dict(parse_assignment(a) for a in set_ or [])
    if scenarios is not None:
        overrides["type3.scenarios"] = scenarios
    if seed is not None:
        overrides["type3.seed"] = seed
    overrides["grid.mode"] = "type3_n1"
    return overrides


def _solved(run: Run, what: str) -> Run:
    if not run.ok:
        raise SolveError(
            f"{what}: {run.solution.status}: {run.solution.message}",
            EXIT_CODES[run.solution.status],
        )
    if not run.verification.ok:
        raise SolveError(f"{what}: verifier found a violation ({run.verification.worst})", 7)
    return run


def plot_survival(result: Survival, path: Path, title: str) -> Path:
    curve = result.curve
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    ax1.step(
        curve["duration_h"],
        curve["survival_probability"],
        where="post",
        color="tab:blue",
        label="protected load kept",
    )
    ax1.step(
        curve["duration_h"],
        curve["full_service_probability"],
        where="post",
        color="tab:blue",
        ls=":",
        label="whole load served (here or migrated)",
    )
    ax1.legend(fontsize=8)
    ax1.set_ylim(-0.02, 1.02)
    ax1.set_ylabel("P(survive ≥ d)")
    ax1.set_title(title)
    ax2.plot(curve["duration_h"], curve["expected_unserved_it_mwh"], color="tab:red")
    ax2.set_ylabel("mean unserved IT MWh")
    ax2.set_xlabel("outage duration d (h)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _print_ride_through(name: str, run: Run, costs: pd.DataFrame, result: Survival) -> None:
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
    out_console.print(f"[bold]{name}[/]: {int(k['scenarios'])} scenarios; sizes: {sizes or 'none'}")
    error = standard_error(run.results)
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
    total = costs.loc[costs["term"] == "total_cost_jpy", "ride_through_jpy_per_year"].iloc[0]
    out_console.print(f"ride-through cost: {total / 1e6:,.1f} MJPY/yr")
    curve = result.curve.set_index("duration_h")
    points = [h for h in CURVE_HOURS if h in curve.index]
    for column, label in (
        ("survival_probability", "P(survive ≥ d)"),
        ("full_service_probability", "P(full service ≥ d)"),
    ):
        out_console.print(
            f"{label}: " + ", ".join(f"{h} h {curve.loc[h, column]:.3f}" for h in points)
        )
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
    try:
        loaded = load_case(case, _overrides(set_, scenarios, seed))
        options = options_from_case(loaded, time_limit_s=time_limit)
        inputs = build_inputs(loaded)
        err_console.print(f"[dim]solving {loaded.case.type3.scenarios} scenarios[/]")
        run = _solved(solve_stochastic(inputs, options), f"{case}: type ③")
        err_console.print("[dim]solving the firm reference[/]")
        firm = _solved(solve(firm_reference_inputs(inputs), options), f"{case}: firm reference")
    except CaseError as exc:
        raise fail(str(exc), 2) from None
    except SolveError as exc:
        raise fail(str(exc), exc.exit_code) from None
    result = survival(run.results, hours)
    costs = cost_by_term(run.kpis, firm.kpis)
    _print_ride_through(loaded.case.name, run, costs, result)
    timing = ", ".join(f"{k} {v:.2f} s" for k, v in run.timings.items())
    out_console.print(f"time: {timing}")
    out_console.print(f"verifier: max violation {run.verification.max_violation:.2e} [green]ok[/]")
    if out is not None:
        paths = write_results(run.results, run.kpis, out)
        curve_csv, costs_csv = out / "survival.csv", out / "ride_through_cost.csv"
        result.curve.to_csv(curve_csv, index=False)
        costs.to_csv(costs_csv, index=False)
        png = plot_survival(result, out / "survival.png", f"{loaded.case.name}: outage survival")
        summary = out / "ride_through.json"
        total = costs.loc[costs["term"] == "total_cost_jpy", "ride_through_jpy_per_year"]
        summary.write_text(
            json.dumps(
                {
                    "ride_through_cost_jpy_per_year": float(total.iloc[0]),
                    "expected_cost_standard_error_jpy_per_year": standard_error(run.results),
                    "expected_unserved_it_mwh_per_year": result.expected_unserved_mwh_per_year,
                    "momentary_faults_per_year": result.momentary_faults_per_year,
                    "momentary_ridden": result.momentary_ridden,
                    "kpis": run.kpis,
                    "timings_s": run.timings,
                },
                indent=2,
            )
        )
        paths += [curve_csv, costs_csv, png, summary]
        out_console.print("wrote " + ", ".join(str(p) for p in paths))


def _print_choice(choice: Choice) -> None:
    table = Table(title="connection options: NPV over the analysis period (MJPY)")
    for col in ("option", "lead (yr)", "connection", "annual cost", "lost while waiting", "NPV"):
        table.add_column(col, justify="left" if col == "option" else "right")
    for _, row in choice.table.iterrows():
        table.add_row(
            row["option"],
            f"{row['lead_time_years']:.2f}",
            f"{row['connection_cost_jpy'] / 1e6:,.0f}",
            f"{row['annual_cost_jpy'] / 1e6:,.0f}",
            f"{row['lost_revenue_while_waiting_jpy'] / 1e6:,.0f}",
            f"{row['npv_jpy'] / 1e6:,.0f}",
        )
    out_console.print(table, width=max(out_console.width, 120))
    out_console.print(choice.verdict())


def connect_cmd(
    case: CaseArg,
    set_: SetOpt = None,
    scenarios: ScenariosOpt = None,
    seed: SeedOpt = None,
    time_limit: TimeOpt = None,
    out: OutOpt = None,
) -> None:
    """NPV of waiting for a firm connection vs type ③ / type ② now (and split blocks)."""
    try:
        overrides = _overrides(set_, scenarios, seed)
        options = SolverOptions(time_limit_s=time_limit) if time_limit else None
        choice = connection_choice(
            case, overrides, options, lambda msg: err_console.print(f"[dim]{msg}[/]")
        )
    except CaseError as exc:
        raise fail(str(exc), 2) from None
    except SolveError as exc:
        raise fail(str(exc), exc.exit_code) from None
    _print_choice(choice)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        csv = out / "connect.csv"
        choice.table.to_csv(csv, index=False)
        (out / "connect.txt").write_text(choice.verdict() + "\n")
        out_console.print(f"wrote {csv}, {out / 'connect.txt'}")


def register(app: typer.Typer) -> None:
    app.command("ridethrough")(ridethrough_cmd)
    app.command("connect")(connect_cmd)
