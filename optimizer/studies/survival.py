"""Outage survival of a type ③ result: a rule-based simulator in the manner of REopt's.

**Starts.** Every step ``s`` of scenario ``k`` that none of the scenario's own faults cuts: normal
operation and planned maintenance alike. From each start an unannounced fault cuts the margin for
up to D steps. The site runs a fixed rule, step by step, without knowing how long the fault lasts.

**Rule** (at each step t of the outage, r steps after its start):

1. *Grid.* The import limit is ``firm + min(margin, fault residual)``, and inside a maintenance
   window of the scenario ``firm + min(margin, fault residual, maintenance residual)``.
2. *Load.* The IT load to serve is the DC's inflexible load. While grid, PV and the generator
   (started, with fuel and running hours left) carry the whole load, they serve it. When they
   cannot, the site acts at once, as the optimised dispatch may: the link takes what it can of
   the movable share once the migration notice has passed (the unprotected share ``1 − ψ``:
   the protected share stays on site, R5; the whole load without a ``[shutdown]`` table), the
   protected share ``ψ L_t`` stays, and the unprotected rest is served only from the grid's
   residual and PV; what they do not carry is shut down gracefully once the shutdown notice has
   passed, shed abruptly before. Inside a maintenance window both notices count as passed (both
   are planned); what is ready stays ready for the rest of the outage. Facility load = IT × PUE.
3. *Sources,* in order: grid, PV (its available output, ``availability × capacity``), then for
   the protected share (the whole load while the site is not short) the generator (after its
   start delay, or at once inside a maintenance window it is permitted to run through; while
   fuel lasts, refuelled only by contracted deliveries after their lead time; at most
   ``max_run_h_per_event`` hours at rated power), the battery (down to its SoC floor), the UPS:
   fuel, battery and UPS are kept for the protected share once the site is short. PV beyond the
   load charges the battery (as in REopt); the generator and grid do not.
4. *Initial state:* the battery starts from its **optimised state of charge at the end of step
   s − 1** of scenario k (its initial SoC at s = 0). The fuel tank and the UPS start full: both
   are refilled without limit where no fault cuts (the tank by ``wattbit.n1``'s rule), and the
   optimisation, which prices fuel when burned and UPS energy only when it is used, is
   indifferent to their level between the events it sees, so its states there say nothing.
5. The step **survives** if the protected load ``ψ · L_t · PUE_t`` is met (ψ = 1 without a
   ``[shutdown]`` table); unserved energy is the IT energy of the load to serve not met.

The survival time of a start is the number of steps until the first that does not survive; its
time at full service counts the steps until the first in which the whole load is not served here
or migrated (a shutdown or any unserved energy ends it). ``P(survive ≥ d)`` is the share of starts
(weighted by scenario probability, each scenario's starts equally) whose survival time is at
least d: over the year, over the starts in normal operation, and over those inside maintenance.
Expected unserved energy per year takes every fault of every scenario that cuts the margin, at a
uniformly random start instead of its sampled one: ``Σ_k p_k Σ_{e∈k} mean_s U_s(n_e) / years``,
with ``U_s(n)`` the unserved IT energy over the first n steps from s and ``n_e`` the steps the
event cuts. The horizon wraps around (a year is cyclic).

**Against REopt's outage simulator** (``simulate_outages``, REopt.jl): both start an outage at
every step, take the battery's optimised SoC at the start, serve the critical load from PV, the
generator and the battery and charge the battery from surplus PV only. Here, in addition: the
grid may keep a residual; the load is the whole load while grid, PV and the generator carry it
(REopt serves only the critical load throughout); migration; the UPS; a generator start delay,
contracted refuelling and a running-hour cap (REopt: a fuel volume, no refuelling, a minimum turndown this
LP-based model does not have); maintenance windows change the residual and the notices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from wattbit.n1 import HOURS_PER_YEAR, after_delay
from wattbit.strategies import stochastic

PROTECTED_TOL_MW = 1e-6
STARTS_PER_CHUNK = 1024
GROUPS = ("year", "normal", "maintenance")


@dataclass(frozen=True, eq=False)
class Outcome:
    """Per start: survival time and time at full service (steps: the protected load, the whole
    load here or migrated), and cumulative unserved IT energy (MWh) after each step."""

    survived_steps: np.ndarray
    full_service_steps: np.ndarray
    unserved_mwh: np.ndarray
    fuel_used_mwh: np.ndarray
    trace: dict[str, np.ndarray] | None = None  # (steps × starts) flows, see simulate()


def _scalar(ds: xr.Dataset, name: str, default: float = 0.0) -> float:
    return float(ds[name]) if name in ds else default


def _series(ds: xr.Dataset, name: str) -> np.ndarray:
    return ds[name].values if name in ds else np.zeros(ds.sizes["time"])


def _state_before(ds: xr.Dataset, name: str, initial: float, starts: np.ndarray) -> np.ndarray:
    """The optimised state at the end of step s − 1 (``initial`` at s = 0) for each start."""
    if name not in ds:
        return np.full(len(starts), initial)
    return np.concatenate(([initial], ds[name].values))[starts]


TRACED = ("grid_mw", "generator_mw", "shutdown_it_mw", "migrated_it_mw", "unserved_it_mw")


def simulate(site: xr.Dataset, starts: np.ndarray, steps: int, trace: bool = False) -> Outcome:
    """Run the rule of the module doc on one scenario's result from each of ``starts``. With
    ``trace``, the outcome also holds each step's flows (``TRACED``, MW) and the battery's
    energy at the end of each step (``battery_mwh``), each ``(steps × starts)``."""
    n, dt = site.sizes["time"], float(site.attrs["dt_h"])
    share = _scalar(site, "dc_deferrable_share")
    load = site["dc_it_mw"].values * (1.0 - share)
    pue = site["dc_pue"].values
    margin = _scalar(site, "type3_margin_mw")
    planned = _series(site, "type3_maintenance_cut") > 0
    residual = np.clip(_series(site, "type3_fault_residual_mw"), 0.0, margin)
    maint = np.clip(_series(site, "type3_maintenance_residual_mw"), 0.0, margin)
    grid = _scalar(site, "type3_firm_mw") + np.where(planned, np.minimum(residual, maint), residual)
    pv = _series(site, "pv_availability") * _scalar(site, "pv_capacity_mw")
    protected = _scalar(site, "shutdown_protected_share", 1.0)
    has_shutdown = "shutdown_protected_share" in site
    movable = 1.0 - protected if has_shutdown else 1.0  # what migration may move (R5)
    sd_after = after_delay(steps, _scalar(site, "shutdown_notice_h"), dt)
    mig_cap = _scalar(site, "migration_capacity_it_mw")
    mig_after = after_delay(steps, _scalar(site, "migration_notice_h"), dt)

    gen_p = _scalar(site, "generator_power_mw")
    tank = _scalar(site, "generator_fuel_tank_h") * gen_p
    gen_after = after_delay(steps, _scalar(site, "generator_start_delay_h"), dt)
    permit = _scalar(site, "generator_maintenance_permit")
    refuel = (
        _scalar(site, "generator_refuel_rate_fraction")
        * gen_p
        * after_delay(steps, _scalar(site, "generator_refuel_delay_h"), dt)
    )
    fuel = np.full(len(starts), tank)
    cap = _scalar(site, "generator_max_run_h_per_event", np.inf)
    run_left = np.full(len(starts), cap * gen_p if np.isfinite(cap) else np.inf)
    burnt = np.zeros(len(starts))

    bat_p = _scalar(site, "battery_power_mw")
    bat_e = _scalar(site, "battery_energy_mwh")
    floor = _scalar(site, "battery_soc_min_fraction") * bat_e
    ceiling = _scalar(site, "battery_soc_max_fraction", 1.0) * bat_e
    eta_c = _scalar(site, "battery_charge_efficiency", 1.0)
    eta_d = _scalar(site, "battery_discharge_efficiency", 1.0)
    battery = _state_before(
        site, "battery_soc_mwh", _scalar(site, "battery_soc_initial_mwh"), starts
    )
    ups_p = _scalar(site, "ups_power_mw")
    ups = np.full(len(starts), _scalar(site, "ups_autonomy_minutes") / 60.0 * ups_p)
    ups_eta = _scalar(site, "ups_discharge_efficiency", 1.0)

    sd_ok = np.zeros(len(starts))  # share of the shutdown / migration ready (never undone)
    mig_ok = np.zeros(len(starts))
    if not has_shutdown:
        sd_after = np.zeros(steps)
    alive = np.ones(len(starts), dtype=bool)
    full_alive = np.ones(len(starts), dtype=bool)
    survived = np.zeros(len(starts), dtype=int)
    full_service = np.zeros(len(starts), dtype=int)
    unserved = np.zeros((steps, len(starts)))
    traced = (
        {name: np.zeros((steps, len(starts))) for name in (*TRACED, "battery_mwh")} if trace else {}
    )
    total = np.zeros(len(starts))
    for r in range(steps):
        t = (starts + r) % n
        gen_ok = np.maximum(gen_after[r], permit * planned[t])
        gen_max = np.where((fuel + refuel[r] * dt > 0) & (run_left > 0), gen_p * gen_ok, 0.0)
        short = grid[t] + pv[t] + gen_max < load[t] * pue[t] - PROTECTED_TOL_MW
        sd_ok = np.maximum.reduce([sd_ok, np.full(len(t), sd_after[r]), planned[t] * 1.0])
        mig_ok = np.maximum.reduce([mig_ok, np.full(len(t), mig_after[r]), planned[t] * 1.0])
        # Short: the link takes what it can of the movable share, the protected share stays,
        # the rest is unprotected here (2.); not short: the whole load is served as one.
        moved = np.where(short, np.minimum(mig_cap * mig_ok, movable * load[t]), 0.0)
        kept = np.where(short, np.minimum(protected * load[t], load[t] - moved), load[t])
        spare = load[t] - moved - kept  # unprotected IT load here, MW
        grid_kept = np.minimum(grid[t], kept * pue[t])
        pv_kept = np.minimum(pv[t], kept * pue[t] - grid_kept)
        grid_spare = np.minimum(grid[t] - grid_kept, spare * pue[t])
        pv_spare = np.minimum(pv[t] - pv_kept, spare * pue[t] - grid_spare)
        surplus = pv[t] - pv_kept - pv_spare
        rest = kept * pue[t] - grid_kept - pv_kept  # protected (or whole) facility load left
        gen = np.minimum.reduce([gen_max, rest, fuel / dt + refuel[r], run_left / dt])
        fuel = np.minimum(fuel + (refuel[r] - gen) * dt, tank)
        run_left = run_left - gen * dt
        burnt = burnt + gen * dt
        rest = rest - gen
        bat = np.minimum.reduce(
            [np.full(len(t), bat_p), rest, np.maximum(battery - floor, 0.0) * eta_d / dt]
        )
        charge = np.minimum.reduce(
            [np.full(len(t), bat_p), surplus, np.maximum(ceiling - battery, 0.0) / (eta_c * dt)]
        )
        battery = battery + (charge * eta_c - bat / eta_d) * dt
        rest = rest - bat
        up = np.minimum.reduce([np.full(len(t), ups_p), rest, ups * ups_eta / dt])
        ups = ups - up * dt / ups_eta
        rest = rest - up
        dropped = spare - (grid_spare + pv_spare) / pue[t]  # unprotected IT not carried
        shut = sd_ok * dropped
        lost = rest / pue[t] + dropped - shut  # IT load not served: abrupt loss
        ok = kept * pue[t] - rest >= protected * load[t] * pue[t] - PROTECTED_TOL_MW
        alive &= ok
        survived += alive
        full_alive &= lost + shut <= PROTECTED_TOL_MW
        full_service += full_alive
        total = total + lost * dt
        unserved[r] = total
        if trace:
            flows = (grid_kept + grid_spare, gen, shut, moved, lost, battery)
            for name, flow in zip((*TRACED, "battery_mwh"), flows, strict=True):
                traced[name][r] = flow
    return Outcome(survived, full_service, unserved, burnt, traced if trace else None)


@dataclass
class Survival:
    """The survival curves and expected unserved energy of a stochastic result."""

    curve: pd.DataFrame
    expected_unserved_mwh_per_year: float
    momentary_faults_per_year: float
    momentary_ridden: bool


def _cut(site: xr.Dataset, name: str) -> np.ndarray:
    return _series(site, name) > 0


def survival(results: xr.Dataset, max_h: float | None = None) -> Survival:
    """Survival curves ``P(survive ≥ d)`` for d = 1 … ``max_h`` hours (over the year, normal
    operation and maintenance) and expected unserved energy per year (module doc), over every
    scenario of a stochastic result."""
    dt = float(results.attrs["dt_h"])
    horizon_years = results.sizes["time"] * dt / HOURS_PER_YEAR
    max_h = max_h if max_h is not None else _scalar(results, "type3_survival_max_h", 72.0)
    curve_steps = int(np.ceil(max_h / dt))
    p = stochastic.probabilities(results)
    momentary_max = _scalar(results, "type3_momentary_max_h")
    events = _event_table(results)
    faults = events[(events.kind == "fault") & (events.steps > 0)]
    hours = np.arange(1, curve_steps + 1) * dt
    survive = {g: np.zeros(curve_steps) for g in GROUPS}
    weight = dict.fromkeys(GROUPS, 0.0)
    full_service = np.zeros(curve_steps)
    mean_unserved = np.zeros(curve_steps)
    eue = 0.0
    for k in range(stochastic.scenario_count(results)):
        site = stochastic.site_slice(results, k)
        starts = np.flatnonzero(~_cut(site, "type3_fault_cut"))
        if len(starts) == 0:  # cut all along by its own faults
            continue
        mine = faults[faults.scenario == k]
        steps = max(curve_steps, int(mine.steps.max()) if len(mine) else 0)
        survived, full, mean = np.zeros(0), np.zeros(0), np.zeros(steps)
        for chunk in np.array_split(starts, max(1, len(starts) // STARTS_PER_CHUNK)):
            outcome = simulate(site, chunk, steps)  # chunks bound the (steps × starts) array
            survived = np.concatenate((survived, outcome.survived_steps * dt))
            full = np.concatenate((full, outcome.full_service_steps * dt))
            mean += outcome.unserved_mwh.sum(axis=1) / len(starts)
        in_maintenance = _cut(site, "type3_maintenance_cut")[starts]
        for group, mask in zip(
            GROUPS, (np.ones(len(starts), bool), ~in_maintenance, in_maintenance), strict=True
        ):
            if mask.any():
                weight[group] += p[k]
                survive[group] += p[k] * (survived[mask][:, None] >= hours - 1e-9).mean(axis=0)
        full_service += p[k] * (full[:, None] >= hours - 1e-9).mean(axis=0)
        mean_unserved += p[k] * mean[:curve_steps]
        eue += p[k] * float(sum(mean[s - 1] for s in mine.steps)) / horizon_years
    momentary = events[(events.kind == "fault") & (events.duration_h < momentary_max)]
    weights = np.array([p[s] for s in momentary.scenario]) if len(momentary) else np.zeros(0)
    year = weight["year"]
    curve = pd.DataFrame(
        {
            "duration_h": hours,
            "survival_probability": survive["year"] / year if year else np.nan,
            "survival_probability_normal": (
                survive["normal"] / weight["normal"] if weight["normal"] else np.nan
            ),
            "survival_probability_maintenance": (
                survive["maintenance"] / weight["maintenance"] if weight["maintenance"] else np.nan
            ),
            "full_service_probability": full_service / year if year else np.nan,
            "expected_unserved_it_mwh": mean_unserved / year if year else np.nan,
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
