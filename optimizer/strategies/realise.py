"""Realised operation: a plan meets the realised headroom H(t), and the result is evaluated.

Used where the operation is planned on a limit that differs from what the grid then allows:

* ``type2_forecast`` (:mod:`wattbit.strategies.rolling`): daily plans on a forecast of H;
* ``type2_fixed`` with a pattern derived out of sample (another period or year, or several
  years): the DC plans on the pattern, but where the pattern exceeds the realised headroom the
  grid allows only H (when the DC bears the exceedance, ``grid.pattern.exceedance_borne_by``).

:func:`realise` applies the real-time recourse (:mod:`wattbit.strategies.recourse`) to a plan;
:func:`evaluate` writes the realised operation into the full-horizon model with its emergency
block (C1–C3) to compute every cost term, and has the verifier check it like any solve.
"""

from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo
import xarray as xr

from wattbit.formulations.site import component_blocks
from wattbit.model import create_model, has_component
from wattbit.optimise import Run, solve_inputs
from wattbit.results import build_results, kpis, served_it_mw
from wattbit.sizes import size_names
from wattbit.solve import Solution, SolverOptions
from wattbit.strategies.recourse import BatteryLimits, Realised, recourse, refill
from wattbit.verify import verify

# A service level binds the sizing solve; the daily plans and the realised operation trade what
# they do not serve at its value.
SERVICE_LEVEL = ("dc_min_served_share", "dc_max_unserved_it_mwh_per_year")
FORECAST_ONLY = ("grid_forecast_headroom_mw", "grid_emergency_curtailment_cost_jpy_per_mwh")


def with_sizes(ds: xr.Dataset, sizes: dict[str, float]) -> xr.Dataset:
    """``ds`` with every size in ``sizes`` fixed (lower = upper bound)."""
    ds = ds.copy()
    for name, value in sizes.items():
        ds[f"{name}_min"] = ds[f"{name}_max"] = ((), value, ds[f"{name}_max"].attrs)
    return ds


def fixed_soc(ds: xr.Dataset, energy: float, initial: float, terminal: float | None) -> None:
    """Set the battery's rule to ``fixed`` from ``initial`` MWh, ending with ≥ ``terminal``."""
    ds.attrs["battery_soc_rule"] = "fixed"
    fraction = (lambda e: min(max(e / energy, 0.0), 1.0)) if energy > 0 else (lambda e: 0.0)
    ds["battery_initial_soc_fraction"] = ((), fraction(initial))
    if terminal is not None:
        ds["battery_terminal_soc_fraction"] = ((), fraction(terminal))


def allowed(inputs: xr.Dataset) -> np.ndarray:
    """What the grid allows in operation: the realised headroom H, and no more than the mode's
    own limit (a fixed pattern stays the DC's contract where H is higher)."""
    return np.minimum(inputs["grid_headroom_mw"].values, inputs["grid_import_limit_mw"].values)


def battery_limits(ds: xr.Dataset, dt: float) -> BatteryLimits:
    return BatteryLimits(
        power_mw=float(ds["battery_power_mw"]),
        floor_mwh=float(ds["battery_soc_min_fraction"]) * float(ds["battery_energy_mwh"]),
        keep_per_step=(1.0 - float(ds["battery_standing_loss_per_h"])) ** dt,
        charge_efficiency=float(ds["battery_charge_efficiency"]),
        discharge_efficiency=float(ds["battery_discharge_efficiency"]),
    )


def _refill(realised: xr.Dataset, fixed: xr.Dataset, soc0: float) -> float:
    """Restore the year's initial energy at the end (see :func:`recourse.refill`); the deficit
    left, in MWh."""
    dt = float(fixed.attrs["dt_h"])
    done = Realised(
        realised["grid_import_mw"].values,
        realised["battery_charge_mw"].values,
        realised["battery_discharge_mw"].values,
        realised["battery_soc_mwh"].values,
        realised["emergency_curtailed_it_mw"].values,
    )
    sizes = {k: realised[k] for k in ("battery_power_mw", "battery_energy_mwh")}
    limits = battery_limits(fixed.assign(sizes), dt)
    soc_max = float(fixed["battery_soc_max_fraction"] * realised["battery_energy_mwh"])
    contract = float(realised["grid_contract_mw"])
    return refill(done, allowed(fixed), contract, dt, limits, soc_max, soc0)


def realise(plan: xr.Dataset, inputs: xr.Dataset) -> xr.Dataset:
    """Operate a committed plan against the realised headroom (see module doc, step 3, and
    :mod:`wattbit.strategies.recourse`)."""
    real = plan.copy(deep=True)
    dt = float(inputs.attrs["dt_h"])
    pue = real["dc_pue"].values
    battery = battery_limits(real, dt) if "battery_charge_mw" in real else None
    done = recourse(
        real["grid_import_mw"].values,
        (served_it_mw(real) * real["dc_pue"]).values,
        allowed(inputs.sel(time=real["time"])),
        float(real["grid_contract_mw"]),
        dt,
        real["battery_charge_mw"].values if battery else None,
        real["battery_discharge_mw"].values if battery else None,
        battery,
        float(real.attrs["soc_before_mwh"]),
    )
    real["grid_import_mw"].values[:] = done.import_mw
    if battery is not None:
        real["battery_charge_mw"].values[:] = done.charge_mw
        real["battery_discharge_mw"].values[:] = done.discharge_mw
        real["battery_soc_mwh"].values[:] = done.soc_mwh
    real["emergency_curtailed_it_mw"] = ("time", done.shed_facility_mw / pue, {"units": "MW"})
    return real


def _load_values(m: pyo.ConcreteModel, ds: xr.Dataset) -> None:
    for blk in component_blocks(m):
        for var in blk.component_objects(pyo.Var, descend_into=False):
            values = np.atleast_1d(ds[f"{blk.local_name}_{var.local_name}"].values).tolist()
            for data, value in zip(var.values(), values, strict=True):
                data.set_value(value, skip_validation=True)


def evaluate(
    fixed: xr.Dataset,
    pieces: list[xr.Dataset],
    sizes: dict[str, float],
    soc0: float,
    attrs: dict[str, float | int | str],
) -> Run:
    """The realised operation (``pieces``, in time order) of the assets ``sizes`` as a checked
    run: a battery left short at the end is refilled where headroom allows (any deficit left is
    reported as ``battery_terminal_deficit_mwh``), every cost term computed by the model."""
    # a window solved in place carries no cost terms or prices: the series every piece has
    common = set.intersection(*({v for v in p.data_vars if "time" in p[v].dims} for p in pieces))
    realised = xr.concat([p[sorted(common)] for p in pieces], dim="time")
    for name, value in sizes.items():
        realised[name] = ((), value)
    evaluated = fixed.drop_vars(list(SERVICE_LEVEL), errors="ignore")
    deficit = 0.0
    if has_component(evaluated, "battery"):
        realised["battery_soc_initial_mwh"] = ((), soc0)
        deficit = _refill(realised, fixed, soc0)  # > 0: the year ends short, reported
        fixed_soc(evaluated, sizes.get("battery_energy_mwh", 0.0), soc0, soc0 - deficit)
    m = create_model(evaluated, emergency=True)
    _load_values(m, realised)
    objective = float(pyo.value(m.total_cost_jpy))
    solution = Solution("optimal", str(attrs.get("solver_message", "")), objective=objective)
    results = build_results(
        evaluated,
        m,
        {
            "solver_status": "optimal",
            "objective_jpy": objective,
            **attrs,
            "battery_terminal_deficit_mwh": deficit,
        },
    )
    run = Run(inputs=evaluated, solution=solution, results=results, kpis=kpis(results))
    run.verification = verify(results)
    results.attrs["verify_max_violation"] = run.verification.max_violation
    return run


def exceeds(inputs: xr.Dataset) -> bool:
    """Whether a ``type2_fixed`` import limit exceeds the realised headroom at some step."""
    return bool(
        np.any(inputs["grid_import_limit_mw"].values > inputs["grid_headroom_mw"].values + 1e-9)
    )


def solve_pattern_realised(inputs: xr.Dataset, options: SolverOptions) -> Run:
    """``type2_fixed`` with a pattern that exceeds the realised headroom, borne by the DC: plan
    on the pattern (sizes and operation), then operate the plan against H with the real-time
    recourse; the plan's own cost is kept as ``plan_objective_jpy``."""
    t0 = time.perf_counter()
    plan = solve_inputs(inputs.drop_vars("grid_emergency_curtailment_cost_jpy_per_mwh"), options)
    if not plan.ok:
        return plan
    sizes = {s: float(plan.results[s]) for s in size_names(inputs)}
    fixed = with_sizes(inputs, sizes)
    soc0 = float(plan.results.get("battery_soc_initial_mwh", 0.0))
    whole = plan.results.copy()
    whole.attrs["soc_before_mwh"] = soc0
    attrs = {
        "solver_message": "plan on the fixed pattern, operated against the realised headroom",
        "plan_objective_jpy": float(plan.results.attrs["objective_jpy"]),
    }
    run = evaluate(fixed, [realise(whole, fixed)], sizes, soc0, attrs)
    run.results["plan_grid_import_mw"] = plan.results["grid_import_mw"].assign_attrs(
        units="MW", doc="grid import of the plan on the pattern, before the realised headroom"
    )
    run.timings = {**plan.timings, "realise": time.perf_counter() - t0}
    return run
