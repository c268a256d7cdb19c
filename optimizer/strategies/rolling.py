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
from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator, Mapping

import numpy as np
import xarray as xr

from wattbit.headroom import issued_forecast
from wattbit.model import has_component, workload_shift_data
from wattbit.optimise import Run, solve_inputs
from wattbit.sizes import size_names
from wattbit.solve import SolverOptions
from wattbit.strategies.realise import (
    EMERGENCY,
    FORECAST_ONLY,
    SERVICE_LEVEL,
    Plan,
    allowed,
    battery_limits,
    evaluate,
    fixed_soc,
    realise,
    soc_fraction,
    with_sizes,
)
from wattbit.strategies.recourse import BatteryLimits
from wattbit.strategies.windows import WindowModel, WindowStats

CARRIED = ("battery_initial_soc_fraction", "dc_initial_backlog_mwh")
"""The scalars a window carries over from the one before (the rest is the window's data)."""


class Horizon:
    """The horizon's data a window is cut from, read once per run: the series as arrays, the
    forecast settings. :meth:`dataset` is a window's input Dataset (a model is built from it),
    :meth:`arrays` the same window's series and carried scalars as arrays (a window solved on the
    compiled model, :mod:`wattbit.strategies.windows`)."""

    def __init__(self, fixed: xr.Dataset, backlog_max: np.ndarray | None, energy: float) -> None:
        self.fixed, self.backlog_max, self.energy = fixed, backlog_max, energy
        dropped = {*FORECAST_ONLY, *SERVICE_LEVEL}
        self.series = {
            str(k): v.values
            for k, v in fixed.data_vars.items()
            if v.dims == ("time",) and k not in dropped
        }
        self.scalars = {
            str(k): float(v.values)
            for k, v in fixed.data_vars.items()
            if v.dims == () and np.issubdtype(v.dtype, np.number)
        }
        self.truth = fixed["grid_forecast_headroom_mw"].values
        a = fixed.attrs
        self.ar1 = (
            (
                float(a["grid_forecast_error_std_fraction"]),
                float(a["grid_forecast_error_autocorrelation"]),
                float(a["dt_h"]),
                int(a["grid_forecast_seed"]),
            )
            if a.get("grid_forecast_method") == "ar1"
            else None
        )
        self.battery = has_component(fixed, "battery")

    def limit(self, start: int, stop: int, issued: int | None, known: float | None) -> np.ndarray:
        """The import limit a window ``[start, stop)`` plans on: the forecast issued before step
        ``issued`` (by default ``start``); ``known``: the first step's limit is known (the
        realised headroom of an hourly re-optimisation)."""
        issued = start if issued is None else issued
        if self.ar1 is None:
            limit = self.truth[start:stop].copy()
        else:
            limit = issued_forecast(self.truth[issued:stop], issued, *self.ar1)[start - issued :]
        if known is not None:
            limit[0] = known
        return limit

    def carried(self, soc: float, backlog: float) -> dict[str, float]:
        """The scalars a window carries over: its start state of charge and backlog."""
        out = {}
        if self.battery:
            out["battery_initial_soc_fraction"] = soc_fraction(self.energy, soc)
        if self.backlog_max is not None:
            out["dc_initial_backlog_mwh"] = backlog
        return out

    def arrays(
        self, start: int, stop: int, soc: float, backlog: float, issued: int | None = None,
        known: float | None = None, names: Iterable[str] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, float]]:  # fmt: skip
        """The window's series (views of the horizon's, the limit and backlog bound its own;
        ``names``: only these) and carried scalars, as :meth:`dataset` holds them."""
        names = self.series if names is None else names
        own = {"grid_import_limit_mw", "dc_backlog_max_mwh"}
        series = {k: self.series[k][start:stop] for k in names if k in self.series and k not in own}
        series["grid_import_limit_mw"] = self.limit(start, stop, issued, known)
        if self.backlog_max is not None:
            series["dc_backlog_max_mwh"] = self.backlog_max[start:stop]
        return series, self.carried(soc, backlog)

    def steps(self, start: int, stop: int) -> Steps:
        """The inputs of steps ``[start, stop)``, read like a Dataset."""
        return Steps(self, start, stop)

    def dataset(
        self, start: int, stop: int, soc: float, backlog: float, final_soc: float | None,
        issued: int | None = None, known: float | None = None,
    ) -> xr.Dataset:  # fmt: skip
        """The window ``[start, stop)`` planned on the forecast issued before step ``issued``,
        from ``soc`` MWh and ``backlog``; ``final_soc``: the energy it must end with."""
        ds = self.fixed.isel(time=slice(start, stop)).copy()
        attrs = self.fixed["grid_forecast_headroom_mw"].attrs
        ds["grid_import_limit_mw"] = ("time", self.limit(start, stop, issued, known), attrs)
        ds = ds.drop_vars([*FORECAST_ONLY, *SERVICE_LEVEL], errors="ignore")
        ds.attrs["dc_backlog_rule"] = "empty"  # each window serves what it defers (W4)
        ds.attrs["annual_factor"] = 8760.0 / ((stop - start) * float(ds.attrs["dt_h"]))
        if self.battery:
            fixed_soc(ds, self.energy, soc, final_soc)
        if self.backlog_max is not None:
            ds["dc_initial_backlog_mwh"] = ((), backlog)
            ds["dc_backlog_max_mwh"] = ("time", self.backlog_max[start:stop])
        return ds


class Steps(Mapping):
    """Steps ``[start, stop)`` of a :class:`Horizon`'s inputs: a series is sliced when read, a
    scalar is the horizon's."""

    def __init__(self, horizon: Horizon, start: int, stop: int) -> None:
        self.horizon, self.start, self.stop = horizon, start, stop

    def __getitem__(self, name: str) -> np.ndarray | float:
        series = self.horizon.series.get(name)
        return self.horizon.scalars[name] if series is None else series[self.start : self.stop]

    def __contains__(self, name: object) -> bool:
        return name in self.horizon.series or name in self.horizon.scalars

    def __iter__(self) -> Iterator[str]:
        return iter([*self.horizon.series, *self.horizon.scalars])

    def __len__(self) -> int:
        return len(self.horizon.series) + len(self.horizon.scalars)


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

    horizon = Horizon(fixed, backlog_max, energy)
    roll = Roll(horizon, Windows(horizon, options, compiled_once), soc0, lookahead)
    setup = time.perf_counter() - t1
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
            roll.follow(planned.part(0, committed))
        start += committed
    windows = roll.windows
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
    run = evaluate(fixed, roll.pieces, sizes, soc0, attrs)
    run.timings = {
        "foresight": t1 - t0,
        "windows": t2 - t1,
        "window_setup": setup,
        **windows.timings,
        "evaluate": time.perf_counter() - t2,
        "rolling": time.perf_counter() - t0,
    }
    return run


SHORTFALL_TOL_MW = 1e-6
"""A planned import above the realised headroom by more than this is a shortfall."""


class Roll:
    """The state of a rolling horizon: the carried battery energy and backlog, the realised
    pieces, and how windows are planned and operated."""

    def __init__(self, horizon: Horizon, windows: Windows, soc0: float, lookahead: int) -> None:
        self.horizon, self.windows, self.soc0, self.lookahead = horizon, windows, soc0, lookahead
        self.n = horizon.fixed.sizes["time"]
        self.dt = float(horizon.fixed.attrs["dt_h"])
        self.allowed = allowed(horizon.fixed)
        self.soc, self.backlog = soc0, 0.0
        self.pieces: list[Plan] = []
        self.reoptimisations = 0
        self._limits: tuple[tuple[float, float], BatteryLimits] | None = None

    def plan(
        self, start: int, stop: int, issued: int | None = None, known: float | None = None
    ) -> Plan | Run:
        """The plan of window ``[start, stop)`` from the carried state (:class:`Horizon`)."""
        last = stop == self.n
        full = stop - start == self.lookahead and not last
        window = (start, stop, self.soc, self.backlog, issued, known)
        planned = self.windows.plan(window, self.soc0 if last else None, full)
        if isinstance(planned, Run) and last and self.soc < self.soc0:  # cannot plan back to
            planned = self.windows.plan(window, None, full=False)  # soc0: evaluate() refills
        return planned

    def follow(self, plan: Plan, day: Plan | None = None) -> None:
        """Operate ``plan`` against the realised headroom with the rule recourse (module doc,
        step 3) and carry the state on. ``day``: the day-ahead plan of the same steps, when
        ``plan`` is an intra-day re-plan (what it sheds beyond the day-ahead plan is emergency
        curtailment: decided within the day, not a day ahead)."""
        stats = self.windows.stats
        stats.start()
        start, stop = plan.start, plan.start + plan.steps
        inputs = self.horizon.steps(start, stop)
        piece = realise(
            plan, inputs, self.allowed[start:stop], self.dt, self.soc, self._battery(plan)
        )
        if day is not None and "dc_shed_it_mw" in piece.rows:  # piece.values: realise's own
            shed = piece.data[piece.rows["dc_shed_it_mw"]]
            extra = np.maximum(shed - day["dc_shed_it_mw"], 0.0)
            shed -= extra
            piece.data[piece.rows[EMERGENCY]] += extra
        self.pieces.append(piece)
        if "battery_soc_mwh" in piece:
            self.soc = float(piece["battery_soc_mwh"][-1])
        if "shift_backlog_mwh" in piece:
            self.backlog = float(piece["shift_backlog_mwh"][-1])
        stats.lap("realise")

    def _battery(self, plan: Plan) -> BatteryLimits | None:
        """The battery's limits for :func:`realise`, read again only when the plan's sizes
        differ from the last plan's."""
        if "battery_power_mw" not in plan.scalars:
            return None
        key = (plan.scalars["battery_power_mw"], plan.scalars["battery_energy_mwh"])
        if self._limits is None or self._limits[0] != key:
            inputs = self.horizon.steps(plan.start, plan.start + plan.steps)
            self._limits = (key, battery_limits(ChainMap(plan, inputs), self.dt))
        return self._limits[1]

    def reoptimise_day(self, day: xr.Dataset, start: int, end: int) -> None:
        """Operate the committed steps ``[start, end)`` of the day-ahead plan ``day``: follow
        the plan in force until a step whose planned import exceeds the realised headroom, or
        that sheds load the realised headroom could serve; there re-optimise the next
        ``lookahead`` steps from the realised state, with that step's realised headroom known
        and the forecast issued at that step after it (``ar1``: its error restarts from 0 and
        grows with lead time from there), and follow the new plan."""
        current, offset, h, fresh = day, 0, start, False
        while h < end:
            planned = current["grid_import_mw"][offset : offset + end - h]
            room = self.allowed[h:end] - planned
            short = room < -SHORTFALL_TOL_MW
            if "dc_shed_it_mw" in current:  # it sheds what the realised headroom could serve
                shed = current["dc_shed_it_mw"][offset : offset + end - h]
                short |= (shed > SHORTFALL_TOL_MW) & (room > SHORTFALL_TOL_MW)
            short = np.flatnonzero(short)
            upto = end if short.size == 0 else h + int(short[0])
            if upto == h and fresh:  # a re-plan short at its own first step: the rules, 1 step
                upto = h + 1
            if upto > h:
                part = current.part(offset, offset + upto - h)
                day_part = None if current is day else day.part(h - start, upto - start)
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
    (built at the first, checked against a cold compile at the second, fed the horizon's arrays),
    the rest cold. A window is ``(start, stop, soc, backlog, issued, known)`` (:class:`Horizon`)."""

    def __init__(self, horizon: Horizon, options: SolverOptions, compiled_once: bool) -> None:
        self.horizon = horizon
        self.options = options
        self.compiled_once = compiled_once
        self.model: WindowModel | None = None
        self.checked = False
        self.count = 0
        self.stats = WindowStats()  # cold windows and the realised operation

    def plan(self, window: tuple, final_soc: float | None, full: bool) -> Plan | Run:
        """The window's plan (inputs and every variable), or the failed cold :class:`Run`."""
        self.count += 1
        if full and self.compiled_once:
            plan = self._in_place(window)
            if plan is not None:
                return plan
        start, stop, soc, backlog, issued, known = window
        self.stats.start()
        ds = self.horizon.dataset(start, stop, soc, backlog, final_soc, issued, known)
        run = solve_inputs(ds, self.options)
        plan = Plan.from_dataset(run.results, start) if run.ok else run
        self.stats.lap("cold")
        return plan

    def _in_place(self, window: tuple) -> Plan | None:
        start, stop, soc, backlog, issued, known = window
        first = self.model is None
        if first or not self.checked:  # "check": these two windows' Datasets and checks
            self.stats.start()
            ds = self.horizon.dataset(start, stop, soc, backlog, None, issued, known)
            self.stats.lap("check")
            if first:
                self.model = WindowModel.from_window(ds, self.options, CARRIED)
                if self.model is None:
                    self.compiled_once = False
                    return None
            self.stats.start()
            self.checked = not first
            # the arrays give this window's LP data; at the second, so does a cold compile
            self.model.check(ds, *self.horizon.arrays(*window), compile_=not first)
            self.stats.lap("check")
        stats = self.model.stats
        stats.start()
        series, scalars = self.horizon.arrays(*window, names=self.model.reads)
        stats.lap("data")
        return self.model.solve_arrays(series, scalars, start)

    @property
    def warm(self) -> int:
        return self.model.stats.warm if self.model is not None else 0

    @property
    def timings(self) -> dict[str, float]:
        """Per phase (model's and own): ``window_<phase>`` wall seconds, ``_cpu`` CPU seconds,
        ``_n`` how many windows it ran for."""
        parts = [self.stats] + ([self.model.stats] if self.model is not None else [])
        out: dict[str, float] = {}
        for stats in parts:
            for phase, wall in stats.timings.items():
                out[f"window_{phase}"] = wall
                out[f"window_{phase}_cpu"] = stats.cpu[phase]
                out[f"window_{phase}_n"] = stats.counts[phase]
        return out
