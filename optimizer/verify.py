"""Independent verifier: re-checks a result Dataset against its own inputs, without the model.

It recomputes the site balance, the state-of-charge recursions, every bound and every cost term
from the arrays in the Dataset, with formulas written here again (not imported from
``formulations``), so that a modelling error shows up as a violation instead of being repeated.

One function per component (``_verify_battery``, ``_verify_connection``, …) returns that
component's :class:`Checks`. Each check is named by the equation tags of its formulation
(``docs/formulation.md``) and what it checks, e.g. ``"B5 battery SoC recursion"``; each cost term
``cost_<block>_<term>_jpy`` is recomputed under ``"<tag> cost_<block>_<term>_jpy recomputed"``.
Variable domains (``≥ 0``) are checked with the tagged bound of the same variable
(``"G1 0 ≤ import ≤ limit"``); size bounds are untagged (``"<size> within bounds"``).

To add a check: compute it in the component's function (or add a function for a new component and
list it in ``COMPONENTS``); record a cost term with :meth:`Checks.cost`, so that
``"E2 cost terms all checked"`` and ``"E2 total cost = sum of terms"`` count it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from wattbit.sizes import bounds, size_names

TOLERANCE = 1e-6
_VOLL = "dc_value_of_lost_compute_jpy_per_mwh"


@dataclass
class Verification:
    """Largest violation per check: MW/MWh for physics, relative for costs."""

    violations: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # NaN compares false with everything: ``max`` would skip it unless it came first, and a
        # result with NaN in it would pass. A check that cannot be evaluated is a violation.
        self.violations = {
            name: math.inf if math.isnan(value) else float(value)
            for name, value in self.violations.items()
        }

    @property
    def max_violation(self) -> float:
        return max(self.violations.values(), default=0.0)

    @property
    def worst(self) -> str:
        return max(self.violations, key=self.violations.get) if self.violations else ""

    @property
    def ok(self) -> bool:
        return self.max_violation <= TOLERANCE


def excess(values: np.ndarray | float, limit: np.ndarray | float) -> float:
    """Largest amount by which ``values`` exceeds ``limit`` (0 if never)."""
    return float(np.max(np.asarray(values) - np.asarray(limit), initial=0.0))


def within(values: np.ndarray | float, lo: np.ndarray | float, hi: np.ndarray | float) -> float:
    """Largest amount by which ``values`` leaves ``[lo, hi]`` (0 if never)."""
    return max(excess(values, hi), excess(lo, values))


def relative(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(a), abs(b))


def _recursion(
    e: np.ndarray, e0: float, keep: float, inflow: np.ndarray, outflow: np.ndarray
) -> float:
    """max |e_t − (keep·e_{t−1} + inflow_t − outflow_t)|, e_{−1} = e0 (energies per step, MWh)."""
    previous = np.concatenate(([e0], e[:-1]))
    return float(np.max(np.abs(e - (keep * previous + inflow - outflow)), initial=0.0))


@dataclass(frozen=True)
class Result:
    """The arrays of a result Dataset, with the time axis every component check needs."""

    ds: xr.Dataset
    get: dict[str, np.ndarray]
    dt: float
    alpha: float
    zeros: np.ndarray

    @classmethod
    def of(cls, ds: xr.Dataset) -> Result:
        dt = float(ds.attrs["dt_h"])
        n = ds.sizes["time"]
        get = {str(name): ds[name].values for name in ds.data_vars}
        return cls(ds, get, dt, 8760.0 / (n * dt), np.zeros(n))

    def __contains__(self, name: str) -> bool:
        return name in self.get

    def __getitem__(self, name: str) -> np.ndarray:
        return self.get[name]

    def series(self, name: str) -> np.ndarray:
        """A time series, zero when the component that writes it is absent."""
        return self.get.get(name, self.zeros)

    def scalar(self, name: str, default: float | None = None) -> float:
        return float(self.get[name]) if default is None else float(self.get.get(name, default))

    def annual_sum(self, price: float | np.ndarray, flow: np.ndarray) -> float:
        """α Σ_t price_t flow_t Δt: an operating cost term, annualised."""
        return self.alpha * float(np.sum(np.asarray(price) * flow)) * self.dt

    @property
    def inflexible_it_mw(self) -> np.ndarray:
        """(1 − φ) L^IT_t: the DC's IT load that is not deferrable."""
        return self["dc_it_mw"] * (1.0 - self.scalar("dc_deferrable_share", 0.0))

    @property
    def served_before_reductions_mw(self) -> np.ndarray:
        """(1 − φ) L^IT_t − s_t + w_t: the IT load served before emergency and type ③ cuts."""
        return self.inflexible_it_mw - self["dc_shed_it_mw"] + self.series("shift_served_it_mw")


@dataclass
class Checks:
    """One component's checks (largest violation per name) and its recomputed cost terms."""

    violations: dict[str, float] = field(default_factory=dict)
    costs: dict[str, float] = field(default_factory=dict)

    def __setitem__(self, name: str, violation: float) -> None:
        self.violations[name] = violation

    def cost(self, r: Result, tag: str, name: str, value: float) -> None:
        """Record the recomputed cost term ``name`` (tag ``tag``) and compare it with the result."""
        self.costs[name] = value
        reported = r.scalar(name) if name in r else math.nan
        self.violations[f"{tag} {name} recomputed"] = (
            math.inf if math.isnan(reported) else relative(value, reported)
        )


def _verify_dc(r: Result) -> Checks:
    """Data centre (D0–D4)."""
    v = Checks()
    shed, load = r["dc_shed_it_mw"], r.inflexible_it_mw
    v["D1 0 ≤ shed ≤ IT load"] = within(shed, 0.0, load)
    v.cost(r, "D3", "cost_dc_lost_compute_jpy", r.annual_sum(r.scalar(_VOLL), shed))
    if "dc_size_mw" in r:
        size = r.scalar("dc_size_mw")
        v["D0 DC load = profile × size"] = float(
            np.max(np.abs(r["dc_it_mw"] - r["dc_it_per_mw"] * size))
        )
        v.cost(
            r, "D4", "cost_dc_size_value_jpy", -r.scalar("dc_value_of_size_jpy_per_mw_year") * size
        )
    return v


def _verify_connection(r: Result) -> Checks:
    """Grid connection (G1–G6), and the type ③ import limit H_t of (G1)."""
    v = Checks()
    g, contract = r["grid_import_mw"], r.scalar("grid_contract_mw")
    v["G1 0 ≤ import ≤ limit"] = within(g, 0.0, r["grid_import_limit_mw"])
    v["G2 import ≤ contract"] = excess(g, contract)
    v.cost(r, "G4", "cost_grid_energy_jpy", r.annual_sum(r["grid_energy_price_jpy_per_mwh"], g))
    v.cost(
        r,
        "G6",
        "cost_grid_capacity_charge_jpy",
        r.scalar("grid_capacity_charge_jpy_per_mw_year") * contract,
    )
    x = r.series("grid_export_mw")
    v["G3 0 ≤ export ≤ limit"] = within(x, 0.0, r["grid_export_limit_mw"])
    if "grid_export_mw" in r:
        revenue = -r.annual_sum(r["grid_export_price_jpy_per_mwh"], x)
        v.cost(r, "G5", "cost_grid_export_revenue_jpy", revenue)
    if "type3_margin_mw" in r:
        margin = r.scalar("type3_margin_mw")
        fault = np.clip(r["type3_fault_residual_mw"], 0.0, margin)
        maint = np.clip(r["type3_maintenance_residual_mw"], 0.0, margin)
        residual = np.where(r["type3_maintenance_cut"] > 0, np.minimum(margin, maint), margin)
        residual = np.where(r["type3_fault_cut"] > 0, np.minimum(residual, fault), residual)
        expected = r.scalar("type3_firm_mw") + residual
        v["G1 type ③ limit = firm + margin or residual"] = float(
            np.max(np.abs(r["grid_import_limit_mw"] - expected))
        )
    return v


def _verify_shift(r: Result) -> Checks:
    """Temporal workload shift (W1–W7)."""
    v = Checks()
    if "shift_served_it_mw" not in r:
        return v
    arrivals = r.scalar("dc_deferrable_share") * r["dc_it_mw"]
    w, dropped, b = r["shift_served_it_mw"], r["shift_dropped_it_mw"], r["shift_backlog_mwh"]
    cyclic = r.ds.attrs.get("dc_backlog_rule") == "cyclic"  # work waiting at the end wraps round
    b0 = float(b[-1]) if cyclic else r.scalar("dc_initial_backlog_mwh", 0.0)
    v["W1 backlog recursion"] = _recursion(b, b0, 1.0, arrivals * r.dt, (w + dropped) * r.dt)
    v["W1 dropped work ≥ 0"] = excess(-dropped, 0.0)
    delay = math.floor(r.scalar("dc_max_delay_h") / r.dt * (1.0 + 1e-9))  # never above the max
    before = arrivals[len(arrivals) - min(delay, len(arrivals)) :] if cyclic else arrivals[:0]
    arrived = np.concatenate(([0.0], np.cumsum(np.concatenate((before, arrivals))) * r.dt))
    end = np.arange(len(before) + 1, len(arrived))
    recent = arrived[end] - arrived[np.maximum(end - delay, 0)]
    bound = r.get.get("dc_backlog_max_mwh", recent)
    v["W2 0 ≤ backlog ≤ arrivals within the max delay"] = within(b, 0.0, bound)
    room = r["dc_it_capacity_mw"] - r.inflexible_it_mw
    v["W3 0 ≤ served ≤ IT capacity − inflexible load"] = within(w, 0.0, room)
    v["W3 IT served ≤ IT capacity"] = excess(r.served_before_reductions_mw, r["dc_it_capacity_mw"])
    if not cyclic:
        v["W4 backlog empty at the end"] = abs(float(b[-1]))
    v.cost(r, "W6", "cost_shift_lost_compute_jpy", r.annual_sum(r.scalar(_VOLL), dropped))
    deferral = r.annual_sum(r.scalar("dc_deferral_cost_jpy_per_mwh_h"), b)
    v.cost(r, "W7", "cost_shift_deferral_jpy", deferral)
    return v


def _verify_service(r: Result) -> Checks:
    """Service level (Q1, Q2): the IT energy not served (shed and dropped) within its bound."""
    v = Checks()
    unserved = float(np.sum(r["dc_shed_it_mw"] + r.series("shift_dropped_it_mw"))) * r.dt
    if "dc_min_served_share" in r:
        demand = float(np.sum(r["dc_it_mw"])) * r.dt
        allowed = (1.0 - r.scalar("dc_min_served_share")) * demand
        v["Q1 IT energy not served ≤ (1 − share) × demand"] = excess(unserved, allowed)
    if "dc_max_unserved_it_mwh_per_year" in r:
        bound = r.scalar("dc_max_unserved_it_mwh_per_year")
        v["Q2 IT energy not served per year ≤ bound"] = excess(r.alpha * unserved, bound)
    return v


def _verify_emergency(r: Result) -> Checks:
    """Emergency curtailment of a rolling-horizon operation (C1–C3)."""
    v = Checks()
    if "emergency_curtailed_it_mw" not in r:
        return v
    e = r["emergency_curtailed_it_mw"]
    v["C1 0 ≤ curtailed ≤ IT served"] = within(e, 0.0, r.served_before_reductions_mw)
    price = r.scalar("grid_emergency_curtailment_cost_jpy_per_mwh")
    v.cost(r, "C3", "cost_emergency_curtailment_jpy", r.annual_sum(price, e))
    return v


def _verify_pv(r: Result) -> Checks:
    """PV (P1–P2)."""
    v = Checks()
    if "pv_generation_mw" not in r:
        return v
    K = r.scalar("pv_capacity_mw")
    v["P1 0 ≤ PV ≤ capacity × availability"] = within(
        r["pv_generation_mw"], 0.0, K * r["pv_availability"]
    )
    v.cost(r, "P2", "cost_pv_capex_jpy", r.scalar("pv_capex_jpy_per_mw_year") * K)
    return v


def _verify_battery(r: Result) -> Checks:
    """Battery (B1–B9, S1)."""
    v = Checks()
    if "battery_charge_mw" not in r:
        return v
    P, E = r.scalar("battery_power_mw"), r.scalar("battery_energy_mwh")
    c, d = r["battery_charge_mw"], r["battery_discharge_mw"]
    e, e0 = r["battery_soc_mwh"], r.scalar("battery_soc_initial_mwh")
    v["B1, B2 0 ≤ charge, discharge ≤ power"] = max(within(c, 0.0, P), within(d, 0.0, P))
    lo = r.scalar("battery_soc_min_fraction") * E
    hi = r.scalar("battery_soc_max_fraction") * E
    v["B3, B4 battery SoC window"] = max(within(e, lo, hi), within(e0, lo, hi))
    keep = (1.0 - r.scalar("battery_standing_loss_per_h")) ** r.dt
    inflow = r.scalar("battery_charge_efficiency") * c * r.dt
    outflow = d * r.dt / r.scalar("battery_discharge_efficiency")
    v["B5 battery SoC recursion"] = _recursion(e, e0, keep, inflow, outflow)
    if r.ds.attrs.get("battery_soc_rule") == "cyclic":
        v["B6 battery cyclic SoC"] = abs(float(e[-1]) - e0)
    else:
        sigma0 = r.scalar("battery_initial_soc_fraction") * E
        sigma_n = r.scalar("battery_terminal_soc_fraction", sigma0 / E if E else 0) * E
        v["B6 battery fixed SoC"] = max(abs(e0 - sigma0), excess(sigma_n, float(e[-1])))
    if r.ds.attrs.get("battery_exclusivity_enforced", 0):
        v["B7 battery exclusive charge/discharge"] = float(np.max(np.minimum(c, d), initial=0.0))
    capex = (
        r.scalar("battery_power_capex_jpy_per_mw_year") * P
        + r.scalar("battery_energy_capex_jpy_per_mwh_year") * E
    )
    v.cost(r, "B8", "cost_battery_capex_jpy", capex)
    throughput = r.annual_sum(r.scalar("battery_throughput_cost_jpy_per_mwh"), d)
    v.cost(r, "B9", "cost_battery_degradation_jpy", throughput)
    return v


def _verify_generator(r: Result) -> Checks:
    """Backup generator (F1–F10)."""
    v = Checks()
    if "generator_output_mw" not in r:
        return v
    P, h = r.scalar("generator_power_mw"), r.scalar("generator_fuel_tank_h")
    y, refuel, f = r["generator_output_mw"], r["generator_refuel_mw"], r["generator_fuel_mwh"]
    v["F1 0 ≤ output ≤ availability × power"] = within(y, 0.0, r["generator_availability"] * P)
    v["F2 0 ≤ fuel ≤ tank"] = within(f, 0.0, h * P)
    v["F3, F4 fuel recursion from a full tank"] = _recursion(f, h * P, 1.0, refuel * r.dt, y * r.dt)
    v["F5 0 ≤ refuel ≤ limit"] = within(refuel, 0.0, r["generator_refuel_limit"] * P)
    if "generator_max_run_h_per_event" in r and "event_steps" in r:
        k = int(r.ds["scenario"]) if "scenario" in r.ds.coords else 0
        cap = r.scalar("generator_max_run_h_per_event") * P
        rows = zip(
            r["event_scenario"],
            r["event_kind"],
            r["event_first_step"],
            r["event_steps"],
            strict=True,
        )
        runs = [
            float(y[first : first + n].sum()) * r.dt
            for scenario, kind, first, n in rows
            if scenario == k and kind == "fault" and n > 0
        ]
        v["F9 running hours per fault ≤ cap"] = max((excess(e, cap) for e in runs), default=0.0)
    if "generator_max_run_h_per_year" in r:
        yearly = r.annual_sum(1.0, y)
        v["F10 running hours per year ≤ cap"] = excess(
            yearly, r.scalar("generator_max_run_h_per_year") * P
        )
    v.cost(r, "F6", "cost_generator_capex_jpy", r.scalar("generator_capex_jpy_per_mw_year") * P)
    fuel = r.annual_sum(r.scalar("generator_fuel_cost_jpy_per_mwh"), y)
    v.cost(r, "F7", "cost_generator_fuel_jpy", fuel)
    carbon = r.scalar("generator_carbon_price_jpy_per_t") * r.scalar(
        "generator_emissions_t_per_mwh"
    )
    v.cost(r, "F8", "cost_generator_emissions_jpy", r.annual_sum(carbon, y))
    return v


def _verify_ups(r: Result) -> Checks:
    """UPS (U1–U6)."""
    v = Checks()
    if "ups_discharge_mw" not in r:
        return v
    U = r.scalar("ups_power_mw")
    cap = r.scalar("ups_autonomy_minutes") / 60.0 * U
    c, d = r["ups_charge_mw"], r["ups_discharge_mw"]
    e, e0 = r["ups_soc_mwh"], r.scalar("ups_soc_initial_mwh")
    v["U1, U2 0 ≤ UPS charge ≤ power, discharge ≤ power while cut"] = max(
        within(c, 0.0, U), within(d, 0.0, r["ups_discharge_allowed"] * U)
    )
    v["U3 0 ≤ UPS SoC ≤ autonomy"] = within(e, 0.0, cap)
    inflow = r.scalar("ups_charge_efficiency") * c * r.dt
    outflow = d * r.dt / r.scalar("ups_discharge_efficiency")
    v["U4 UPS SoC recursion"] = _recursion(e, e0, 1.0, inflow, outflow)
    v["U5 UPS cyclic SoC ≤ autonomy"] = max(abs(float(e[-1]) - e0), excess(e0, cap))
    v.cost(r, "U6", "cost_ups_capex_jpy", r.scalar("ups_capex_jpy_per_mw_year") * U)
    return v


def _reductions_fit(r: Result) -> float:
    """(H2, R2): shed + shutdown + migration ≤ the DC's inflexible IT load."""
    reduced = r["dc_shed_it_mw"] + r.series("shutdown_it_mw") + r.series("migration_it_mw")
    return excess(reduced, r.inflexible_it_mw)


def _verify_shutdown(r: Result) -> Checks:
    """Graceful shutdown and the SLA penalty (H1–H6)."""
    v = Checks()
    if "shutdown_it_mw" not in r:
        return v
    z, shed, load = r["shutdown_it_mw"], r["dc_shed_it_mw"], r.inflexible_it_mw
    room = (1.0 - r.scalar("shutdown_protected_share", 1.0)) * r.series("shutdown_availability")
    v["H1 0 ≤ shutdown ≤ unprotected share after notice"] = within(z, 0.0, room * load)
    v["H2, R2 shed + shutdown + migration ≤ IT load"] = _reductions_fit(r)
    value = r.scalar("shutdown_value_of_lost_compute_jpy_per_mwh", 0.0)
    v.cost(r, "H4", "cost_shutdown_lost_compute_jpy", r.annual_sum(value, z))
    penalty = r.scalar("type3_sla_penalty_jpy_per_event", 0.0)
    if penalty > 0 and "event_steps" in r:  # (H5) counted: events with any interruption
        k = int(r.ds["scenario"]) if "scenario" in r.ds.coords else 0
        interrupted = 0
        for scenario, first, n in zip(
            r["event_scenario"], r["event_first_step"], r["event_steps"], strict=True
        ):
            if scenario == k and n > 0:
                lost = shed[first : first + n] + z[first : first + n]
                interrupted += int(np.max(lost) > TOLERANCE)
        v.cost(r, "H6", "cost_shutdown_sla_jpy", r.alpha * penalty * interrupted)
    return v


def _verify_migration(r: Result) -> Checks:
    """Migration to another site during an outage (R1–R4)."""
    v = Checks()
    if "migration_it_mw" not in r:
        return v
    m = r["migration_it_mw"]
    cap = r.scalar("migration_capacity_it_mw") * r["migration_availability"]
    v["R1 0 ≤ migration ≤ capacity after notice"] = within(m, 0.0, cap)
    v["H2, R2 shed + shutdown + migration ≤ IT load"] = _reductions_fit(r)
    transfer = r.annual_sum(r.scalar("migration_cost_jpy_per_mwh"), m)
    v.cost(r, "R4", "cost_migration_transfer_jpy", transfer)
    return v


def _verify_sizes(r: Result) -> Checks:
    """Every size (:func:`wattbit.sizes.size_names`) within its bounds: variable bounds, untagged;
    a size with bounds but no value in the result is an infinite violation."""
    v = Checks()
    for size in size_names(r.ds):
        lo, hi = bounds(r.ds, size)
        v[f"{size} within bounds"] = within(r[size], lo, hi) if size in r else math.inf
    return v


def _verify_site(r: Result, costs: dict[str, float]) -> Checks:
    """Site balance and total cost (E1–E2), given every component's recomputed cost terms."""
    v = Checks()
    served = (
        r.served_before_reductions_mw
        - r.series("emergency_curtailed_it_mw")
        - r.series("shutdown_it_mw")
        - r.series("migration_it_mw")
    )
    supply = (
        r["grid_import_mw"]
        - r.series("grid_export_mw")
        + r.series("pv_generation_mw")
        + r.series("battery_discharge_mw")
        - r.series("battery_charge_mw")
        + r.series("generator_output_mw")
        + r.series("ups_discharge_mw")
        - r.series("ups_charge_mw")
    )
    v["E1 site balance"] = float(np.max(np.abs(supply - served * r["dc_pue"])))
    reported = sorted(name for name in r.get if name.startswith("cost_"))
    v["E2 cost terms all checked"] = 0.0 if reported == sorted(costs) else math.inf
    total = sum(costs.values())
    v["E2 total cost = sum of terms"] = relative(total, r.scalar("total_cost_jpy"))
    if "objective_jpy" in r.ds.attrs:  # the solver's own figure: nothing priced outside the terms
        v["E2 objective = total cost"] = relative(float(r.ds.attrs["objective_jpy"]), total)
    return v


COMPONENTS: tuple[Callable[[Result], Checks], ...] = (
    _verify_dc,
    _verify_connection,
    _verify_shift,
    _verify_service,
    _verify_emergency,
    _verify_pv,
    _verify_battery,
    _verify_generator,
    _verify_ups,
    _verify_shutdown,
    _verify_migration,
    _verify_sizes,
)


def verify(ds: xr.Dataset) -> Verification:
    """Check a result Dataset, component by component; see :class:`Verification`."""
    r = Result.of(ds)
    violations: dict[str, float] = {}
    costs: dict[str, float] = {}
    for component in COMPONENTS:
        checks = component(r)
        violations.update(checks.violations)
        costs.update(checks.costs)
    violations.update(_verify_site(r, costs).violations)
    return Verification(violations)
