"""The ride-through cost of a type ③ connection, and the study that answers it for a case.

The survival curves come from :mod:`wattbit.studies.survival`.

**Ride-through cost.** The expected annual cost of type ③ less the cost of the same site on a
firm connection of the full capacity (firm part + margin) without ride-through assets, per term.

**What carried each kind of outage** (:func:`carried_by`): per year, weighted by scenario
probability, over the steps a fault cuts and those only planned maintenance cuts, the hours, the
IT demand, and how it was met or lost: grid (the residual), generator, battery (net discharge),
UPS, migration, graceful shutdown, abrupt loss (MWh; IT energy for the last three, facility
energy for the sources).

**Warnings** (:func:`horizon_warnings`) for a horizon shorter than a year: when planned
maintenance fills a share of it more than 1.5 times away from its share of a year (listed
windows at full length, listed maintenance events over the scenarios, plus
``maintenance_per_year`` × duration), annual figures weight it by
that ratio; when the scenarios' faults a year (weighted) stray more than 1.5 times from the
fault model's rate; and, for any horizon, when no scenario draws a fault that cuts the margin.

**Study.** :func:`ride_through` runs the whole question for a case file: the stochastic solve over
its K scenarios, the firm reference, the survival curve, the cost by term, what carried each
kind of outage and the sizes operated on fresh years (:mod:`wattbit.studies.out_of_sample`), in a
:class:`RideThrough` that writes the files of ``wattbit ridethrough --out``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wattbit import n1
from wattbit.case import LoadedCase, load_case
from wattbit.errors import CaseError
from wattbit.inputs import build_inputs
from wattbit.n1 import HOURS_PER_YEAR
from wattbit.optimise import Run, options_from_case
from wattbit.progress import Progress, silent
from wattbit.report import write_results
from wattbit.strategies import solve, stochastic
from wattbit.strategies.benders import METHODS, solve_scenarios
from wattbit.strategies.scenario_pool import ScenarioEngine
from wattbit.studies import checked
from wattbit.studies.out_of_sample import OutOfSample, out_of_sample
from wattbit.studies.plots import plot_survival
from wattbit.studies.survival import Survival, survival

KINDS = ("fault", "maintenance")
RIDE_THROUGH = ("generator_", "ups_", "shutdown_", "migration_", "type3_", "event_", "scenario")


def firm_reference_inputs(inputs: xr.Dataset) -> xr.Dataset:
    """The same site on a firm connection of firm part + margin, without ride-through assets."""
    site = stochastic.scenario_inputs(inputs, 0)
    capacity = float(site["type3_firm_mw"]) + float(site["type3_margin_mw"])
    drop = [str(v) for v in site.variables if str(v).startswith(RIDE_THROUGH)]
    ds = site.drop_vars(drop)
    ds["grid_import_limit_mw"] = ("time", np.full(ds.sizes["time"], capacity), {"units": "MW"})
    ds["grid_firm_capacity_mw"] = ((), capacity, {"units": "MW"})
    ds.attrs["grid_mode"] = "firm"
    return ds


CARRIED = (
    ("grid_mwh", "grid_import_mw", 1.0),
    ("generator_mwh", "generator_output_mw", 1.0),
    ("battery_mwh", "battery_discharge_mw", 1.0),
    ("battery_mwh", "battery_charge_mw", -1.0),
    ("ups_mwh", "ups_discharge_mw", 1.0),
    ("ups_mwh", "ups_charge_mw", -1.0),
    ("migrated_it_mwh", "migration_it_mw", 1.0),
    ("shutdown_it_mwh", "shutdown_it_mw", 1.0),
    ("lost_it_mwh", "dc_shed_it_mw", 1.0),
)


def carried_by(results: xr.Dataset) -> pd.DataFrame:
    """Per kind of outage (``fault``, ``maintenance``): hours a year and how its energy was met
    or lost, MWh a year, weighted by scenario probability (module doc)."""
    p = stochastic.probabilities(results)
    dt = float(results.attrs["dt_h"])
    alpha = 8760.0 / (results.sizes["time"] * dt)
    rows = {kind: dict.fromkeys(["hours_per_year", "it_demand_mwh"], 0.0) for kind in KINDS}
    for k in range(stochastic.scenario_count(results)):
        site = stochastic.site_slice(results, k)
        fault = site["type3_fault_cut"].values > 0
        masks = {"fault": fault, "maintenance": (site["type3_maintenance_cut"].values > 0) & ~fault}
        it = site["dc_it_mw"].values * (1.0 - float(site.get("dc_deferrable_share", 0.0)))
        for kind, mask in masks.items():
            row = rows[kind]
            row["hours_per_year"] += p[k] * alpha * dt * float(mask.sum())
            row["it_demand_mwh"] += p[k] * alpha * dt * float(it[mask].sum())
            for column, name, sign in CARRIED:
                if name in site:
                    flow = float(site[name].values[mask].sum())
                    row[column] = row.get(column, 0.0) + sign * p[k] * alpha * dt * flow
    return pd.DataFrame([{"kind": kind, **row} for kind, row in rows.items()])


WEIGHT_RATIO = 1.5


def _off(ratio: float) -> bool:
    return not 1.0 / WEIGHT_RATIO <= ratio <= WEIGHT_RATIO


def _events(results: xr.Dataset) -> list[tuple[int, str, int]]:
    """(scenario, kind, steps cut) of every event of a result."""
    if "event_kind" not in results:
        return []
    columns = ("event_scenario", "event_kind", "event_steps")
    rows = zip(*(results[c].values for c in columns), strict=True)
    return [(int(k), str(kind), int(n)) for k, kind, n in rows]


def horizon_warnings(loaded: LoadedCase, results: xr.Dataset) -> list[str]:
    """What makes this horizon's annual figures unlike a year's (module doc), in words."""
    t3 = loaded.case.type3
    dt = float(results.attrs["dt_h"])
    hours = results.sizes["time"] * dt
    p = stochastic.probabilities(results)
    out = []
    if hours < HOURS_PER_YEAR - 1e-9:
        windows = sum((w.end - w.start).total_seconds() / 3600.0 for w in t3.maintenance)
        windows += sum(e.duration_h for e in t3.events if e.kind == n1.MAINTENANCE) / t3.scenarios
        year_share = min(
            1.0, (windows + t3.maintenance_per_year * t3.maintenance_duration_h) / HOURS_PER_YEAR
        )
        cut = [
            stochastic.site_slice(results, k)["type3_maintenance_cut"].values for k in range(len(p))
        ]
        here = float(np.dot(p, [c.mean() for c in cut]))
        if (year_share > 0 or here > 0) and (year_share == 0 or _off(here / year_share)):
            weight = f"×{here / year_share:.2g}" if year_share > 0 else "without limit"
            out.append(
                f"planned maintenance fills {here:.0%} of this {hours:g} h horizon but "
                f"{year_share:.1%} of a year: annual figures weight it {weight}"
            )
        rate, _ = n1.fault_model(t3)
        drawn = sum(p[k] for k, kind, _ in _events(results) if kind == n1.FAULT)
        per_year = drawn * HOURS_PER_YEAR / hours
        if rate > 0 and drawn > 0 and _off(per_year / rate):
            out.append(
                f"the scenarios draw {per_year:.3g} faults a year (weighted) against the fault "
                f"model's {rate:.3g}: annual figures weight faults ×{per_year / rate:.2g}"
            )
    if not any(kind == n1.FAULT and n > 0 for _, kind, n in _events(results)):
        out.append(
            "no scenario draws a fault that cuts the margin: the ride-through cost covers planned "
            "maintenance only (lengthen the horizon, raise K, or sample stratified)"
        )
    return out


def cost_by_term(type3: dict[str, float], firm: dict[str, float]) -> pd.DataFrame:
    """Expected annual cost of type ③ vs firm, per cost term, and the difference (ride-through)."""
    terms = [*sorted({k for k in (*type3, *firm) if k.startswith("cost_")}), "total_cost_jpy"]
    return pd.DataFrame(
        {
            "term": terms,
            "type3_jpy_per_year": [type3.get(t, 0.0) for t in terms],
            "firm_jpy_per_year": [firm.get(t, 0.0) for t in terms],
            "ride_through_jpy_per_year": [type3.get(t, 0.0) - firm.get(t, 0.0) for t in terms],
        }
    )


@dataclass
class RideThrough:
    """A type ③ ride-through study of one case (module doc)."""

    name: str
    run: Run  # the stochastic problem over the K scenarios
    firm: Run  # the same site on a firm connection of firm part + margin, no ride-through assets
    survival: Survival
    costs: pd.DataFrame  # cost_by_term(run, firm)
    carried: pd.DataFrame  # carried_by(run.results)
    out_of_sample: OutOfSample | None = None  # sizes on fresh years (type3.out_of_sample_years)
    warnings: list[str] = field(default_factory=list)  # horizon_warnings

    @property
    def kpis(self) -> dict[str, float]:
        return self.run.kpis

    @property
    def results(self) -> xr.Dataset:
        return self.run.results

    @property
    def cost_jpy_per_year(self) -> float:
        """The ride-through cost: expected total cost of type ③ less the firm reference's."""
        total = self.costs.loc[self.costs["term"] == "total_cost_jpy", "ride_through_jpy_per_year"]
        return float(total.iloc[0])

    @property
    def standard_error_jpy_per_year(self) -> float:
        """One standard error of the expected cost over the scenario sample (NaN for K = 1)."""
        return stochastic.standard_error(self.run.results)

    def summary(self) -> dict[str, Any]:
        """The content of ``ride_through.json``."""
        return {
            "ride_through_cost_jpy_per_year": self.cost_jpy_per_year,
            "expected_cost_standard_error_jpy_per_year": self.standard_error_jpy_per_year,
            "expected_unserved_it_mwh_per_year": self.survival.expected_unserved_mwh_per_year,
            "momentary_faults_per_year": self.survival.momentary_faults_per_year,
            "momentary_ridden": self.survival.momentary_ridden,
            "warnings": self.warnings,
            "carried_by": self.carried.to_dict(orient="records"),
            "out_of_sample": self.out_of_sample.summary() if self.out_of_sample else None,
            "kpis": self.run.kpis,
            "timings_s": self.run.timings,
        }

    def plot(self, path: Path) -> Path:
        """The survival curve as a PNG, titled with K, the horizon and the protected share."""
        r = self.run.results
        hours = r.sizes["time"] * float(r.attrs["dt_h"])
        share = float(r["shutdown_protected_share"]) if "shutdown_protected_share" in r else 1.0
        title = (
            f"{self.name}: outage survival\nK = {int(self.kpis['scenarios'])} scenarios, "
            f"{hours:,.0f} h horizon, protected share {share:.0%}"
        )
        return plot_survival(self.survival, path, title)

    def write(self, out: str | Path) -> list[Path]:
        """``results.nc``, ``kpis.csv``, ``kpis.json``, ``survival.csv``,
        ``ride_through_cost.csv``, ``carried_by.csv``, ``survival.png`` and
        ``ride_through.json`` in ``out``."""
        out = Path(out)
        paths = write_results(self.run.results, self.run.kpis, out)
        curve_csv, costs_csv = out / "survival.csv", out / "ride_through_cost.csv"
        carried_csv = out / "carried_by.csv"
        self.survival.curve.to_csv(curve_csv, index=False)
        self.costs.to_csv(costs_csv, index=False)
        self.carried.to_csv(carried_csv, index=False)
        png = self.plot(out / "survival.png")
        summary = out / "ride_through.json"
        summary.write_text(json.dumps(self.summary(), indent=2))
        return [*paths, curve_csv, costs_csv, carried_csv, png, summary]


def ride_through(
    case_path: Path,
    overrides: Mapping[str, Any] | None = None,
    time_limit_s: float | None = None,
    max_h: float | None = None,
    progress: Progress | None = None,
    method: str = "benders",
    engine: ScenarioEngine | None = None,
) -> RideThrough:
    """Solve a case under ``type3_n1`` over its scenarios and its firm reference (each must solve
    and verify, else :class:`~wattbit.errors.SolveError`); survival up to ``max_h`` hours
    (default ``type3.survival_max_h``) and the cost by term. ``method`` solves the scenarios by
    decomposition (``benders``, on ``engine``'s workers) or as one extensive form
    (:func:`wattbit.strategies.benders.solve_scenarios`)."""
    note = progress or silent
    if method not in METHODS:
        raise CaseError(
            str(case_path), "--method", f"{method!r}: choose one of {', '.join(METHODS)}"
        )
    loaded = load_case(case_path, {**(overrides or {}), "grid.mode": "type3_n1"})
    options = options_from_case(loaded, time_limit_s=time_limit_s)
    inputs = build_inputs(loaded)
    years = loaded.case.type3.out_of_sample_years
    steps = 3 if years > 0 else 2
    scenarios = f"solving {loaded.case.type3.scenarios} scenarios"
    note(scenarios, done=0, total=steps)

    def iteration(message: str, /, *, done: int | None = None, total: int | None = None) -> None:
        note(f"{scenarios}: {message}", done=0, total=steps)

    run = checked(
        solve_scenarios(inputs, options, method, engine, report=iteration), f"{case_path}: type ③"
    )
    note("solving the firm reference", done=1, total=steps)
    firm = checked(solve(firm_reference_inputs(inputs), options), f"{case_path}: firm reference")
    fresh = None
    if years > 0:
        note(f"operating the sizes on {years} fresh years", done=2, total=steps)
        fresh = out_of_sample(loaded, inputs, run, options, years, engine)
    return RideThrough(
        name=loaded.case.name,
        run=run,
        firm=firm,
        survival=survival(run.results, max_h),
        costs=cost_by_term(run.kpis, firm.kpis),
        carried=carried_by(run.results),
        out_of_sample=fresh,
        warnings=horizon_warnings(loaded, run.results),
    )
