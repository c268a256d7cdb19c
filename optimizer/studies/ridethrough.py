"""Outage survival (REopt-style simulator) and the ride-through cost of a type ③ connection.

**Simulator.** For every start step ``s`` at which scenario ``k`` is in normal operation (no event
cuts the margin) and every duration up to D steps, an unannounced fault cuts the margin to the
fault residual from the start of step ``s``. The site then runs a fixed rule, step by step,
without knowing how long the fault lasts:

1. the IT load to serve is the DC's inflexible load; if the grid's residual and the generator
   (started, with fuel) cannot carry it, less what has been shut down once the shutdown notice
   has passed (down to the protected share ψ) and less what has migrated once the migration
   notice has passed (never the protected share); facility load = IT × PUE;
2. it is met, in order, by the grid's residual (firm part + fault residual), the generator (once
   its start delay has passed, while fuel lasts; refuelling per the rule after its delay), the
   battery (from its **optimised state of charge at the end of step s−1** of scenario k, down to
   its SoC floor) and the UPS (from full);
3. the step **survives** if the protected load ``ψ · L_t · PUE_t`` is met (ψ = 1 without a
   ``[shutdown]`` table); unserved energy is the IT energy of the load to serve that is not met.

The survival time of a start is the number of steps until the first that does not survive; its
time at full service counts the steps until the first in which the whole load is not served here
or migrated (a shutdown or any unserved energy ends it).
``P(survive ≥ d)`` is the share of starts (weighted by scenario probability; scenarios cut at
every step have no start and no weight) whose survival time is at least d. Expected unserved energy per year takes every non-momentary fault of every
scenario, at a uniformly random start instead of its sampled one:
``Σ_k p_k Σ_{e∈k} mean_s U_s(n_e) / years``, with ``U_s(n)`` the unserved IT energy over the first
n steps from s and ``n_e`` the steps the event cuts. The horizon wraps around (a year is cyclic).

**Ride-through cost.** The expected annual cost of type ③ less the cost of the same site on a
firm connection of the full capacity (firm part + margin) without ride-through assets, per term.

**Study.** :func:`ride_through` runs the whole question for a case file: the stochastic solve over
its K scenarios, the firm reference, the survival curve and the cost by term, in a
:class:`RideThrough` that writes the files of ``wattbit ridethrough --out``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wattbit.case import load_case
from wattbit.inputs import build_inputs
from wattbit.n1 import HOURS_PER_YEAR, after_delay
from wattbit.optimise import Run, options_from_case
from wattbit.report import write_results
from wattbit.strategies import solve, stochastic
from wattbit.studies import checked
from wattbit.studies.plots import plot_survival

RIDE_THROUGH = ("generator_", "ups_", "shutdown_", "migration_", "type3_", "event_", "scenario")
PROTECTED_TOL_MW = 1e-6
STARTS_PER_CHUNK = 1024


@dataclass(frozen=True, eq=False)
class Outcome:
    """Per start: survival time and time at full service (steps: the protected load, the whole
    load here or migrated), and cumulative unserved IT energy (MWh) after each step."""

    survived_steps: np.ndarray
    full_service_steps: np.ndarray
    unserved_mwh: np.ndarray
    fuel_used_mwh: np.ndarray


def _scalar(ds: xr.Dataset, name: str, default: float = 0.0) -> float:
    return float(ds[name]) if name in ds else default


def simulate(site: xr.Dataset, starts: np.ndarray, steps: int) -> Outcome:
    """Run the rule of the module doc on one scenario's result from each of ``starts``."""
    n, dt = site.sizes["time"], float(site.attrs["dt_h"])
    share = _scalar(site, "dc_deferrable_share")
    load = site["dc_it_mw"].values * (1.0 - share)
    pue = site["dc_pue"].values
    margin = _scalar(site, "type3_margin_mw")
    residual = _scalar(site, "type3_firm_mw") + np.clip(
        site["type3_fault_residual_mw"].values, 0.0, margin
    )
    protected = _scalar(site, "shutdown_protected_share", 1.0)
    sd_after = after_delay(steps, _scalar(site, "shutdown_notice_h"), dt)
    if "shutdown_protected_share" not in site:
        sd_after[:] = 0.0
    mig_cap = _scalar(site, "migration_capacity_it_mw")
    mig_after = after_delay(steps, _scalar(site, "migration_notice_h"), dt)

    gen_p = _scalar(site, "generator_power_mw")
    tank = _scalar(site, "generator_fuel_tank_h") * gen_p
    gen_after = after_delay(steps, _scalar(site, "generator_start_delay_h"), dt)
    refuel = (
        _scalar(site, "generator_refuel_rate_fraction")
        * gen_p
        * after_delay(steps, _scalar(site, "generator_refuel_delay_h"), dt)
    )
    fuel = np.full(len(starts), tank)
    burnt = np.zeros(len(starts))

    if "battery_soc_mwh" in site:
        soc = np.concatenate(
            ([_scalar(site, "battery_soc_initial_mwh")], site["battery_soc_mwh"].values)
        )
        battery = soc[starts]
        floor = _scalar(site, "battery_soc_min_fraction") * _scalar(site, "battery_energy_mwh")
        bat_p, bat_eta = (
            _scalar(site, "battery_power_mw"),
            _scalar(site, "battery_discharge_efficiency", 1.0),
        )
    else:
        battery, floor, bat_p, bat_eta = np.zeros(len(starts)), 0.0, 0.0, 1.0
    ups_p = _scalar(site, "ups_power_mw")
    ups = np.full(len(starts), _scalar(site, "ups_autonomy_minutes") / 60.0 * ups_p)
    ups_eta = _scalar(site, "ups_discharge_efficiency", 1.0)

    alive = np.ones(len(starts), dtype=bool)
    full_alive = np.ones(len(starts), dtype=bool)
    survived = np.zeros(len(starts), dtype=int)
    full_service = np.zeros(len(starts), dtype=int)
    unserved = np.zeros((steps, len(starts)))
    total = np.zeros(len(starts))
    for r in range(steps):
        t = (starts + r) % n
        full = load[t] * pue[t]
        sustained = residual[t] + np.where(fuel + refuel[r] * dt > 0, gen_p * gen_after[r], 0.0)
        short = sustained < full - PROTECTED_TOL_MW
        it = load[t] * (1.0 - np.where(short, sd_after[r], 0.0) * (1.0 - protected))
        moved = np.minimum(mig_cap * mig_after[r], np.maximum(it - protected * load[t], 0.0))
        moved = np.where(short, moved, 0.0)
        it = it - moved
        need = it * pue[t]
        rest = np.maximum(need - residual[t], 0.0)
        gen = np.minimum.reduce(
            [np.full(len(t), gen_p * gen_after[r]), rest, fuel / dt + refuel[r]]
        )
        fuel = np.minimum(fuel + (refuel[r] - gen) * dt, tank)
        burnt = burnt + gen * dt
        rest = rest - gen
        bat = np.minimum.reduce(
            [np.full(len(t), bat_p), rest, np.maximum(battery - floor, 0.0) * bat_eta / dt]
        )
        battery = battery - bat * dt / bat_eta
        rest = rest - bat
        up = np.minimum.reduce([np.full(len(t), ups_p), rest, ups * ups_eta / dt])
        ups = ups - up * dt / ups_eta
        rest = rest - up
        ok = need - rest >= protected * load[t] * pue[t] - PROTECTED_TOL_MW
        alive &= ok
        survived += alive
        full_alive &= need - rest + moved * pue[t] >= full - PROTECTED_TOL_MW
        full_service += full_alive
        total = total + rest / pue[t] * dt
        unserved[r] = total
    return Outcome(survived, full_service, unserved, burnt)


@dataclass
class Survival:
    """The survival curve and expected unserved energy of a stochastic result."""

    curve: pd.DataFrame
    expected_unserved_mwh_per_year: float
    momentary_faults_per_year: float
    momentary_ridden: bool


def _normal_starts(site: xr.Dataset) -> np.ndarray:
    cut = np.zeros(site.sizes["time"])
    for name in ("type3_fault_cut", "type3_maintenance_cut"):
        if name in site:
            cut = np.maximum(cut, site[name].values)
    return np.flatnonzero(cut == 0)


def survival(results: xr.Dataset, max_h: float | None = None) -> Survival:
    """Survival curve ``P(survive ≥ d)`` for d = 1 … ``max_h`` hours and expected unserved energy
    per year (module doc), over every scenario of a stochastic result."""
    dt = float(results.attrs["dt_h"])
    horizon_years = results.sizes["time"] * dt / HOURS_PER_YEAR
    max_h = max_h if max_h is not None else _scalar(results, "type3_survival_max_h", 72.0)
    curve_steps = int(np.ceil(max_h / dt))
    p = stochastic.probabilities(results)
    momentary_max = _scalar(results, "type3_momentary_max_h")
    events = _event_table(results)
    faults = events[(events.kind == "fault") & (events.steps > 0)]
    hours = np.arange(1, curve_steps + 1) * dt
    probability = np.zeros(curve_steps)
    full_service = np.zeros(curve_steps)
    weight = 0.0
    mean_unserved = np.zeros(curve_steps)
    eue = 0.0
    for k in range(stochastic.scenario_count(results)):
        site = stochastic.site_slice(results, k)
        starts = _normal_starts(site)
        if len(starts) == 0:  # cut all along (e.g. a horizon inside a maintenance window)
            continue
        weight += p[k]
        mine = faults[faults.scenario == k]
        steps = max(curve_steps, int(mine.steps.max()) if len(mine) else 0)
        survived, full, mean = np.zeros(0), np.zeros(0), np.zeros(steps)
        for chunk in np.array_split(starts, max(1, len(starts) // STARTS_PER_CHUNK)):
            outcome = simulate(site, chunk, steps)  # chunks bound the (steps × starts) array
            survived = np.concatenate((survived, outcome.survived_steps * dt))
            full = np.concatenate((full, outcome.full_service_steps * dt))
            mean += outcome.unserved_mwh.sum(axis=1) / max(len(starts), 1)
        probability += p[k] * np.array([np.mean(survived >= h - 1e-9) for h in hours])
        full_service += p[k] * np.array([np.mean(full >= h - 1e-9) for h in hours])
        mean_unserved += p[k] * mean[:curve_steps]
        eue += p[k] * float(sum(mean[s - 1] for s in mine.steps)) / horizon_years
    momentary = events[(events.kind == "fault") & (events.duration_h < momentary_max)]
    weights = np.array([p[s] for s in momentary.scenario]) if len(momentary) else np.zeros(0)
    curve = pd.DataFrame(
        {
            "duration_h": hours,
            "survival_probability": probability / weight if weight else np.nan,
            "full_service_probability": full_service / weight if weight else np.nan,
            "expected_unserved_it_mwh": mean_unserved / weight if weight else np.nan,
        }
    )
    return Survival(
        curve=curve,
        expected_unserved_mwh_per_year=eue,
        momentary_faults_per_year=float(weights.sum()) / horizon_years,
        momentary_ridden=_rides_momentary(results, momentary_max),
    )


def _event_table(results: xr.Dataset) -> pd.DataFrame:
    if "event_kind" not in results:
        return pd.DataFrame(columns=["scenario", "kind", "duration_h", "steps"])
    return pd.DataFrame(
        {
            "scenario": results["event_scenario"].values,
            "kind": results["event_kind"].values,
            "duration_h": results["event_duration_h"].values,
            "steps": results["event_steps"].values,
        }
    )


def _rides_momentary(results: xr.Dataset, momentary_max_h: float) -> bool:
    """Whether the UPS or the battery carries the protected facility load through a momentary
    fault at every step (power and energy)."""
    site = stochastic.site_slice(results, 0)
    share = _scalar(site, "dc_deferrable_share")
    protected = _scalar(site, "shutdown_protected_share", 1.0)
    peak = float((site["dc_it_mw"] * (1.0 - share) * site["dc_pue"]).max()) * protected
    ups_p = _scalar(site, "ups_power_mw")
    ups_energy = _scalar(site, "ups_autonomy_minutes") / 60.0 * ups_p
    if ups_p >= peak - PROTECTED_TOL_MW and ups_energy >= peak * momentary_max_h:
        return True
    return _scalar(site, "battery_power_mw") >= peak - PROTECTED_TOL_MW and peak > 0


def firm_reference_inputs(inputs: xr.Dataset) -> xr.Dataset:
    """The same site on a firm connection of firm part + margin, without ride-through assets."""
    site = stochastic.scenario_inputs(inputs, 0)
    capacity = _scalar(site, "type3_firm_mw") + _scalar(site, "type3_margin_mw")
    drop = [str(v) for v in site.variables if str(v).startswith(RIDE_THROUGH)]
    ds = site.drop_vars(drop)
    ds["grid_import_limit_mw"] = ("time", np.full(ds.sizes["time"], capacity), {"units": "MW"})
    ds["grid_firm_capacity_mw"] = ((), capacity, {"units": "MW"})
    ds.attrs["grid_mode"] = "firm"
    return ds


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
            "kpis": self.run.kpis,
            "timings_s": self.run.timings,
        }

    def plot(self, path: Path) -> Path:
        """The survival curve as a PNG."""
        return plot_survival(self.survival, path, f"{self.name}: outage survival")

    def write(self, out: Path) -> list[Path]:
        """``results.nc``, ``kpis.csv``, ``kpis.json``, ``survival.csv``,
        ``ride_through_cost.csv``, ``survival.png`` and ``ride_through.json`` in ``out``."""
        paths = write_results(self.run.results, self.run.kpis, out)
        curve_csv, costs_csv = out / "survival.csv", out / "ride_through_cost.csv"
        self.survival.curve.to_csv(curve_csv, index=False)
        self.costs.to_csv(costs_csv, index=False)
        png = self.plot(out / "survival.png")
        summary = out / "ride_through.json"
        summary.write_text(json.dumps(self.summary(), indent=2))
        return [*paths, curve_csv, costs_csv, png, summary]


def ride_through(
    case_path: Path,
    overrides: Mapping[str, Any] | None = None,
    time_limit_s: float | None = None,
    max_h: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> RideThrough:
    """Solve a case under ``type3_n1`` over its scenarios and its firm reference (each must solve
    and verify, else :class:`~wattbit.errors.SolveError`); survival up to ``max_h`` hours
    (default ``type3.survival_max_h``) and the cost by term."""
    note = progress or (lambda _: None)
    loaded = load_case(case_path, {**(overrides or {}), "grid.mode": "type3_n1"})
    options = options_from_case(loaded, time_limit_s=time_limit_s)
    inputs = build_inputs(loaded)
    note(f"solving {loaded.case.type3.scenarios} scenarios")
    run = checked(stochastic.solve_stochastic(inputs, options), f"{case_path}: type ③")
    note("solving the firm reference")
    firm = checked(solve(firm_reference_inputs(inputs), options), f"{case_path}: firm reference")
    return RideThrough(
        name=loaded.case.name,
        run=run,
        firm=firm,
        survival=survival(run.results, max_h),
        costs=cost_by_term(run.kpis, firm.kpis),
    )
