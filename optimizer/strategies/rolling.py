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
from collections.abc import Callable

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
    allowed,
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
    issued: int | None = None,
    known_first_mw: float | None = None,
) -> xr.Dataset:
    """The window ``[start, stop)`` planned on the forecast issued before step ``issued`` (by
    default ``start``); ``known_first_mw``: the first step's limit is known (the realised
    headroom of an hourly re-optimisation)."""
    issued = start if issued is None else issued
    ds = inputs.isel(time=slice(start, stop)).copy()
    ds["grid_import_limit_mw"] = ds["grid_forecast_headroom_mw"]
    if inputs.attrs.get("grid_forecast_method") == "ar1":
        ds["grid_import_limit_mw"].values = issued_forecast(
            inputs["grid_forecast_headroom_mw"].values[issued:stop],
            issued,
            float(inputs.attrs["grid_forecast_error_std_fraction"]),
            float(inputs.attrs["grid_forecast_error_autocorrelation"]),
            float(inputs.attrs["dt_h"]),
            int(inputs.attrs["grid_forecast_seed"]),
        )[start - issued :]
    if known_first_mw is not None:
        limit = ds["grid_import_limit_mw"].values.copy()
        limit[0] = known_first_mw
        ds["grid_import_limit_mw"] = ("time", limit, ds["grid_import_limit_mw"].attrs)
    ds = ds.drop_vars([*FORECAST_ONLY, *SERVICE_LEVEL], errors="ignore")
    ds.attrs["dc_backlog_rule"] = "empty"  # each window serves what it defers (W4)
    ds.attrs["annual_factor"] = 8760.0 / ((stop - start) * float(ds.attrs["dt_h"]))
    if has_component(ds, "battery"):
        fixed_soc(ds, energy, soc, final_soc)
    if backlog_max is not None:
        ds["dc_initial_backlog_mwh"] = ((), backlog)
        ds["dc_backlog_max_mwh"] = ("time", backlog_max[start:stop])
    return ds


def solve_rolling(
    inputs: xr.Dataset,
    options: SolverOptions,
    compiled_once: bool = True,
    optimise: Callable[[xr.Dataset, SolverOptions], Run] = solve_inputs,
) -> Run:
    """Rolling-horizon operation on the forecast, evaluated against the realised headroom.

    ``compiled_once``: the full-length windows are one LP compiled once and updated in place
    (:mod:`wattbit.strategies.windows`); ``False`` builds every window from scratch.
    ``optimise`` solves the perfect-foresight sizing (a study's warm re-solve: it is the LP of
    the ``type2_dynamic`` cell)."""
    t0 = time.perf_counter()
    n, dt = inputs.sizes["time"], float(inputs.attrs["dt_h"])
    foresight = optimise(inputs.drop_vars(FORECAST_ONLY), options)
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

    roll = Roll(fixed, Windows(options, compiled_once), backlog_max, energy, soc0, lookahead)
    reoptimise = inputs.attrs.get("grid_forecast_recourse", "rules") == "reoptimise"
    start = 0
    while start < n:
        stop = min(start + lookahead, n)
        planned = roll.plan(start, stop)
        if isinstance(planned, Run):
            planned.solution.message = f"window from step {start}: {planned.solution.message}"
            return planned
        committed = stop - start if stop == n else commit
        if reoptimise:
            roll.reoptimise_day(planned, start, start + committed)
        else:
            roll.follow(planned.isel(time=slice(0, committed)))
        start += committed
    pieces, windows = roll.pieces, roll.windows
    t2 = time.perf_counter()

    attrs = {
        "solver_message": f"rolling horizon: {windows.count} windows of {lookahead} steps, "
        f"committing {commit}",
        "foresight_objective_jpy": float(foresight.results.attrs["objective_jpy"]),
        "rolling_windows": windows.count,
        "rolling_windows_in_place": windows.warm,
        "rolling_recourse": "reoptimise" if reoptimise else "rules",
        "rolling_reoptimisations": roll.reoptimisations,
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


SHORTFALL_TOL_MW = 1e-6
"""A planned import above the realised headroom by more than this is a shortfall."""


class Roll:
    """The state of a rolling horizon: the carried battery energy and backlog, the realised
    pieces, and how windows are planned and operated."""

    def __init__(
        self,
        fixed: xr.Dataset,
        windows: Windows,
        backlog_max: np.ndarray | None,
        energy: float,
        soc0: float,
        lookahead: int,
    ) -> None:
        self.fixed, self.windows, self.backlog_max = fixed, windows, backlog_max
        self.energy, self.soc0, self.lookahead = energy, soc0, lookahead
        self.n = fixed.sizes["time"]
        self.allowed = allowed(fixed)
        self.soc, self.backlog = soc0, 0.0
        self.pieces: list[xr.Dataset] = []
        self.reoptimisations = 0

    def plan(
        self, start: int, stop: int, issued: int | None = None, known: float | None = None
    ) -> xr.Dataset | Run:
        """The plan of window ``[start, stop)`` from the carried state (see :func:`_window`)."""
        last = stop == self.n
        soc, backlog = self.soc, self.backlog

        def window(final: float | None) -> xr.Dataset:
            return _window(
                self.fixed, start, stop, soc, backlog, self.backlog_max, final, self.energy,
                issued, known,
            )  # fmt: skip

        full = stop - start == self.lookahead and not last
        planned = self.windows.plan(window(self.soc0 if last else None), full)
        if isinstance(planned, Run) and last and soc < self.soc0:  # cannot plan back to soc0:
            planned = self.windows.plan(window(None), full=False)  # evaluate() refills
        return planned

    def follow(self, plan: xr.Dataset, day: xr.Dataset | None = None) -> None:
        """Operate ``plan`` against the realised headroom with the rule recourse (module doc,
        step 3) and carry the state on. ``day``: the day-ahead plan of the same steps, when
        ``plan`` is an intra-day re-plan (what it sheds beyond the day-ahead plan is emergency
        curtailment: decided within the day, not a day ahead)."""
        plan.attrs["soc_before_mwh"] = self.soc
        piece = realise(plan, self.fixed)
        if day is not None and "dc_shed_it_mw" in piece:
            extra = np.maximum(piece["dc_shed_it_mw"].values - day["dc_shed_it_mw"].values, 0.0)
            piece["dc_shed_it_mw"].values -= extra
            piece["emergency_curtailed_it_mw"].values += extra
        self.pieces.append(piece)
        if "battery_soc_mwh" in piece:
            self.soc = float(piece["battery_soc_mwh"][-1])
        if "shift_backlog_mwh" in piece:
            self.backlog = float(piece["shift_backlog_mwh"][-1])

    def reoptimise_day(self, day: xr.Dataset, start: int, end: int) -> None:
        """Operate the committed steps ``[start, end)`` of the day-ahead plan ``day``: follow
        the plan in force until a step whose planned import exceeds the realised headroom, or
        that sheds load the realised headroom could serve; there re-optimise the next
        ``lookahead`` steps from the realised state, with that step's realised headroom known
        and the forecast issued at that step after it (``ar1``: its error restarts from 0 and
        grows with lead time from there), and follow the new plan."""
        current, offset, h, fresh = day, 0, start, False
        while h < end:
            planned = current["grid_import_mw"].values[offset : offset + end - h]
            room = self.allowed[h:end] - planned
            short = room < -SHORTFALL_TOL_MW
            if "dc_shed_it_mw" in current:  # it sheds what the realised headroom could serve
                shed = current["dc_shed_it_mw"].values[offset : offset + end - h]
                short |= (shed > SHORTFALL_TOL_MW) & (room > SHORTFALL_TOL_MW)
            short = np.flatnonzero(short)
            upto = end if short.size == 0 else h + int(short[0])
            if upto == h and fresh:  # a re-plan short at its own first step: the rules, 1 step
                upto = h + 1
            if upto > h:
                part = current.isel(time=slice(offset, offset + upto - h))
                day_part = None if current is day else day.isel(time=slice(h - start, upto - start))
                self.follow(part, day_part)
                offset, h, fresh = offset + upto - h, upto, False
                continue
            replan = self.plan(h, min(h + self.lookahead, self.n), None, float(self.allowed[h]))
            if isinstance(replan, Run):  # no re-plan: the rules for this step
                fresh = True
                continue
            self.reoptimisations += 1
            current, offset, fresh = replan, 0, True


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
