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
from wattbit.strategies.windows import WindowModel

CARRIED = ("battery_initial_soc_fraction", "dc_initial_backlog_mwh")
"""The scalars a window carries over from the one before (the rest is the window's data)."""


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


def solve_rolling(inputs: xr.Dataset, options: SolverOptions, compiled_once: bool = True) -> Run:
    """Rolling-horizon operation on the forecast, evaluated against the realised headroom.

    ``compiled_once``: the full-length windows are one LP compiled once and updated in place
    (:mod:`wattbit.strategies.windows`); ``False`` builds every window from scratch."""
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
    t1 = time.perf_counter()

    pieces: list[xr.Dataset] = []
    windows = Windows(options, compiled_once)
    soc, backlog, start = soc0, 0.0, 0
    while start < n:
        stop = min(start + lookahead, n)
        last = stop == n
        ds = _window(fixed, start, stop, soc, backlog, backlog_max, soc0 if last else None, energy)
        planned = windows.plan(ds, full=stop - start == lookahead and not last)
        if isinstance(planned, Run) and last and soc < soc0:  # cannot plan back to soc0:
            ds = _window(fixed, start, stop, soc, backlog, backlog_max, None, energy)
            planned = windows.plan(ds, full=False)  # keep its own; evaluate() refills what it can
        if isinstance(planned, Run):
            planned.solution.message = f"window from step {start}: {planned.solution.message}"
            return planned
        plan = planned.isel(time=slice(0, stop - start if last else commit))
        plan.attrs["soc_before_mwh"] = soc
        piece = realise(plan, fixed)
        pieces.append(piece)
        if "battery_soc_mwh" in piece:
            soc = float(piece["battery_soc_mwh"][-1])
        if "shift_backlog_mwh" in piece:
            backlog = float(piece["shift_backlog_mwh"][-1])
        start += plan.sizes["time"]
    t2 = time.perf_counter()

    attrs = {
        "solver_message": f"rolling horizon: {windows.count} windows of {lookahead} steps, "
        f"committing {commit}",
        "foresight_objective_jpy": float(foresight.results.attrs["objective_jpy"]),
        "rolling_windows": windows.count,
        "rolling_windows_in_place": windows.warm,
    }
    run = evaluate(fixed, pieces, sizes, soc0, attrs)
    run.timings = {
        "foresight": t1 - t0,
        "windows": t2 - t1,
        **{f"window_{k}": v for k, v in windows.timings.items()},
        "evaluate": time.perf_counter() - t2,
        "rolling": time.perf_counter() - t0,
    }
    return run


class Windows:
    """The plans of a rolling horizon's windows: full-length ones on one :class:`WindowModel`
    (built at the first, checked against a cold compile at the second), the rest cold."""

    def __init__(self, options: SolverOptions, compiled_once: bool) -> None:
        self.options = options
        self.compiled_once = compiled_once
        self.model: WindowModel | None = None
        self.checked = False
        self.count = 0
        self.cold_timings: dict[str, float] = {}

    def plan(self, ds: xr.Dataset, full: bool) -> xr.Dataset | Run:
        """The window's plan (inputs and every variable), or the failed cold :class:`Run`."""
        self.count += 1
        if full and self.compiled_once:
            if self.model is None:
                self.model = WindowModel.from_window(ds, self.options, CARRIED)
                self.compiled_once = self.model is not None
            elif not self.checked:
                self.checked = True
                self.model.check(ds)
            plan = self.model.solve(ds) if self.model is not None else None
            if plan is not None:
                return plan
        t0 = time.perf_counter()
        run = solve_inputs(ds, self.options)
        self.cold_timings["cold"] = self.cold_timings.get("cold", 0.0) + time.perf_counter() - t0
        return run.results if run.ok else run

    @property
    def warm(self) -> int:
        return self.model.stats.warm if self.model is not None else 0

    @property
    def timings(self) -> dict[str, float]:
        own = self.model.stats.timings if self.model is not None else {}
        return {**own, **self.cold_timings}
