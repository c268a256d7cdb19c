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
import xarray as xr

from wattbit.headroom import issued_forecast
from wattbit.model import has_component, workload_shift_data
from wattbit.optimise import Run, solve_inputs
from wattbit.sizes import size_names
from wattbit.solve import SolverOptions
from wattbit.strategies.realise import (
    FORECAST_ONLY,
    SERVICE_LEVEL,
    evaluate,
    fixed_soc,
    realise,
    with_sizes,
)


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
        fixed_soc(ds, energy, soc, final_soc)
    if backlog_max is not None:
        ds["dc_initial_backlog_mwh"] = ((), backlog)
        ds["dc_backlog_max_mwh"] = ("time", backlog_max[start:stop])
    return ds


def solve_rolling(inputs: xr.Dataset, options: SolverOptions) -> Run:
    """Rolling-horizon operation on the forecast, evaluated against the realised headroom."""
    t0 = time.perf_counter()
    n, dt = inputs.sizes["time"], float(inputs.attrs["dt_h"])
    foresight = solve_inputs(inputs.drop_vars(FORECAST_ONLY), options)
    if not foresight.ok:
        return foresight
    sizes = {s: float(foresight.results[s]) for s in size_names(inputs)}
    fixed = with_sizes(inputs, sizes)
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
        if last and not run.ok and soc < soc0:  # it cannot plan back to the year's energy:
            ds = _window(fixed, start, stop, soc, backlog, backlog_max, None, energy)
            run = solve_inputs(ds, options)  # keep its own; evaluate() refills what it can
        windows += 1
        if not run.ok:
            run.solution.message = f"window from step {start}: {run.solution.message}"
            return run
        plan = run.results.isel(time=slice(0, stop - start if last else commit))
        plan.attrs["soc_before_mwh"] = soc
        piece = realise(plan, fixed)
        pieces.append(piece)
        if "battery_soc_mwh" in piece:
            soc = float(piece["battery_soc_mwh"][-1])
        if "shift_backlog_mwh" in piece:
            backlog = float(piece["shift_backlog_mwh"][-1])
        start += plan.sizes["time"]

    attrs = {
        "solver_message": f"rolling horizon: {windows} windows of {lookahead} steps, "
        f"committing {commit}",
        "foresight_objective_jpy": float(foresight.results.attrs["objective_jpy"]),
        "rolling_windows": windows,
    }
    run = evaluate(fixed, pieces, sizes, soc0, attrs)
    run.timings = {"rolling": time.perf_counter() - t0}
    return run
