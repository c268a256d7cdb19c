"""Type ③: the K-scenario stochastic problem, its results with a ``scenario`` dimension, and checks.

The input Dataset of a ``type3_n1`` case holds the event-dependent series per scenario
(``(scenario, time)``; a single scenario has no scenario axis). Each scenario is a whole site
(:func:`wattbit.model.define_site` on a scenario block); sizes are first-stage
(:mod:`wattbit.formulations.scenarios`). Battery exclusivity follows ``battery.exclusive`` by
:func:`wattbit.optimise.solve_exclusive`, per scenario: ``auto`` adds binaries only at the steps
of a scenario that charge and discharge at once, and re-solves warm-started.

Results: every scenario's site Dataset (inputs, variables, cost terms) concatenated along
``scenario``; the verifier checks each scenario's slice with :func:`wattbit.verify.verify` and
the coupling: equal sizes in every scenario, the same dispatch in any two scenarios until the
step at which their data first differ (recomputed from the per-scenario input series),
probabilities summing to 1, and the solver's objective equal to the probability-weighted total
cost.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyomo.environ as pyo
import xarray as xr
from pyomo.common.gc_manager import PauseGC

from wattbit.formulations.common import new_model
from wattbit.formulations.scenarios import (
    define_scenario_objective,
    define_scenarios,
    scenario_tree,
)
from wattbit.infeasibility import in_case_terms
from wattbit.model import define_site, has_component, time_axis
from wattbit.optimise import Run, solution_attrs, solve_exclusive
from wattbit.results import build_results, kpis
from wattbit.sizes import size_names, size_vars
from wattbit.solve import SolverOptions
from wattbit.verify import Verification, verify
from wattbit.verify.checks import Result
from wattbit.verify.ride_through import protected_shortfall

H7_TOLERANCE_MW = 1e-6  # a scenario whose H7 shortfall is below this meets it (K4 check)
# Inputs that differ per scenario (not decisions).
INPUT_SERIES = (
    "grid_import_limit_mw",
    "type3_",
    "generator_availability",
    "generator_refuel_limit",
    "ups_discharge_allowed",
    "shutdown_availability",
    "migration_availability",
)
# Variables on the scenario axis alone that keep it even when equal in every scenario.
PER_SCENARIO = ("scenario_probability", "scenario_branch_step", "scenario_survival_required")


def scenario_count(ds: xr.Dataset) -> int:
    return ds.sizes.get("scenario", 1)


def probabilities(ds: xr.Dataset) -> np.ndarray:
    if "scenario_probability" in ds and "scenario" in ds["scenario_probability"].dims:
        return ds["scenario_probability"].values
    return np.ones(1)


def scenario_inputs(ds: xr.Dataset, k: int) -> xr.Dataset:
    """The site Dataset of scenario ``k`` (a single-site input Dataset)."""
    return ds.isel(scenario=k) if "scenario" in ds.dims else ds


def first_difference(ds: xr.Dataset) -> np.ndarray:
    """δ (K × K): the first step at which the input series of two scenarios differ (the number
    of steps where they never do). What a scenario's operator observes at step t is its data at
    t, so before δ_jk scenarios j and k cannot be told apart."""
    K, n = scenario_count(ds), ds.sizes["time"]
    differs = np.zeros((K, K, n), dtype=bool)
    for name in ds.data_vars:
        da = ds[name]
        if da.dims == ("scenario", "time") and str(name).startswith(INPUT_SERIES):
            values = da.values
            differs |= values[:, None, :] != values[None, :, :]
    any_step = differs.any(axis=2)
    return np.where(any_step, differs.argmax(axis=2), n)


def first_stage_sizes(ds: xr.Dataset) -> list[tuple[str, str]]:
    """Every size of the site (:mod:`wattbit.sizes`), as (block, variable) pairs."""
    return size_vars(ds)


def min_survival_probability(ds: xr.Dataset) -> float:
    """P of the chance constraint (K4): below 1 only with several scenarios and a service level
    (``type3.min_survival_h`` > 0); 1 (H7 in every scenario) otherwise."""
    if scenario_count(ds) < 2 or float(ds.get("type3_min_survival_h", 0.0)) <= 0:
        return 1.0
    return float(ds.get("type3_min_survival_probability", 1.0))


def create_stochastic_model(
    ds: xr.Dataset, exclusive_steps: dict[int, set[int]] | None = None
) -> pyo.ConcreteModel:
    """The K-scenario model (K1, K2) of an input Dataset."""
    m = new_model(time_axis(ds), name=str(ds.attrs.get("case_name", "wattbit")))
    sites = [scenario_inputs(ds, k) for k in range(scenario_count(ds))]
    steps = exclusive_steps or {}
    chance = min_survival_probability(ds)

    def build(blk: pyo.Block, k: int) -> None:
        required = m.survival_required[k] if chance < 1.0 else None
        define_site(blk, sites[k], steps.get(k, ()), survival_required=required)

    tree = scenario_tree(first_difference(ds).tolist()) if len(sites) > 1 else None
    with PauseGC():  # as in wattbit.model.create_model
        define_scenarios(m, probabilities(ds).tolist(), first_stage_sizes(ds), build, tree, chance)
        define_scenario_objective(m)
    return m


def solve_stochastic(inputs: xr.Dataset, options: SolverOptions) -> Run:
    """Build, solve (with the exclusivity rule per scenario), extract per scenario and verify."""
    timings: dict[str, float] = {}
    battery = has_component(inputs, "battery")
    mode = inputs.attrs.get("battery_exclusive", "never") if battery else "never"
    done = solve_exclusive(
        lambda binaries: create_stochastic_model(inputs, binaries),
        lambda m: {k: m.scenario[k].battery for k in m.S} if battery else {},
        dict.fromkeys(range(scenario_count(inputs)), mode),
        options,
        timings,
    )
    m, sol = done.model, done.solution
    run = Run(inputs=inputs, solution=sol, timings=timings)
    if not sol.has_values:
        in_case_terms(sol, inputs)
        return run

    t0 = time.perf_counter()
    attrs = solution_attrs(done, mode, "expected_cost_jpy")
    sites = []
    for k in m.S:
        site = build_results(scenario_inputs(inputs, k), m.scenario[k], {})
        site.attrs["battery_exclusivity_enforced"] = int(bool(done.binaries.get(k)))
        if m.component("survival_required") is not None:  # K4: must scenario k meet H7?
            required = round(pyo.value(m.survival_required[k]))
            site["scenario_survival_required"] = ((), required, {"units": "1"})
        sites.append(site)
    run.results = combine(sites, attrs)
    run.kpis = expected_kpis(run.results)
    timings["extract"] = time.perf_counter() - t0 + timings.pop("load", 0.0)
    t0 = time.perf_counter()
    run.verification = verify_stochastic(run.results)
    run.results.attrs["verify_max_violation"] = run.verification.max_violation
    timings["verify"] = time.perf_counter() - t0
    return run


def combine(sites: list[xr.Dataset], attrs: dict) -> xr.Dataset:
    """Site Datasets of the scenarios → one Dataset; what differs keeps a ``scenario`` axis."""
    if len(sites) == 1:
        ds = sites[0]
    else:
        enforced = [s.attrs.pop("battery_exclusivity_enforced") for s in sites]
        ds = xr.concat(
            sites,
            dim="scenario",
            data_vars="all",
            coords="different",
            compat="equals",
            join="exact",
        )
        for name in list(ds.data_vars):
            if name in PER_SCENARIO:
                continue
            first = ds[name].isel(scenario=0)
            if bool((ds[name] == first).all()):
                ds[name] = first.drop_vars("scenario")
        ds["battery_exclusivity_enforced"] = ("scenario", np.array(enforced, dtype=int))
    ds.attrs.update(sites[0].attrs)
    ds.attrs.update(attrs)
    return ds


def site_slice(results: xr.Dataset, k: int) -> xr.Dataset:
    """Scenario ``k`` of a stochastic result, shaped as a single-site result."""
    if "scenario" not in results.dims:
        return results
    site = results.isel(scenario=k)
    site.attrs["battery_exclusivity_enforced"] = int(site["battery_exclusivity_enforced"])
    return site.drop_vars("battery_exclusivity_enforced")


def expected_kpis(results: xr.Dataset) -> dict[str, float]:
    """KPIs of every scenario, weighted by probability; ``scenarios`` is K."""
    p = probabilities(results)
    per = [kpis(site_slice(results, k)) for k in range(scenario_count(results))]
    out = {
        key: float(sum(pk * row.get(key, 0.0) for pk, row in zip(p, per, strict=True)))
        for key in per[0]
    }
    out["scenarios"] = float(len(per))
    return out


def standard_error(results: xr.Dataset) -> float:
    """Sampling error of the expected cost: ``sqrt(K/(K−1) Σ_k p_k² (c_k − c̄)²)`` over the
    scenario totals ``c_k`` at the optimal sizes (std / √K for equal weights); NaN for K = 1."""
    K = scenario_count(results)
    if K < 2:
        return math.nan
    p = probabilities(results)
    totals = np.array([float(site_slice(results, k)["total_cost_jpy"]) for k in range(K)])
    mean = float(np.dot(p, totals))
    return math.sqrt(K / (K - 1) * float(np.sum(p**2 * (totals - mean) ** 2)))


def verify_stochastic(results: xr.Dataset) -> Verification:
    """Every scenario's slice through :func:`wattbit.verify.verify` (the worst per check), and
    the coupling checks (see module doc)."""
    v: dict[str, float] = {}
    K = scenario_count(results)
    totals = []
    for k in range(K):
        site = site_slice(results, k)
        for name, value in verify(site).violations.items():
            v[name] = max(v.get(name, 0.0), value)
        totals.append(float(site["total_cost_jpy"]))
    p = probabilities(results)
    v["K2 scenario probabilities sum to 1"] = abs(float(p.sum()) - 1.0)
    for name in size_names(results):
        if "scenario" in results[name].dims:
            values = results[name].values
            v[f"K1 {name} equal in every scenario"] = float(values.max() - values.min())
    if K > 1:
        v["K3 dispatch equal until the scenarios' data differ"] = _nonanticipativity_violation(
            results
        )
    chance = min_survival_probability(results)
    if chance < 1.0:  # (K4) recomputed from the dispatch, not from the binaries
        met = [
            protected_shortfall(Result.of(site_slice(results, k))) <= H7_TOLERANCE_MW
            for k in range(K)
        ]
        v["K4 scenarios keeping the protected load weigh at least P"] = max(
            0.0, chance - float(np.dot(p, met))
        )
    expected = float(np.dot(p, totals))
    objective = float(results.attrs.get("expected_cost_jpy", math.nan))
    v["K2 objective = expected total cost"] = abs(objective - expected) / max(1.0, abs(expected))
    return Verification(v)


def _nonanticipativity_violation(results: xr.Dataset) -> float:
    """Largest difference, in any decision series, between two scenarios j, k before the step
    δ_jk at which their data first differ (K3, checked over every pair)."""
    delta = first_difference(results)
    worst = 0.0
    for name in results.data_vars:
        da = results[name]
        if da.dims != ("scenario", "time") or str(name).startswith(INPUT_SERIES):
            continue
        values = da.values
        for j in range(len(delta)):
            for k in range(j + 1, len(delta)):
                if delta[j, k] > 0:
                    gap = np.abs(values[j, : delta[j, k]] - values[k, : delta[j, k]])
                    worst = max(worst, float(np.max(gap)))
    return worst
