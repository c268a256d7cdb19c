"""Component checks of the type ③ ride-through blocks: generator, UPS, graceful shutdown (with
the SLA penalty) and migration; see :mod:`wattbit.verify`.
"""

from __future__ import annotations

import numpy as np

from wattbit.verify.checks import TOLERANCE, Checks, Result, excess, recursion, within


def verify_generator(r: Result) -> Checks:
    """Backup generator (F1–F10)."""
    v = Checks()
    if "generator_output_mw" not in r:
        return v
    P, h = r.scalar("generator_power_mw"), r.scalar("generator_fuel_tank_h")
    y, refuel, f = r["generator_output_mw"], r["generator_refuel_mw"], r["generator_fuel_mwh"]
    v["F1 0 ≤ output ≤ availability × power"] = within(y, 0.0, r["generator_availability"] * P)
    v["F2 0 ≤ fuel ≤ tank"] = within(f, 0.0, h * P)
    v["F3, F4 fuel recursion from a full tank"] = recursion(f, h * P, 1.0, refuel * r.dt, y * r.dt)
    v["F5 0 ≤ refuel ≤ limit"] = within(refuel, 0.0, r["generator_refuel_limit"] * P)
    if "generator_max_run_h_per_event" in r and "event_steps" in r:
        cap = r.scalar("generator_max_run_h_per_event") * P
        runs = r.fault_sums(y)
        v["F9 running hours per fault ≤ cap"] = max((excess(e, cap) for e in runs), default=0.0)
    if "generator_max_run_h_per_year" in r:
        yearly = r.annual_sum(1.0, y)
        v["F10 running hours per year ≤ cap"] = excess(
            yearly, r.scalar("generator_max_run_h_per_year") * P
        )
    if "generator_capex_jpy_per_mw_year" in r:  # else genset types: J4 (verify.milp)
        capex = r.scalar("generator_capex_jpy_per_mw_year") * P
        v.cost(r, "F6", "cost_generator_capex_jpy", capex)
        fuel = r.annual_sum(r.scalar("generator_fuel_cost_jpy_per_mwh"), y)
        v.cost(r, "F7", "cost_generator_fuel_jpy", fuel)
    carbon = r.scalar("generator_carbon_price_jpy_per_t") * r.scalar(
        "generator_emissions_t_per_mwh"
    )
    v.cost(r, "F8", "cost_generator_emissions_jpy", r.annual_sum(carbon, y))
    return v


def verify_ups(r: Result) -> Checks:
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
    v["U4 UPS SoC recursion"] = recursion(e, e0, 1.0, inflow, outflow)
    v["U5 UPS cyclic SoC ≤ autonomy"] = max(abs(float(e[-1]) - e0), excess(e0, cap))
    v.cost(r, "U6", "cost_ups_capex_jpy", r.scalar("ups_capex_jpy_per_mw_year") * U)
    return v


def _reductions_fit(r: Result) -> float:
    """(H2, R2): shed + shutdown + migration ≤ the DC's inflexible IT load."""
    reduced = r["dc_shed_it_mw"] + r.series("shutdown_it_mw") + r.series("migration_it_mw")
    return excess(reduced, r.inflexible_it_mw)


def verify_shutdown(r: Result) -> Checks:
    """Graceful shutdown, the SLA penalty and the minimum survival time (H1–H7)."""
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
    required = r.scalar("scenario_survival_required", 1.0) > 0.5  # K4 may relax it
    if r.scalar("type3_min_survival_h", 0.0) > 0 and "event_steps" in r and required:
        v["H7 protected load kept through the first hours of a fault"] = protected_shortfall(r)
    return v


def protected_shortfall(r: Result) -> float:
    """(H7) recomputed: the most IT load, MW, by which shed + shutdown + migration exceed the
    unprotected share through the first ``min_survival_h`` of any fault of the result's
    scenario (0 without a service level)."""
    hours = r.scalar("type3_min_survival_h", 0.0)
    if hours <= 0 or "event_steps" not in r or "shutdown_it_mw" not in r:
        return 0.0
    k = int(r.ds["scenario"]) if "scenario" in r.ds.coords else 0
    kept = int(np.ceil(hours / r.dt - 1e-9))
    load = r.inflexible_it_mw
    unprotected = (1.0 - r.scalar("shutdown_protected_share", 1.0)) * load
    reduced = r["dc_shed_it_mw"] + r["shutdown_it_mw"] + r.series("migration_it_mw")
    worst = 0.0
    for scenario, kind, first, n in zip(
        r["event_scenario"], r["event_kind"], r["event_first_step"], r["event_steps"], strict=True
    ):
        if scenario == k and kind == "fault" and n > 0:
            span = slice(first, first + min(n, kept))
            worst = max(worst, excess(reduced[span], unprotected[span]))
    return worst


def verify_migration(r: Result) -> Checks:
    """Migration to another site during an outage (R1–R5)."""
    v = Checks()
    if "migration_it_mw" not in r:
        return v
    m = r["migration_it_mw"]
    cap = r.scalar("migration_capacity_it_mw") * r["migration_availability"]
    v["R1 0 ≤ migration ≤ capacity after notice"] = within(m, 0.0, cap)
    v["H2, R2 shed + shutdown + migration ≤ IT load"] = _reductions_fit(r)
    if "shutdown_protected_share" in r:  # (R5) the protected share stays on site
        moved = m + r.series("shutdown_it_mw")
        unprotected = (1.0 - r.scalar("shutdown_protected_share")) * r.inflexible_it_mw
        v["R5 migration + shutdown ≤ unprotected share"] = excess(moved, unprotected)
    transfer = r.annual_sum(r.scalar("migration_cost_jpy_per_mwh"), m)
    v.cost(r, "R4", "cost_migration_transfer_jpy", transfer)
    return v
