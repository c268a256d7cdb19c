"""Component checks of a single site: the DC, its grid connection, deferrable work, service level,
emergency curtailment, PV, battery, sizes, and the site's balance and total cost (E1, E2).

Each function re-checks its block's equations from the result's arrays, with formulas written
here again (not imported from ``formulations``); see :mod:`wattbit.verify`.
"""

from __future__ import annotations

import math

import numpy as np

from wattbit.sizes import bounds, size_names
from wattbit.verify.checks import Checks, Result, excess, recursion, relative, within

_VOLL = "dc_value_of_lost_compute_jpy_per_mwh"


def verify_dc(r: Result) -> Checks:
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


def verify_connection(r: Result) -> Checks:
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


def verify_shift(r: Result) -> Checks:
    """Temporal workload shift (W1–W7)."""
    v = Checks()
    if "shift_served_it_mw" not in r:
        return v
    arrivals = r.scalar("dc_deferrable_share") * r["dc_it_mw"]
    w, dropped, b = r["shift_served_it_mw"], r["shift_dropped_it_mw"], r["shift_backlog_mwh"]
    cyclic = r.ds.attrs.get("dc_backlog_rule") == "cyclic"  # work waiting at the end wraps round
    b0 = float(b[-1]) if cyclic else r.scalar("dc_initial_backlog_mwh", 0.0)
    v["W1 backlog recursion"] = recursion(b, b0, 1.0, arrivals * r.dt, (w + dropped) * r.dt)
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


def verify_service(r: Result) -> Checks:
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


def verify_emergency(r: Result) -> Checks:
    """Emergency curtailment of a rolling-horizon operation (C1–C3)."""
    v = Checks()
    if "emergency_curtailed_it_mw" not in r:
        return v
    e = r["emergency_curtailed_it_mw"]
    v["C1 0 ≤ curtailed ≤ IT served"] = within(e, 0.0, r.served_before_reductions_mw)
    price = r.scalar("grid_emergency_curtailment_cost_jpy_per_mwh")
    v.cost(r, "C3", "cost_emergency_curtailment_jpy", r.annual_sum(price, e))
    return v


def verify_pv(r: Result) -> Checks:
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


def verify_battery(r: Result) -> Checks:
    """Battery (B1–B10, S1)."""
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
    v["B5 battery SoC recursion"] = recursion(e, e0, keep, inflow, outflow)
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
    if "cost_battery_ageing_jpy" in r:
        cycled = 0.5 * (c + d)
        ageing = r.annual_sum(r.scalar("battery_ageing_cost_jpy_per_mwh"), cycled)
        v.cost(r, "B10", "cost_battery_ageing_jpy", ageing)
    return v


def verify_sizes(r: Result) -> Checks:
    """Every size (:func:`wattbit.sizes.size_names`) within its bounds: variable bounds, untagged;
    a size with bounds but no value in the result is an infinite violation."""
    v = Checks()
    for size in size_names(r.ds):
        lo, hi = bounds(r.ds, size)
        v[f"{size} within bounds"] = within(r[size], lo, hi) if size in r else math.inf
    return v


def verify_site(r: Result, costs: dict[str, float]) -> Checks:
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
