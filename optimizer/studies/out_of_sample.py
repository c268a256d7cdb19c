"""Out-of-sample evaluation of type ③ sizes: what they cost when faults come unannounced.

The stochastic problem (:mod:`wattbit.strategies.stochastic`) chooses sizes and dispatch over K
sampled years. Its objective is optimistic twice over: the shared dispatch is tuned to the K
sampled fault hours (a battery full exactly when a sampled fault begins), and once a fault has
begun the optimiser knows its outcome. Here the first-stage sizes are fixed and operated on M
fresh years by a policy that knows no future fault:

1. **Plan.** The site with the sizes fixed, optimised over the horizon knowing only what is
   planned: the maintenance windows (of scenario 0), no fault. Annual cost ``C_P``, dispatch
   ``x^P`` (import ``g^P``, abrupt loss ``S^P``, shutdown ``Z^P``, migration ``M^P``, generator
   ``G^P``, battery energy ``b^P``).
2. **Faults.** Each fault e of a fresh year (plain Monte Carlo from the case's fault model, seed
   ``(seed, 7919, j)`` for year j; the shared maintenance windows stay as planned) cutting
   ``n_e`` steps from step ``s_e`` is met by the survival simulator's rule
   (:mod:`wattbit.studies.survival`: grid residual, PV and generator serve the whole load while
   they can; once they cannot, the unprotected share migrates or is shed at once, gracefully
   after the shutdown notice, and generator, battery and UPS keep the protected share) from the plan's battery state at ``s_e − 1``. Its extra cost a
   year, with α = 8760 h / horizon, c_t the energy price, v, v_z, c_m the values of abrupt loss,
   shutdown and migration, c_G fuel + carbon per MWh generated:

   ``ΔC_e = α Δt Σ_{t∈e} [c_t (g^R_t − g^P_t) + v (U_t − S^P_t) + v_z (Z_t − Z^P_t)
   + c_m (M_t − M^P_t) + c_G (G_t − G^P_t)] + α c̄ (b^P − b^R)/η_c + α π_e 1[U + Z > 0]``

   (R: the rule's flows, U its unserved IT energy; the battery's end-of-fault difference to the
   plan valued at the mean price c̄ over the charge efficiency; π_e the SLA penalty).
3. **A year** costs ``C_j = C_P + Σ_e ΔC_e``, each fault taken from the plan's state (two faults
   that overlap are counted apart: an approximation for rare events).

Reported: the mean over the M years with its standard error ``std/√M``; the in-sample objective
(the stochastic problem's expected cost); their gap; and the same policy on the K in-sample
scenarios' faults (weighted), which splits the gap into what the policy gives up against the
optimised recourse and what the sample flattered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from wattbit import n1
from wattbit.case import LoadedCase
from wattbit.optimise import Run
from wattbit.sizes import LOWER, UPPER, size_names
from wattbit.solve import SolverOptions
from wattbit.strategies import solve, stochastic
from wattbit.strategies.scenario_pool import ScenarioEngine, ScenarioPool
from wattbit.studies import checked
from wattbit.studies.survival import simulate

STREAM = 7919  # seed stream of the fresh years, apart from the K in-sample scenarios (0 … K−1)
PER_SCENARIO = ("scenario_probability", "scenario_branch_step")


@dataclass(frozen=True)
class Fault:
    """A fault of one year: its first step and the number of steps it cuts."""

    year: int
    start: int
    steps: int


@dataclass
class OutOfSample:
    """Sizes fixed, operated on fresh years by the plan-and-rule policy (module doc), JPY/yr."""

    in_sample_jpy: float
    in_sample_policy_jpy: float
    plan_jpy: float
    year_costs_jpy: np.ndarray

    @property
    def mean_jpy(self) -> float:
        return float(np.mean(self.year_costs_jpy))

    @property
    def standard_error_jpy(self) -> float:
        m = len(self.year_costs_jpy)
        return float(np.std(self.year_costs_jpy, ddof=1) / math.sqrt(m)) if m > 1 else math.nan

    @property
    def gap_jpy(self) -> float:
        """Out-of-sample mean less the in-sample objective."""
        return self.mean_jpy - self.in_sample_jpy

    def summary(self) -> dict[str, float]:
        return {
            "in_sample_expected_cost_jpy_per_year": self.in_sample_jpy,
            "in_sample_policy_cost_jpy_per_year": self.in_sample_policy_jpy,
            "plan_cost_jpy_per_year": self.plan_jpy,
            "out_of_sample_years": float(len(self.year_costs_jpy)),
            "out_of_sample_cost_jpy_per_year": self.mean_jpy,
            "out_of_sample_standard_error_jpy_per_year": self.standard_error_jpy,
            "out_of_sample_gap_jpy_per_year": self.gap_jpy,
        }


def plan_inputs(loaded: LoadedCase, inputs: xr.Dataset, results: xr.Dataset) -> xr.Dataset:
    """The single-site inputs of the plan: scenario 0 without its faults, sizes fixed at the
    first-stage values of ``results``."""
    n, dt = inputs.sizes["time"], float(inputs.attrs["dt_h"])
    planned = [e for e in n1.scenario_events(loaded)[0] if e.kind == n1.MAINTENANCE]
    series = n1.site_series(loaded, n1.outage_series(loaded, planned, n, dt))
    site = stochastic.scenario_inputs(inputs, 0)
    events = [str(v) for v in site.data_vars if str(v).startswith("event_")]
    site = site.drop_vars([*events, *[v for v in PER_SCENARIO if v in site]])
    if "scenario" in site.coords:
        site = site.drop_vars("scenario")
    for name, values in series.items():
        if name in site:
            site[name] = ("time", values, site[name].attrs)
    for name in size_names(site):
        value = float(results[name].max())  # equal in every scenario (K1), to round-off
        site[name + LOWER] = ((), value, site[name + LOWER].attrs)
        site[name + UPPER] = ((), value, site[name + UPPER].attrs)
    return site


def _value(ds: xr.Dataset, name: str) -> float:
    return float(ds[name]) if name in ds else 0.0


def _flow(ds: xr.Dataset, name: str) -> np.ndarray:
    return ds[name].values if name in ds else np.zeros(ds.sizes["time"])


def fault_costs(plan: xr.Dataset, faults: list[Fault]) -> np.ndarray:
    """ΔC_e of each fault (module doc), JPY a year."""
    if not faults:
        return np.zeros(0)
    n, dt = plan.sizes["time"], float(plan.attrs["dt_h"])
    alpha = n1.HOURS_PER_YEAR / (n * dt)
    starts = np.array([f.start for f in faults])
    longest = max(f.steps for f in faults)
    trace = simulate(plan, starts, longest, trace=True).trace or {}
    price = plan["grid_energy_price_jpy_per_mwh"].values
    v = _value(plan, "dc_value_of_lost_compute_jpy_per_mwh")
    v_z = _value(plan, "shutdown_value_of_lost_compute_jpy_per_mwh")
    c_m = _value(plan, "migration_cost_jpy_per_mwh")
    c_g = _value(plan, "generator_fuel_cost_jpy_per_mwh") + _value(
        plan, "generator_carbon_price_jpy_per_t"
    ) * _value(plan, "generator_emissions_t_per_mwh")
    sla = _value(plan, "type3_sla_penalty_jpy_per_event")
    eta = _value(plan, "battery_charge_efficiency") or 1.0
    planned = {
        "grid_mw": (_flow(plan, "grid_import_mw"), None),
        "unserved_it_mw": (_flow(plan, "dc_shed_it_mw"), v),
        "shutdown_it_mw": (_flow(plan, "shutdown_it_mw"), v_z),
        "migrated_it_mw": (_flow(plan, "migration_it_mw"), c_m),
        "generator_mw": (_flow(plan, "generator_output_mw"), c_g),
    }
    soc = _flow(plan, "battery_soc_mwh")
    mean_price = float(price.mean())
    out = np.zeros(len(faults))
    for i, fault in enumerate(faults):
        t = (fault.start + np.arange(fault.steps)) % n
        cost = 0.0
        for name, (flow, unit) in planned.items():
            rule = trace[name][: fault.steps, i]
            rate = price[t] if unit is None else unit
            cost += float(np.sum(rate * (rule - flow[t]))) * dt
        cost += mean_price * (soc[t[-1]] - trace["battery_mwh"][fault.steps - 1, i]) / eta
        lost = trace["unserved_it_mw"][: fault.steps, i] + trace["shutdown_it_mw"][: fault.steps, i]
        out[i] = alpha * (cost + (sla if float(lost.max()) > 0 else 0.0))
    return out


def fresh_faults(loaded: LoadedCase, years: int, steps: int, dt_h: float) -> list[Fault]:
    """The faults that cut the margin in ``years`` fresh years (plain Monte Carlo)."""
    t3 = loaded.case.type3
    rate, classes = n1.fault_model(t3)
    faults = []
    for j in range(years):
        rng = np.random.default_rng([t3.seed, STREAM, j])
        for event in n1.sample_faults(rng, rate, classes, steps * dt_h):
            span = n1.cut_steps(event, t3, dt_h, steps)
            if span:
                faults.append(Fault(j, span.start, len(span)))
    return faults


def in_sample_faults(results: xr.Dataset) -> list[Fault]:
    """The faults of the K scenarios, ``year`` = scenario."""
    if "event_kind" not in results:
        return []
    rows = zip(
        results["event_scenario"].values,
        results["event_kind"].values,
        results["event_first_step"].values,
        results["event_steps"].values,
        strict=True,
    )
    return [Fault(int(k), int(s), int(n)) for k, kind, s, n in rows if kind == n1.FAULT and n > 0]


def _by_year(costs: np.ndarray, faults: list[Fault], years: int) -> np.ndarray:
    totals = np.zeros(years)
    np.add.at(totals, [f.year for f in faults], costs)
    return totals


def parallel_fault_costs(
    plan: xr.Dataset, faults: list[Fault], engine: ScenarioEngine | None
) -> np.ndarray:
    """:func:`fault_costs`, the faults split in as many parts as ``engine`` has workers, each
    part on its own worker (the type ③ scenarios' engine); the same numbers as in one process."""
    if engine is None or len(faults) < 2:
        return fault_costs(plan, faults)
    with ScenarioPool(engine, len(faults)) as pool:
        parts = np.array_split(np.arange(len(faults)), pool.workers)
        costs = pool.map(fault_costs, [(plan, [faults[i] for i in part]) for part in parts])
    return np.concatenate(costs)


def out_of_sample(
    loaded: LoadedCase,
    inputs: xr.Dataset,
    run: Run,
    options: SolverOptions,
    years: int,
    engine: ScenarioEngine | None = None,
) -> OutOfSample:
    """Fix the first-stage sizes of ``run`` and operate them on ``years`` fresh years by the
    plan-and-rule policy (module doc); the fresh years' faults on ``engine``'s workers."""
    plan = checked(solve(plan_inputs(loaded, inputs, run.results), options), "out-of-sample plan")
    n, dt = inputs.sizes["time"], float(inputs.attrs["dt_h"])
    base = plan.kpis["total_cost_jpy"]
    fresh = fresh_faults(loaded, years, n, dt)
    year_costs = base + _by_year(parallel_fault_costs(plan.results, fresh, engine), fresh, years)
    mine = in_sample_faults(run.results)
    p = stochastic.probabilities(run.results)
    in_sample = base + float(np.dot(p, _by_year(fault_costs(plan.results, mine), mine, len(p))))
    return OutOfSample(
        in_sample_jpy=float(run.results.attrs["expected_cost_jpy"]),
        in_sample_policy_jpy=in_sample,
        plan_jpy=base,
        year_costs_jpy=year_costs,
    )
