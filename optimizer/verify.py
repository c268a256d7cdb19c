"""Independent verifier: re-checks a result Dataset against its own inputs, without the model.

It recomputes the site balance, the state-of-charge recursion, every bound and every cost term from
the arrays in the Dataset, with formulas written here again (not imported from ``formulations``),
so that a modelling error shows up as a violation instead of being repeated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

TOLERANCE = 1e-6


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


def _excess(values: np.ndarray | float, limit: np.ndarray | float) -> float:
    """Largest amount by which ``values`` exceeds ``limit`` (0 if never)."""
    return float(np.max(np.asarray(values) - np.asarray(limit), initial=0.0))


def _relative(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(a), abs(b))


def verify(ds: xr.Dataset) -> Verification:
    """Check a result Dataset; see :class:`Verification`."""
    v: dict[str, float] = {}
    get = {name: ds[name].values for name in ds.data_vars}
    dt = float(ds.attrs["dt_h"])
    alpha = 8760.0 / (ds.sizes["time"] * dt)
    zeros = np.zeros(ds.sizes["time"])

    share = float(get.get("dc_deferrable_share", 0.0))
    it, shed, pue = get["dc_it_mw"], get["dc_shed_it_mw"], get["dc_pue"]
    inflexible = it * (1.0 - share)
    w = get.get("shift_served_it_mw", zeros)
    dropped = get.get("shift_dropped_it_mw", zeros)
    g = get["grid_import_mw"]
    x = get.get("grid_export_mw", zeros)
    pv = get.get("pv_generation_mw", zeros)
    c = get.get("battery_charge_mw", zeros)
    d = get.get("battery_discharge_mw", zeros)

    emergency = get.get("emergency_curtailed_it_mw", zeros)
    gen = get.get("generator_output_mw", zeros)
    ups = get.get("ups_discharge_mw", zeros) - get.get("ups_charge_mw", zeros)
    reduced = get.get("shutdown_it_mw", zeros) + get.get("migration_it_mw", zeros)
    served = inflexible - shed + w - emergency - reduced
    balance = g - x + pv + d - c + gen + ups - served * pue
    v["site balance"] = float(np.max(np.abs(balance)))
    flows = [g, x, pv, c, d, shed, w, dropped, emergency, gen, reduced]
    flows += [
        get[n] for n in ("ups_charge_mw", "ups_discharge_mw", "generator_refuel_mw") if n in get
    ]
    v["non-negative flows"] = max(_excess(-arr, 0.0) for arr in flows)
    v["shed ≤ IT load"] = _excess(shed, inflexible)
    if "dc_size_mw" in get:
        size = float(get["dc_size_mw"])
        v["DC load = profile × size"] = float(np.max(np.abs(it - get["dc_it_per_mw"] * size)))
        v["dc_size_mw within bounds"] = max(
            _excess(size, get["dc_size_mw_max"]), _excess(get["dc_size_mw_min"], size)
        )
    v["import ≤ limit"] = _excess(g, get["grid_import_limit_mw"])
    v["import ≤ contract"] = _excess(g, get["grid_contract_mw"])
    v["export ≤ limit"] = _excess(x, get["grid_export_limit_mw"])
    for size in ("grid_contract_mw", "pv_capacity_mw", "battery_power_mw", "battery_energy_mwh"):
        if size in get:
            v[f"{size} within bounds"] = max(
                _excess(get[size], get[f"{size}_max"]), _excess(get[f"{size}_min"], get[size])
            )

    costs = {
        "cost_dc_lost_compute_jpy": alpha
        * float(get["dc_value_of_lost_compute_jpy_per_mwh"])
        * float(shed.sum())
        * dt,
        "cost_grid_energy_jpy": alpha
        * float((get["grid_energy_price_jpy_per_mwh"] * g).sum())
        * dt,
        "cost_grid_capacity_charge_jpy": float(
            get["grid_capacity_charge_jpy_per_mw_year"] * get["grid_contract_mw"]
        ),
    }
    if "dc_size_mw" in get:
        costs["cost_dc_size_value_jpy"] = -float(
            get["dc_value_of_size_jpy_per_mw_year"] * get["dc_size_mw"]
        )
    if "grid_export_mw" in get:
        costs["cost_grid_export_revenue_jpy"] = (
            -alpha * float((get["grid_export_price_jpy_per_mwh"] * x).sum()) * dt
        )

    if "shift_served_it_mw" in get:
        arrivals = share * it
        b = get["shift_backlog_mwh"]
        previous = np.concatenate(([float(get.get("dc_initial_backlog_mwh", 0.0))], b[:-1]))
        v["shift backlog recursion"] = float(
            np.max(np.abs(b - previous - (arrivals - w - dropped) * dt))
        )
        delay = round(float(get["dc_max_delay_h"]) / dt)
        arrived = np.concatenate(([0.0], np.cumsum(arrivals) * dt))
        recent = arrived[1:] - arrived[np.maximum(np.arange(1, len(b) + 1) - delay, 0)]
        recent = get.get("dc_backlog_max_mwh", recent)
        v["shift waits ≤ max delay"] = max(_excess(b, recent), _excess(-b, 0.0))
        v["shift backlog empty at end"] = abs(float(b[-1]))
        v["served IT ≤ IT capacity"] = _excess(inflexible - shed + w, get["dc_it_capacity_mw"])
        costs["cost_shift_lost_compute_jpy"] = (
            alpha * float(get["dc_value_of_lost_compute_jpy_per_mwh"]) * float(dropped.sum()) * dt
        )
        costs["cost_shift_deferral_jpy"] = (
            alpha * float(get["dc_deferral_cost_jpy_per_mwh_h"]) * float(b.sum()) * dt
        )

    if "emergency_curtailed_it_mw" in get:
        v["emergency ≤ IT served"] = _excess(emergency, inflexible - shed + w)
        costs["cost_emergency_curtailment_jpy"] = (
            alpha
            * float(get["grid_emergency_curtailment_cost_jpy_per_mwh"])
            * float(emergency.sum())
            * dt
        )

    if "pv_generation_mw" in get:
        v["PV ≤ capacity × availability"] = _excess(
            pv, get["pv_capacity_mw"] * get["pv_availability"]
        )
        costs["cost_pv_capex_jpy"] = float(get["pv_capex_jpy_per_mw_year"] * get["pv_capacity_mw"])

    if "battery_charge_mw" in get:
        P, E = float(get["battery_power_mw"]), float(get["battery_energy_mwh"])
        e, e0 = get["battery_soc_mwh"], float(get["battery_soc_initial_mwh"])
        keep = (1.0 - float(get["battery_standing_loss_per_h"])) ** dt
        eta_c = float(get["battery_charge_efficiency"])
        eta_d = float(get["battery_discharge_efficiency"])
        previous = np.concatenate(([e0], e[:-1]))
        recursion = e - (keep * previous + eta_c * c * dt - d * dt / eta_d)
        v["battery SoC recursion"] = float(np.max(np.abs(recursion)))
        v["battery power"] = max(_excess(c, P), _excess(d, P))
        lo, hi = (
            float(get["battery_soc_min_fraction"]) * E,
            float(get["battery_soc_max_fraction"]) * E,
        )
        v["battery SoC window"] = max(
            _excess(e, hi), _excess(lo, e), _excess(e0, hi), _excess(lo, e0)
        )
        if ds.attrs.get("battery_soc_rule") == "cyclic":
            v["battery cyclic SoC"] = abs(float(e[-1]) - e0)
        else:
            sigma0 = float(get["battery_initial_soc_fraction"]) * E
            sigma_n = float(get.get("battery_terminal_soc_fraction", sigma0 / E if E else 0)) * E
            v["battery fixed SoC"] = max(abs(e0 - sigma0), _excess(sigma_n, float(e[-1])))
        if ds.attrs.get("battery_exclusivity_enforced", 0):
            v["battery exclusive charge/discharge"] = float(np.max(np.minimum(c, d), initial=0.0))
        costs["cost_battery_capex_jpy"] = float(
            get["battery_power_capex_jpy_per_mw_year"] * P
            + get["battery_energy_capex_jpy_per_mwh_year"] * E
        )
        costs["cost_battery_degradation_jpy"] = (
            alpha * float(get["battery_throughput_cost_jpy_per_mwh"]) * float(d.sum()) * dt
        )

    _verify_ride_through(ds, get, v, costs)

    for name, value in costs.items():
        v[f"{name} recomputed"] = _relative(value, float(get[name])) if name in get else np.inf
    reported = sorted(str(n) for n in ds.data_vars if str(n).startswith("cost_"))
    v["cost terms all checked"] = 0.0 if reported == sorted(costs) else np.inf
    v["total cost = sum of terms"] = _relative(sum(costs.values()), float(get["total_cost_jpy"]))
    if "objective_jpy" in ds.attrs:  # the solver's own figure: nothing priced outside the terms
        v["objective = total cost"] = _relative(
            float(ds.attrs["objective_jpy"]), sum(costs.values())
        )
    return Verification(v)


def _bounds(get: dict[str, np.ndarray], size: str) -> float:
    return max(_excess(get[size], get[f"{size}_max"]), _excess(get[f"{size}_min"], get[size]))


def _verify_ride_through(
    ds: xr.Dataset, get: dict[str, np.ndarray], v: dict[str, float], costs: dict[str, float]
) -> None:
    """Type ③ import limit, generator, UPS, shutdown (with the SLA penalty) and migration."""
    dt = float(ds.attrs["dt_h"])
    alpha = 8760.0 / (ds.sizes["time"] * dt)
    zeros = np.zeros(ds.sizes["time"])
    if "type3_margin_mw" in get:
        margin = float(get["type3_margin_mw"])
        fault = np.clip(get["type3_fault_residual_mw"], 0.0, margin)
        maint = np.clip(get["type3_maintenance_residual_mw"], 0.0, margin)
        residual = np.where(get["type3_maintenance_cut"] > 0, np.minimum(margin, maint), margin)
        residual = np.where(get["type3_fault_cut"] > 0, np.minimum(residual, fault), residual)
        expected = float(get["type3_firm_mw"]) + residual
        v["type3 limit = firm + margin or residual"] = float(
            np.max(np.abs(get["grid_import_limit_mw"] - expected))
        )
    if "generator_output_mw" in get:
        P, h = float(get["generator_power_mw"]), float(get["generator_fuel_tank_h"])
        y, r, f = get["generator_output_mw"], get["generator_refuel_mw"], get["generator_fuel_mwh"]
        previous = np.concatenate(([h * P], f[:-1]))
        v["generator fuel recursion"] = float(np.max(np.abs(f - previous - (r - y) * dt)))
        v["generator output ≤ availability × power"] = _excess(y, get["generator_availability"] * P)
        v["generator fuel ≤ tank"] = max(_excess(f, h * P), _excess(-f, 0.0))
        v["generator refuel ≤ limit"] = _excess(r, get["generator_refuel_limit"] * P)
        v["generator_power_mw within bounds"] = _bounds(get, "generator_power_mw")
        generated = float(y.sum()) * dt
        costs["cost_generator_capex_jpy"] = float(get["generator_capex_jpy_per_mw_year"]) * P
        costs["cost_generator_fuel_jpy"] = (
            alpha * float(get["generator_fuel_cost_jpy_per_mwh"]) * generated
        )
        costs["cost_generator_emissions_jpy"] = (
            alpha
            * float(get["generator_carbon_price_jpy_per_t"])
            * float(get["generator_emissions_t_per_mwh"])
            * generated
        )
    if "ups_discharge_mw" in get:
        U = float(get["ups_power_mw"])
        cap = float(get["ups_autonomy_minutes"]) / 60.0 * U
        c, d = get["ups_charge_mw"], get["ups_discharge_mw"]
        e, e0 = get["ups_soc_mwh"], float(get["ups_soc_initial_mwh"])
        previous = np.concatenate(([e0], e[:-1]))
        eta_c, eta_d = float(get["ups_charge_efficiency"]), float(get["ups_discharge_efficiency"])
        v["UPS SoC recursion"] = float(
            np.max(np.abs(e - previous - eta_c * c * dt + d * dt / eta_d))
        )
        v["UPS power"] = max(_excess(c, U), _excess(d, get["ups_discharge_allowed"] * U))
        v["UPS SoC ≤ autonomy"] = max(_excess(e, cap), _excess(e0, cap), _excess(-e, 0.0))
        v["UPS cyclic SoC"] = abs(float(e[-1]) - e0)
        v["ups_power_mw within bounds"] = _bounds(get, "ups_power_mw")
        costs["cost_ups_capex_jpy"] = float(get["ups_capex_jpy_per_mw_year"]) * U
    share = float(get.get("dc_deferrable_share", 0.0))
    load = get["dc_it_mw"] * (1.0 - share)
    shed = get["dc_shed_it_mw"]
    sd = get.get("shutdown_it_mw", zeros)
    if "shutdown_it_mw" in get:
        room = (1.0 - float(get.get("shutdown_protected_share", 1.0))) * get.get(
            "shutdown_availability", zeros
        )
        v["shutdown ≤ unprotected share after notice"] = _excess(sd, room * load)
        value = float(get.get("shutdown_value_of_lost_compute_jpy_per_mwh", 0.0))
        costs["cost_shutdown_lost_compute_jpy"] = alpha * value * float(sd.sum()) * dt
        penalty = float(get.get("type3_sla_penalty_jpy_per_event", 0.0))
        if penalty > 0 and "event_steps" in get:
            k = int(ds["scenario"]) if "scenario" in ds.coords else 0
            interrupted = 0
            for scenario, first, n in zip(
                get["event_scenario"], get["event_first_step"], get["event_steps"], strict=True
            ):
                if scenario == k and n > 0:
                    lost = shed[first : first + n] + sd[first : first + n]
                    interrupted += int(np.max(lost) > TOLERANCE)
            costs["cost_shutdown_sla_jpy"] = alpha * penalty * interrupted
    if "migration_it_mw" in get:
        mig = get["migration_it_mw"]
        cap = float(get["migration_capacity_it_mw"]) * get["migration_availability"]
        v["migration ≤ capacity after notice"] = _excess(mig, cap)
        costs["cost_migration_transfer_jpy"] = (
            alpha * float(get["migration_cost_jpy_per_mwh"]) * float(mig.sum()) * dt
        )
    if "shutdown_it_mw" in get or "migration_it_mw" in get:
        mig = get.get("migration_it_mw", zeros)
        v["shed + shutdown + migration ≤ IT load"] = _excess(shed + sd + mig, load)
