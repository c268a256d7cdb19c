"""Mode ``type2_forecast``: rolling-horizon operation on a forecast of H, evaluated on the truth.

1. **Assets** come from the perfect-foresight solve (``type2_dynamic`` on the same inputs), so the
   forecast run differs from it only in the operation ("with the same assets").
2. **Plan**: every ``commit_h`` hours the site is re-optimised over the next ``lookahead_h`` hours
   with the import limit set to the forecast (for ``ar1``, the forecast issued for this window,
   :func:`wattbit.headroom.issued_forecast`), starting from the carried battery energy and
   workload backlog; intermediate windows must end with at least the energy they started with, the
   last one with at least the year's initial energy.
3. **Operate**: the committed part of each plan meets the realised headroom with real-time
   recourse (:mod:`wattbit.strategies.recourse`): where the planned import exceeds it, battery
   charging stops first, then the battery discharges more within its power and realised state of
   charge, and only what is left is cut from the DC's load at once (emergency curtailment,
   priced and counted).
4. **Evaluate**: the realised operation is written into the full-horizon model (with the
   emergency block) to compute every cost term, and checked by the verifier like any solve.

The realised cost is never below the perfect-foresight cost: the realised operation is a feasible
operation of the same assets, and emergency curtailment costs at least the value of lost compute.
"""

from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo
import xarray as xr

from wattbit.formulations.site import component_blocks
from wattbit.headroom import issued_forecast
from wattbit.model import create_model, has_component, workload_shift_data
from wattbit.optimise import Run, solve_inputs
from wattbit.results import build_results, kpis, served_it_mw
from wattbit.sizes import size_names
from wattbit.solve import Solution, SolverOptions
from wattbit.strategies.recourse import BatteryLimits, Realised, recourse, refill
from wattbit.verify import verify

# A service level binds the sizing (foresight) solve; the daily plans and the realised
# operation trade what they do not serve at its value.
SERVICE_LEVEL = ("dc_min_served_share", "dc_max_unserved_it_mwh_per_year")
FORECAST_ONLY = ("grid_forecast_headroom_mw", "grid_emergency_curtailment_cost_jpy_per_mwh")


def _with_sizes(ds: xr.Dataset, sizes: dict[str, float]) -> xr.Dataset:
    ds = ds.copy()
    for name, value in sizes.items():
        ds[f"{name}_min"] = ds[f"{name}_max"] = ((), value, ds[f"{name}_max"].attrs)
    return ds


def _fixed_soc(ds: xr.Dataset, energy: float, initial: float, terminal: float | None) -> None:
    ds.attrs["battery_soc_rule"] = "fixed"
    fraction = (lambda e: min(max(e / energy, 0.0), 1.0)) if energy > 0 else (lambda e: 0.0)
    ds["battery_initial_soc_fraction"] = ((), fraction(initial))
    if terminal is not None:
        ds["battery_terminal_soc_fraction"] = ((), fraction(terminal))


def _window(
    inputs: xr.Dataset,
    start: int,
    stop: int,
    soc: float,
    backlog: float,
    backlog_max: np.ndarray | None,
    final_soc: float | None,
    energy: float,
) -> xr.Dataset:
    ds = inputs.isel(time=slice(start, stop)).copy()
    ds["grid_import_limit_mw"] = ds["grid_forecast_headroom_mw"]
    if inputs.attrs.get("grid_forecast_method") == "ar1":
        ds["grid_import_limit_mw"].values = issued_forecast(
            ds["grid_forecast_headroom_mw"].values,
            start,
            float(inputs.attrs["grid_forecast_error_std_fraction"]),
            float(inputs.attrs["grid_forecast_error_autocorrelation"]),
            float(inputs.attrs["dt_h"]),
            int(inputs.attrs["grid_forecast_seed"]),
        )
    ds = ds.drop_vars([*FORECAST_ONLY, *SERVICE_LEVEL], errors="ignore")
    ds.attrs["dc_backlog_rule"] = "empty"  # each window serves what it defers (W4)
    ds.attrs["annual_factor"] = 8760.0 / ((stop - start) * float(ds.attrs["dt_h"]))
    if has_component(ds, "battery"):
        _fixed_soc(ds, energy, soc, final_soc)
    if backlog_max is not None:
        ds["dc_initial_backlog_mwh"] = ((), backlog)
        ds["dc_backlog_max_mwh"] = ("time", backlog_max[start:stop])
    return ds


def _battery_limits(ds: xr.Dataset, dt: float) -> BatteryLimits:
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
    limits = _battery_limits(fixed.assign(sizes), dt)
    soc_max = float(fixed["battery_soc_max_fraction"] * realised["battery_energy_mwh"])
    contract = float(realised["grid_contract_mw"])
    return refill(done, fixed["grid_headroom_mw"].values, contract, dt, limits, soc_max, soc0)


def _realise(plan: xr.Dataset, inputs: xr.Dataset) -> xr.Dataset:
    """Operate a committed plan against the realised headroom (see module doc, step 3, and
    :mod:`wattbit.strategies.recourse`)."""
    real = plan.copy(deep=True)
    dt = float(inputs.attrs["dt_h"])
    pue = real["dc_pue"].values
    battery = _battery_limits(real, dt) if "battery_charge_mw" in real else None
    done = recourse(
        real["grid_import_mw"].values,
        (served_it_mw(real) * real["dc_pue"]).values,
        real["grid_headroom_mw"].values,
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


def solve_rolling(inputs: xr.Dataset, options: SolverOptions) -> Run:
    """Rolling-horizon operation on the forecast, evaluated against the realised headroom."""
    t0 = time.perf_counter()
    n, dt = inputs.sizes["time"], float(inputs.attrs["dt_h"])
    foresight = solve_inputs(inputs.drop_vars(FORECAST_ONLY), options)
    if not foresight.ok:
        return foresight
    sizes = {s: float(foresight.results[s]) for s in size_names(inputs)}
    fixed = _with_sizes(inputs, sizes)
    energy = sizes.get("battery_energy_mwh", 0.0)
    soc0 = float(foresight.results.get("battery_soc_initial_mwh", 0.0))
    share = float(inputs["dc_deferrable_share"])
    backlog_max = workload_shift_data(inputs).backlog_bound(dt) if share > 0 else None
    lookahead = max(1, round(float(inputs.attrs["grid_forecast_lookahead_h"]) / dt))
    commit = max(1, round(float(inputs.attrs["grid_forecast_commit_h"]) / dt))

    pieces: list[xr.Dataset] = []
    soc, backlog, start, windows = soc0, 0.0, 0, 0
    while start < n:
        stop = min(start + lookahead, n)
        last = stop == n
        ds = _window(fixed, start, stop, soc, backlog, backlog_max, soc0 if last else None, energy)
        run = solve_inputs(ds, options)
        windows += 1
        if not run.ok:
            run.solution.message = f"window from step {start}: {run.solution.message}"
            return run
        plan = run.results.isel(time=slice(0, stop - start if last else commit))
        plan.attrs["soc_before_mwh"] = soc
        piece = _realise(plan, fixed)
        pieces.append(piece)
        if "battery_soc_mwh" in piece:
            soc = float(piece["battery_soc_mwh"][-1])
        if "shift_backlog_mwh" in piece:
            backlog = float(piece["shift_backlog_mwh"][-1])
        start += plan.sizes["time"]

    realised = xr.concat(
        [p[[v for v in p.data_vars if "time" in p[v].dims]] for p in pieces], dim="time"
    )
    for name, value in sizes.items():
        realised[name] = ((), value)
    evaluated = fixed.drop_vars(list(SERVICE_LEVEL), errors="ignore")
    deficit = 0.0
    if has_component(evaluated, "battery"):
        realised["battery_soc_initial_mwh"] = ((), soc0)
        deficit = _refill(realised, fixed, soc0)  # > 0: the year ends short, reported
        _fixed_soc(evaluated, energy, soc0, soc0 - deficit)
    m = create_model(evaluated, emergency=True)
    _load_values(m, realised)
    solution = Solution(
        "optimal",
        f"rolling horizon: {windows} windows of {lookahead} steps, committing {commit}",
        objective=float(pyo.value(m.total_cost_jpy)),
    )
    attrs = {
        "solver_status": "optimal",
        "solver_message": solution.message,
        "objective_jpy": solution.objective,
        "foresight_objective_jpy": float(foresight.results.attrs["objective_jpy"]),
        "rolling_windows": windows,
        "battery_terminal_deficit_mwh": deficit,
    }
    results = build_results(evaluated, m, attrs)
    run = Run(inputs=evaluated, solution=solution, results=results, kpis=kpis(results))
    run.verification = verify(results)
    results.attrs["verify_max_violation"] = run.verification.max_violation
    run.timings = {"rolling": time.perf_counter() - t0}
    return run
