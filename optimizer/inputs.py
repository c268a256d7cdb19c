"""Validated case → one xarray Dataset holding every model parameter.

Time series live on the ``time`` dimension (UTC, naive; the case's timezone is in
``attrs["timezone"]``); scalars are 0-d variables. Names are ``<component>_<field>`` with the unit
as suffix. Capacities appear as ``<name>_min``/``<name>_max`` (equal when fixed). Capital costs are
annualised here with the capital recovery factor, so the model sees JPY per MW-year.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from wattbit import ageing, markets, n1
from wattbit.case import Battery, LoadedCase, SizeRange
from wattbit.case.schema import COMMITMENT_FIELDS
from wattbit.errors import CaseError
from wattbit.genset_types import add_genset_types
from wattbit.headroom import firm_capacity, forecast_headroom, headroom, operating_pattern
from wattbit.input_dataset import KW_PER_MW, Builder, bounds

PLANNED_MODES = ("firm", "type2_fixed")  # the limit is known a year ahead


def _it_capacity(loaded: LoadedCase, it: np.ndarray) -> float:
    """``dc.it_capacity_mw``: the most IT power the DC can draw, so at least its desired IT load
    (``it``, at the largest size when sized) at every step; by default that load's peak."""
    dc = loaded.case.dc
    if dc.it_capacity_mw is None:
        return float(it.max()) if dc.size_mw is not None else dc.peak_it_mw or float(it.max())
    if dc.it_capacity_mw < it.max() - 1e-9:
        at = loaded.series.index[int(np.argmax(it))].isoformat()
        raise CaseError(
            loaded.file,
            "dc.it_capacity_mw",
            f"{dc.it_capacity_mw:g} MW is below the desired IT load ({it.max():g} MW at {at}): "
            "the DC cannot draw its own load",
        )
    return float(dc.it_capacity_mw)


def build_inputs(loaded: LoadedCase) -> xr.Dataset:
    """Every parameter of the case on the horizon, as a Dataset (see module doc)."""
    case = loaded.case
    b = Builder(loaded)
    index = loaded.series.index
    dt_h = (index[1] - index[0]).total_seconds() / 3600.0
    b.attrs.update(
        case_name=case.name,
        case_file=str(loaded.path),
        timezone=case.horizon.timezone,
        dt_h=dt_h,
        annual_factor=8760.0 / (len(index) * dt_h),
        discount_rate=case.economics.discount_rate,
        analysis_years=case.economics.analysis_years,
        price_escalation_rate=case.economics.price_escalation_rate,
        cost_escalation_rate=case.economics.cost_escalation_rate,
    )

    dc = case.dc
    if dc.it_mw is not None:
        it = loaded.quantity("dc.it_mw")
    else:
        util = loaded.quantity("dc.utilisation")
        it = dc.idle_it_mw + (dc.peak_it_mw - dc.idle_it_mw) * util
        b.series("dc_utilisation", util, "IT utilisation")
    if dc.size_mw is not None:
        peak = dc.peak_it_mw if dc.peak_it_mw is not None else float(it.max())
        if peak <= 0:
            raise CaseError(loaded.file, "dc.size_mw", "needs an IT profile with a positive peak")
        b.series("dc_it_per_mw", it / peak, "IT profile per MW of DC size")
        b.capacity("dc_size_mw", dc.size_mw, "DC size (peak IT power)")
        b.scalar(
            "dc_value_of_size_jpy_per_mw_year",
            dc.value_of_size_jpy_per_mw_year,
            "value of one MW of DC size per year",
        )
        it = it / peak * bounds(dc.size_mw)[1]
    b.series("dc_it_mw", it, "desired IT power (at the largest size when sized)")
    b.series("dc_pue", loaded.quantity("dc.pue"), "power usage effectiveness")
    planned = dc.value_of_planned_curtailment_jpy_per_mwh
    known_ahead = case.grid.mode in PLANNED_MODES and planned is not None
    b.scalar(
        "dc_value_of_lost_compute_jpy_per_mwh",
        planned if known_ahead else dc.value_of_lost_compute_jpy_per_mwh,
        "value per MWh of IT energy not served (the planned value where the limit is known "
        "ahead: firm, type2_fixed)",
    )
    for name in ("min_served_share", "max_unserved_it_mwh_per_year"):
        if getattr(dc, name) is not None:
            b.scalar(f"dc_{name}", getattr(dc, name), f"service level: {name}")
    b.attrs["dc_backlog_rule"] = dc.backlog_rule
    b.scalar("dc_deferrable_share", dc.deferrable_share, "deferrable share of the IT load")
    b.scalar("dc_max_delay_h", dc.max_delay_h, "maximum delay of deferrable work")
    b.scalar(
        "dc_deferral_cost_jpy_per_mwh_h", dc.deferral_cost_jpy_per_mwh_h, "cost of waiting work"
    )
    b.scalar("dc_it_capacity_mw", _it_capacity(loaded, it), "IT capacity (bounds served IT load)")

    grid = case.grid
    b.attrs["grid_mode"] = grid.mode
    if grid.import_limit_mw is None:
        base = loaded.quantity("grid.base_flow_mw")
        b.series("grid_base_flow_mw", base, "flow of other customers through the limit")
        b.scalar("grid_limit_mw", grid.limit_mw, "thermal limit of the connection point")
    h = headroom(loaded).to_numpy()
    pattern = operating_pattern(loaded).to_numpy()
    firm = firm_capacity(loaded)
    b.series("grid_headroom_mw", h, "headroom H(t), clipped at 0")
    b.series("grid_pattern_mw", pattern, "fixed operating pattern")
    b.scalar("grid_firm_capacity_mw", firm, "firm connection capacity")
    outages = _add_outages(b, loaded)
    if grid.mode == "type3_n1":
        limit = np.stack([n1.import_limit(loaded, o) for o in outages])
        b.per_scenario("grid_import_limit_mw", limit, "import limit under mode type3_n1")
    else:
        limit = {
            "firm": np.full(len(h), firm),
            "type2_fixed": pattern,
            "type2_dynamic": h,
            "type2_forecast": h,
        }[grid.mode]
        b.series("grid_import_limit_mw", limit, f"import limit under mode {grid.mode}")
    if grid.mode in ("type2_forecast", "type2_fixed"):
        emergency = grid.emergency_curtailment_cost_jpy_per_mwh
        b.scalar(
            "grid_emergency_curtailment_cost_jpy_per_mwh",
            dc.value_of_lost_compute_jpy_per_mwh if emergency is None else emergency,
            "cost of IT load curtailed when realised headroom falls short of the plan",
        )
    if grid.mode == "type2_fixed":
        b.attrs["grid_pattern_exceedance_borne_by"] = grid.pattern.exceedance_borne_by
        b.scalar(
            "grid_pattern_redispatch_cost_jpy_per_mwh",
            grid.pattern.grid_redispatch_cost_jpy_per_mwh,
            "cost to the grid of import above the realised headroom, when the grid bears it",
        )
    if grid.mode == "type2_forecast":
        b.series("grid_forecast_headroom_mw", forecast_headroom(loaded).to_numpy(), "forecast H")
        b.attrs["grid_forecast_lookahead_h"] = grid.forecast.lookahead_h
        b.attrs["grid_forecast_commit_h"] = grid.forecast.commit_h
        b.attrs["grid_forecast_method"] = grid.forecast.method
        b.attrs["grid_forecast_recourse"] = grid.forecast.recourse
        if grid.forecast.method == "ar1":
            b.attrs["grid_forecast_error_std_fraction"] = grid.forecast.error_std_fraction
            b.attrs["grid_forecast_error_autocorrelation"] = grid.forecast.error_autocorrelation
            b.attrs["grid_forecast_seed"] = grid.forecast.seed
    b.series(
        "grid_energy_price_jpy_per_mwh", loaded.quantity("grid.energy_price_jpy_per_mwh"), "price"
    )
    b.series("grid_export_limit_mw", loaded.quantity("grid.export_limit_mw"), "export limit")
    b.series(
        "grid_export_price_jpy_per_mwh",
        loaded.quantity("grid.export_price_jpy_per_mwh"),
        "export price",
    )
    b.scalar(
        "grid_capacity_charge_jpy_per_mw_year",
        grid.capacity_charge_jpy_per_kw_year * KW_PER_MW,
        "capacity (basic) charge",
    )
    contract = (
        grid.contract_mw if grid.contract_mw is not None else SizeRange(max=float(limit.max()))
    )
    b.capacity("grid_contract_mw", contract, "contracted capacity")

    if case.pv is not None:
        pv = case.pv
        b.capacity("pv_capacity_mw", pv.capacity_mw, "PV capacity")
        b.series("pv_availability", loaded.quantity("pv.availability"), "PV availability")
        b.capital(
            "pv_capacity_mw",
            "pv_capex_jpy_per_mw_year",
            pv.capex_jpy_per_kw,
            pv.lifetime_years,
            pv.om_jpy_per_kw_year,
            "PV",
        )

    if case.battery is not None:
        bat = case.battery
        b.capacity("battery_power_mw", bat.power_mw, "battery power")
        b.capacity("battery_energy_mwh", bat.energy_mwh, "battery energy")
        for field in (
            "charge_efficiency",
            "discharge_efficiency",
            "standing_loss_per_h",
            "soc_min_fraction",
            "soc_max_fraction",
            "initial_soc_fraction",
            "throughput_cost_jpy_per_mwh",
        ):
            b.scalar(f"battery_{field}", getattr(bat, field), field.replace("_", " "))
        b.capital(
            "battery_power_mw",
            "battery_power_capex_jpy_per_mw_year",
            bat.power_capex_jpy_per_kw,
            bat.lifetime_years,
            bat.om_jpy_per_kw_year,
            "battery power",
        )
        b.capital(
            "battery_energy_mwh",
            "battery_energy_capex_jpy_per_mwh_year",
            bat.energy_capex_jpy_per_kwh,
            bat.lifetime_years,
            None,
            "battery energy",
        )
        b.attrs["battery_soc_rule"] = bat.soc_rule
        b.attrs["battery_exclusive"] = bat.exclusive
        _add_battery_ageing(b, bat)
    ds = b.ds
    markets.add_market(ds, loaded)
    return ds


def _add_battery_ageing(b: Builder, bat: Battery) -> None:
    """Fade rates, maintenance costs (per MWh; by default the energy capex) and the cycle cost
    they imply (:mod:`wattbit.ageing`); fixed O&M per MW apart, for the cash flow."""
    b.scalar("battery_om_jpy_per_mw_year", bat.om_jpy_per_kw_year * KW_PER_MW, "fixed O&M")
    capex = bat.energy_capex_jpy_per_kwh
    per_kwh = {
        "augmentation": capex
        if bat.augmentation_cost_jpy_per_kwh is None
        else bat.augmentation_cost_jpy_per_kwh,
        "replacement": capex
        if bat.replacement_cost_jpy_per_kwh is None
        else bat.replacement_cost_jpy_per_kwh,
    }
    for kind, cost in per_kwh.items():
        b.scalar(f"battery_{kind}_cost_jpy_per_mwh", cost * KW_PER_MW, f"{kind} cost per MWh")
    for field in ("calendar_fade_per_year", "cycle_fade_per_cycle", "replacement_soh"):
        b.scalar(f"battery_{field}", getattr(bat, field), field.replace("_", " "))
    b.attrs["battery_maintenance"] = bat.maintenance
    b.scalar(
        "battery_ageing_cost_jpy_per_mwh",
        ageing.cycle_cost_jpy_per_mwh(ageing.from_dataset(b.ds)),
        "life-cycle cost per MWh of equivalent-cycle throughput (c + d)/2 (B10)",
    )


def _add_outages(b: Builder, loaded: LoadedCase) -> list[n1.OutageSeries]:
    """The type ③ events and what they allow per scenario, and the ride-through components
    (generator, UPS, shutdown, migration); every other mode has one scenario without events."""
    case = loaded.case
    n, dt = len(loaded.series), float(b.attrs["dt_h"])
    t3 = case.type3 if case.grid.mode == "type3_n1" else None
    events = n1.scenario_events(loaded) if t3 is not None else [[]]
    outages = [n1.outage_series(loaded, e, n, dt) for e in events]

    def stacked(attr: str) -> np.ndarray:
        return np.stack([getattr(o, attr) for o in outages])

    if t3 is not None:
        b.scalar("type3_firm_mw", t3.firm_mw, "firm part of the connection")
        b.scalar("type3_margin_mw", t3.margin_mw, "N-1 margin the DC may use")
        b.series(
            "type3_fault_residual_mw",
            loaded.quantity("type3.fault_residual_mw"),
            "margin left in a fault",
        )
        b.series(
            "type3_maintenance_residual_mw",
            loaded.quantity("type3.maintenance_residual_mw"),
            "margin left in maintenance",
        )
        b.per_scenario("type3_fault_cut", stacked("fault_cut"), "1 where a fault cuts the margin")
        b.per_scenario(
            "type3_maintenance_cut", stacked("maintenance_cut"), "1 where maintenance cuts it"
        )
        b.scalar("type3_momentary_max_h", t3.momentary_max_h, "shorter faults do not cut")
        b.scalar("type3_reconnect_h", t3.reconnect_h, "wait after an event before reconnection")
        b.scalar("type3_survival_max_h", t3.survival_max_h, "longest outage of the survival curve")
        b.scalar(
            "type3_min_survival_h", t3.min_survival_h, "protected load kept this long in a fault"
        )
        b.scalar(
            "type3_min_survival_probability",
            t3.min_survival_probability,
            "least probability of keeping it (chance constraint, K4)",
        )
        b.scalar("type3_sla_penalty_jpy_per_event", t3.sla_penalty_jpy_per_event, "SLA penalty")
        probability = n1.scenario_probabilities(t3, n * dt)
        if len(probability) > 1:
            b.ds["scenario_probability"] = ("scenario", probability, {"units": "1"})
            b.ds.coords["scenario"] = np.arange(len(probability))
            b.ds["scenario_branch_step"] = (
                "scenario",
                np.array([n1.branch_step(e, t3, dt, n) for e in events], dtype=int),
                {"units": "1", "doc": "first step the scenario's own events change"},
            )
        rows = [(k, e) for k, scenario in enumerate(events) for e in scenario]
        spans = [n1.cut_steps(e, t3, dt, n) for _, e in rows]
        b.ds["event_scenario"] = ("event", np.array([k for k, _ in rows], dtype=int))
        b.ds["event_start_h"] = ("event", np.array([e.start_h for _, e in rows]), {"units": "h"})
        b.ds["event_duration_h"] = (
            "event",
            np.array([e.duration_h for _, e in rows]),
            {"units": "h"},
        )
        b.ds["event_kind"] = ("event", np.array([e.kind for _, e in rows], dtype=str))
        b.ds["event_first_step"] = ("event", np.array([s.start for s in spans], dtype=int))
        b.ds["event_steps"] = ("event", np.array([len(s) for s in spans], dtype=int))
        fault_rate, _ = n1.fault_model(t3)
        b.scalar("type3_faults_per_year", fault_rate, "fault rate at this substation")

    gen = case.generator
    if gen is not None:
        if gen.types:  # several genset types (docs/milp.md)
            add_genset_types(b, loaded, events, n, dt)
        else:
            b.capacity("generator_power_mw", gen.power_mw, "generator rated power")
            b.per_scenario(
                "generator_availability", stacked("generator_availability"), "share it may run"
            )
        b.per_scenario(
            "generator_refuel_limit", stacked("refuel_limit"), "most refuelling per MW rated"
        )
        for field in (
            "start_delay_h",
            "fuel_tank_h",
            "refuel_delay_h",
            "refuel_rate_fraction",
            "fuel_cost_jpy_per_mwh",
            "emissions_t_per_mwh",
            "carbon_price_jpy_per_t",
        ):
            b.scalar(f"generator_{field}", getattr(gen, field), field.replace("_", " "))
        for field in ("max_run_h_per_event", "max_run_h_per_year"):
            if getattr(gen, field) is not None:
                b.scalar(f"generator_{field}", getattr(gen, field), field.replace("_", " "))
        if "generator_power_mw_unit" in b.ds or gen.types:  # unit commitment (docs/milp.md)
            for field in COMMITMENT_FIELDS[-1:] if gen.types else COMMITMENT_FIELDS:
                b.scalar(f"generator_{field}", getattr(gen, field), field.replace("_", " "))
            b.attrs["generator_running_hours"] = gen.running_hours  # F9, F10 or O9, O10
        b.scalar(
            "generator_maintenance_permit",
            float(gen.maintenance_permit),
            "1 if it may run as prime mover through planned maintenance",
        )
        if not gen.types:
            b.capital(
                "generator_power_mw",
                "generator_capex_jpy_per_mw_year",
                gen.capex_jpy_per_kw,
                gen.lifetime_years,
                gen.om_jpy_per_kw_year,
                "generator",
            )
    ups = case.ups
    if ups is not None:
        b.capacity("ups_power_mw", ups.power_mw, "UPS rated power")
        b.per_scenario("ups_discharge_allowed", stacked("cut"), "1 where the UPS may discharge")
        b.scalar("ups_autonomy_minutes", ups.autonomy_minutes, "minutes at rated power")
        b.scalar("ups_charge_efficiency", ups.charge_efficiency, "charge efficiency")
        b.scalar("ups_discharge_efficiency", ups.discharge_efficiency, "discharge efficiency")
        b.capital(
            "ups_power_mw",
            "ups_capex_jpy_per_mw_year",
            ups.capex_jpy_per_kw,
            ups.lifetime_years,
            ups.om_jpy_per_kw_year,
            "UPS",
        )
    sd = case.shutdown
    if sd is not None:
        b.per_scenario(
            "shutdown_availability", stacked("shutdown_availability"), "share after the notice"
        )
        b.scalar("shutdown_notice_h", sd.notice_h, "notice before a graceful shutdown")
        b.scalar("shutdown_protected_share", sd.protected_share, "IT share kept through it")
        b.scalar(
            "shutdown_value_of_lost_compute_jpy_per_mwh",
            sd.value_of_lost_compute_jpy_per_mwh,
            "value of compute lost to a graceful shutdown",
        )
    mig = case.migration
    if mig is not None:
        b.per_scenario(
            "migration_availability", stacked("migration_availability"), "share after the notice"
        )
        b.scalar("migration_capacity_it_mw", mig.capacity_it_mw, "IT load that can move")
        b.scalar("migration_cost_jpy_per_mwh", mig.cost_jpy_per_mwh, "cost per MWh moved")
        b.scalar("migration_notice_h", mig.notice_h, "notice before migration")
    return outages
