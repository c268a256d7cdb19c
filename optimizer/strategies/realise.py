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
from collections import ChainMap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

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


EMERGENCY = "emergency_curtailed_it_mw"
"""The realised operation's emergency curtailment (IT MW per step), a row of every piece."""


@dataclass(eq=False)
class Plan(Mapping):
    """A plan (or its realised operation) of the horizon's steps ``[start, start + steps)`` on
    plain arrays: one row of ``data`` per step series (``rows``: name → row; every
    time-indexed variable, named as in results), and ``scalars`` (sizes and scalar variables).
    Read like a Dataset: ``plan[name]`` is a row or a scalar."""

    start: int
    rows: dict[str, int]
    data: np.ndarray
    scalars: dict[str, float]

    @classmethod
    def from_dataset(cls, ds: xr.Dataset, start: int = 0) -> Plan:
        """The plan held by a result (or input) Dataset ``ds`` whose first step is ``start``."""
        series = [
            str(k)
            for k, v in ds.data_vars.items()
            if v.dims == ("time",) and v.dtype.kind in "fiub"
        ]
        scalars = {
            str(k): float(v.values)
            for k, v in ds.data_vars.items()
            if v.dims == () and np.issubdtype(v.dtype, np.number)
        }
        values = np.array([ds[k].values for k in series], dtype=float).reshape(len(series), -1)
        return cls(start, {k: i for i, k in enumerate(series)}, values, scalars)

    def __getitem__(self, name: str) -> np.ndarray | float:
        row = self.rows.get(name)
        return self.scalars[name] if row is None else self.data[row]

    def __contains__(self, name: object) -> bool:
        return name in self.rows or name in self.scalars

    def __iter__(self) -> Iterator[str]:
        return iter([*self.rows, *self.scalars])

    def __len__(self) -> int:
        return len(self.rows) + len(self.scalars)

    @property
    def steps(self) -> int:
        return self.data.shape[1]

    def part(self, begin: int, end: int) -> Plan:
        """Its steps ``[begin, end)`` (counted from its own start)."""
        return Plan(self.start + begin, self.rows, self.data[:, begin:end], self.scalars)


def with_sizes(ds: xr.Dataset, sizes: dict[str, float]) -> xr.Dataset:
    """``ds`` with every size in ``sizes`` fixed (lower = upper bound)."""
    ds = ds.copy()
    for name, value in sizes.items():
        ds[f"{name}_min"] = ds[f"{name}_max"] = ((), value, ds[f"{name}_max"].attrs)
    return ds


def soc_fraction(energy: float, mwh: float) -> float:
    """``mwh`` stored in a battery of ``energy`` MWh as a fraction of it, within [0, 1]."""
    return min(max(mwh / energy, 0.0), 1.0) if energy > 0 else 0.0


def fixed_soc(ds: xr.Dataset, energy: float, initial: float, terminal: float | None) -> None:
    """Set the battery's rule to ``fixed`` from ``initial`` MWh, ending with ≥ ``terminal``."""
    ds.attrs["battery_soc_rule"] = "fixed"
    ds["battery_initial_soc_fraction"] = ((), soc_fraction(energy, initial))
    if terminal is not None:
        ds["battery_terminal_soc_fraction"] = ((), soc_fraction(energy, terminal))


def allowed(inputs: xr.Dataset) -> np.ndarray:
    """What the grid allows in operation: the realised headroom H, and no more than the mode's
    own limit (a fixed pattern stays the DC's contract where H is higher)."""
    return np.minimum(inputs["grid_headroom_mw"].values, inputs["grid_import_limit_mw"].values)


def battery_limits(ds: Mapping, dt: float) -> BatteryLimits:
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


def realise(
    plan: Plan,
    inputs: Mapping,
    allowed_mw: np.ndarray,
    dt: float,
    soc_before_mwh: float,
    battery: BatteryLimits | None = None,
) -> Plan:
    """Operate a committed plan against the realised headroom (see module doc, step 3, and
    :mod:`wattbit.strategies.recourse`): ``inputs`` of its steps (series and scalars, as a
    Dataset holds them), what the grid allows there ``allowed_mw``, the battery holding
    ``soc_before_mwh`` before them (``battery``: its limits, if known; by default read from the
    plan and inputs). The realised operation: the plan with the import, the battery's operation
    and the emergency curtailment (:data:`EMERGENCY`) as operated."""
    both = ChainMap(plan, inputs)
    if "battery_charge_mw" not in plan.rows:
        battery = None
    elif battery is None:
        battery = battery_limits(both, dt)
    pue = inputs["dc_pue"]
    done = recourse(
        plan["grid_import_mw"],
        np.asarray(served_it_mw(both) * pue),
        allowed_mw,
        float(plan["grid_contract_mw"]),
        dt,
        plan["battery_charge_mw"] if battery else None,
        plan["battery_discharge_mw"] if battery else None,
        battery,
        soc_before_mwh,
    )
    rows, values = plan.rows, plan.data
    if EMERGENCY not in rows:
        rows = {**rows, EMERGENCY: len(rows)}
        values = np.vstack([values, np.zeros(plan.steps)])
    else:
        values = values.copy()
    values[rows["grid_import_mw"]] = done.import_mw
    if battery is not None:
        values[rows["battery_charge_mw"]] = done.charge_mw
        values[rows["battery_discharge_mw"]] = done.discharge_mw
        values[rows["battery_soc_mwh"]] = done.soc_mwh
    values[rows[EMERGENCY]] = done.shed_facility_mw / pue
    return Plan(plan.start, rows, values, plan.scalars)


def _load_values(m: pyo.ConcreteModel, ds: xr.Dataset) -> None:
    for blk in component_blocks(m):
        for var in blk.component_objects(pyo.Var, descend_into=False):
            values = np.atleast_1d(ds[f"{blk.local_name}_{var.local_name}"].values).tolist()
            for data, value in zip(var.values(), values, strict=True):
                data.set_value(value, skip_validation=True)


def evaluate(
    fixed: xr.Dataset,
    pieces: list[Plan],
    sizes: dict[str, float],
    soc0: float,
    attrs: dict[str, float | int | str],
) -> Run:
    """The realised operation (``pieces`` of :func:`realise`, in time order) of the assets
    ``sizes`` as a checked run: a battery left short at the end is refilled where headroom allows
    (any deficit left is reported as ``battery_terminal_deficit_mwh``), every cost term computed
    by the model. The pieces' arrays are put together once, in one Dataset."""
    # a window solved in place carries no inputs or cost terms: the series every piece has
    common = sorted(set.intersection(*(set(p.rows) for p in pieces)))
    joined = np.concatenate([p.data[[p.rows[k] for k in common]] for p in pieces], axis=1)
    realised = xr.Dataset(
        {k: ("time", row) for k, row in zip(common, joined, strict=True)},
        coords={"time": fixed["time"]},
    )
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
    whole = Plan.from_dataset(plan.results)
    attrs = {
        "solver_message": "plan on the fixed pattern, operated against the realised headroom",
        "plan_objective_jpy": float(plan.results.attrs["objective_jpy"]),
    }
    dt = float(fixed.attrs["dt_h"])
    piece = realise(whole, Plan.from_dataset(fixed), allowed(fixed), dt, soc0)
    run = evaluate(fixed, [piece], sizes, soc0, attrs)
    run.results["plan_grid_import_mw"] = plan.results["grid_import_mw"].assign_attrs(
        units="MW", doc="grid import of the plan on the pattern, before the realised headroom"
    )
    run.timings = {**plan.timings, "realise": time.perf_counter() - t0}
    return run
