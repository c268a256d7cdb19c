"""Input Dataset → Pyomo model, by calling each formulation in a fixed order."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pyomo.environ as pyo
import xarray as xr
from pyomo.common.gc_manager import PauseGC

from wattbit.errors import CaseError
from wattbit.formulations.battery import BatteryData, define_battery
from wattbit.formulations.commitment import CommitmentData
from wattbit.formulations.common import Size, TimeAxis, new_model
from wattbit.formulations.connection import ConnectionData, define_connection
from wattbit.formulations.dc_load import DataCentreData, define_data_centre
from wattbit.formulations.emergency import EmergencyData, define_emergency_curtailment
from wattbit.formulations.generator import GeneratorData, define_generator
from wattbit.formulations.gensets import GensetTypeData
from wattbit.formulations.market import define_market
from wattbit.formulations.migration import MigrationData, define_migration
from wattbit.formulations.pv import PVData, define_pv
from wattbit.formulations.service_level import ServiceLevelData, define_service_level
from wattbit.formulations.shutdown import ShutdownData, define_protected_kept, define_shutdown
from wattbit.formulations.site import define_site_balance, define_site_objective
from wattbit.formulations.storage import StorageRule
from wattbit.formulations.ups import UPSData, define_ups
from wattbit.formulations.workload_shift import (
    WorkloadShiftData,
    define_workload_shift,
    delay_steps,
)
from wattbit.genset_types import type_names
from wattbit.markets import has_market, market_data


def _size(ds: xr.Dataset, name: str) -> Size:
    """The size ``name``'s bounds, and its unit where it is bought in units (docs/milp.md)."""
    lower, upper = _scalar(ds, f"{name}_min"), _scalar(ds, f"{name}_max")
    if f"{name}_unit" not in ds:
        return Size(lower, upper)
    cost = _optional(ds, f"{name}_unit_cost_jpy_per_year") or 0.0
    return Size(lower, upper, _scalar(ds, f"{name}_unit"), cost)


def _scalar(ds: xr.Dataset, name: str) -> float:
    # the Variable, not ds[name]: a DataArray is assembled with its coordinates at each read
    return float(ds.variables[name].values)


def _optional(ds: xr.Dataset, name: str) -> float | None:
    return _scalar(ds, name) if name in ds else None


def time_axis(ds: xr.Dataset) -> TimeAxis:
    return TimeAxis(steps=ds.sizes["time"], dt_h=float(ds.attrs["dt_h"]))


def deferrable_share(ds: xr.Dataset) -> float:
    return _scalar(ds, "dc_deferrable_share") if "dc_deferrable_share" in ds else 0.0


def data_centre_data(ds: xr.Dataset) -> DataCentreData:
    """The inflexible part of the DC; the deferrable share goes to :func:`workload_shift_data`."""
    sized = "dc_size_mw_max" in ds
    return DataCentreData(
        size_mw=_size(ds, "dc_size_mw") if sized else None,
        it_per_mw=ds["dc_it_per_mw"].values if sized else None,
        value_of_size_jpy_per_mw_year=_optional(ds, "dc_value_of_size_jpy_per_mw_year") or 0.0,
        it_mw=ds["dc_it_mw"].values * (1.0 - deferrable_share(ds)),
        pue=ds["dc_pue"].values,
        value_of_lost_compute_jpy_per_mwh=_scalar(ds, "dc_value_of_lost_compute_jpy_per_mwh"),
    )


def workload_shift_data(ds: xr.Dataset) -> WorkloadShiftData:
    share = deferrable_share(ds)
    it = ds["dc_it_mw"].values
    return WorkloadShiftData(
        arrivals_it_mw=share * it,
        room_it_mw=_scalar(ds, "dc_it_capacity_mw") - (1.0 - share) * it,
        pue=ds["dc_pue"].values,
        max_delay_steps=delay_steps(_scalar(ds, "dc_max_delay_h"), float(ds.attrs["dt_h"])),
        value_of_lost_compute_jpy_per_mwh=_scalar(ds, "dc_value_of_lost_compute_jpy_per_mwh"),
        deferral_cost_jpy_per_mwh_h=_scalar(ds, "dc_deferral_cost_jpy_per_mwh_h"),
        initial_backlog_mwh=_optional(ds, "dc_initial_backlog_mwh") or 0.0,
        backlog_max_mwh=ds["dc_backlog_max_mwh"].values if "dc_backlog_max_mwh" in ds else None,
        cyclic=ds.attrs.get("dc_backlog_rule") == "cyclic",
    )


def service_level_data(ds: xr.Dataset) -> ServiceLevelData | None:
    """The service level of the case (Q1, Q2), or ``None`` when none is asked."""
    share = _optional(ds, "dc_min_served_share")
    unserved = _optional(ds, "dc_max_unserved_it_mwh_per_year")
    if share is None and unserved is None:
        return None
    sized = "dc_size_mw_max" in ds
    return ServiceLevelData(
        it_mw=ds["dc_it_per_mw" if sized else "dc_it_mw"].values,
        min_served_share=share,
        max_unserved_it_mwh_per_year=unserved,
    )


def emergency_data(ds: xr.Dataset) -> EmergencyData:
    return EmergencyData(
        max_it_mw=ds["dc_it_mw"].values,
        pue=ds["dc_pue"].values,
        cost_jpy_per_mwh=_scalar(ds, "grid_emergency_curtailment_cost_jpy_per_mwh"),
    )


def connection_data(ds: xr.Dataset) -> ConnectionData:
    return ConnectionData(
        import_limit_mw=ds["grid_import_limit_mw"].values,
        energy_price_jpy_per_mwh=ds["grid_energy_price_jpy_per_mwh"].values,
        contract_mw=_size(ds, "grid_contract_mw"),
        capacity_charge_jpy_per_mw_year=_scalar(ds, "grid_capacity_charge_jpy_per_mw_year"),
        export_limit_mw=ds["grid_export_limit_mw"].values,
        export_price_jpy_per_mwh=ds["grid_export_price_jpy_per_mwh"].values,
    )


def pv_data(ds: xr.Dataset) -> PVData:
    return PVData(
        capacity_mw=_size(ds, "pv_capacity_mw"),
        availability=ds["pv_availability"].values,
        capex_jpy_per_mw_year=_scalar(ds, "pv_capex_jpy_per_mw_year"),
    )


def battery_data(ds: xr.Dataset, exclusive_steps: Iterable[int] = ()) -> BatteryData:
    return BatteryData(
        power_mw=_size(ds, "battery_power_mw"),
        energy_mwh=_size(ds, "battery_energy_mwh"),
        storage=StorageRule(
            charge_efficiency=_scalar(ds, "battery_charge_efficiency"),
            discharge_efficiency=_scalar(ds, "battery_discharge_efficiency"),
            standing_loss_per_h=_scalar(ds, "battery_standing_loss_per_h"),
        ),
        soc_min_fraction=_scalar(ds, "battery_soc_min_fraction"),
        soc_max_fraction=_scalar(ds, "battery_soc_max_fraction"),
        soc_rule=ds.attrs["battery_soc_rule"],
        initial_soc_fraction=_scalar(ds, "battery_initial_soc_fraction"),
        terminal_soc_fraction=_optional(ds, "battery_terminal_soc_fraction"),
        power_capex_jpy_per_mw_year=_scalar(ds, "battery_power_capex_jpy_per_mw_year"),
        energy_capex_jpy_per_mwh_year=_scalar(ds, "battery_energy_capex_jpy_per_mwh_year"),
        throughput_cost_jpy_per_mwh=_scalar(ds, "battery_throughput_cost_jpy_per_mwh"),
        ageing_cost_jpy_per_mwh=_optional(ds, "battery_ageing_cost_jpy_per_mwh") or 0.0,
        exclusive_steps=tuple(sorted(exclusive_steps)),
    )


def has_component(ds: xr.Dataset, name: str) -> bool:
    return any(str(v).startswith(f"{name}_") for v in ds.data_vars)


def generator_data(ds: xr.Dataset) -> GeneratorData:
    types = genset_types_data(ds)
    return GeneratorData(
        power_mw=_plant_size(types) if types else _size(ds, "generator_power_mw"),
        availability=ds["generator_availability"].values,
        refuel_limit=ds["generator_refuel_limit"].values,
        fuel_tank_h=_scalar(ds, "generator_fuel_tank_h"),
        capex_jpy_per_mw_year=_optional(ds, "generator_capex_jpy_per_mw_year") or 0.0,  # J4
        fuel_cost_jpy_per_mwh=_scalar(ds, "generator_fuel_cost_jpy_per_mwh"),
        emissions_t_per_mwh=_scalar(ds, "generator_emissions_t_per_mwh"),
        carbon_price_jpy_per_t=_scalar(ds, "generator_carbon_price_jpy_per_t"),
        events=event_steps(ds, kind="fault"),
        max_run_h_per_event=_optional(ds, "generator_max_run_h_per_event"),
        max_run_h_per_year=_optional(ds, "generator_max_run_h_per_year"),
        commitment=None if types else commitment_data(ds),
        types=types,
        redundant_units=int(_optional(ds, "generator_redundant_units") or 0) if types else 0,
    )


def commitment_data(
    ds: xr.Dataset, prefix: str = "generator", availability: str = "generator_availability"
) -> CommitmentData | None:
    """The gensets' unit commitment (O1–O8), when the generator (or the genset type of
    ``prefix``) is sized in units."""
    if f"{prefix}_power_mw_unit" not in ds:
        return None
    return CommitmentData(
        unit_mw=_scalar(ds, f"{prefix}_power_mw_unit"),
        availability=ds[availability].values,
        min_load_fraction=_scalar(ds, f"{prefix}_min_load_fraction"),
        start_cost_jpy=_scalar(ds, f"{prefix}_start_cost_jpy"),
        start_delay_h=_scalar(ds, f"{prefix}_start_delay_h"),
        min_up_h=_scalar(ds, f"{prefix}_min_up_h"),
        min_down_h=_scalar(ds, f"{prefix}_min_down_h"),
        redundant_units=int(_optional(ds, f"{prefix}_redundant_units") or 0),
        no_load_cost_jpy_per_h=_optional(ds, f"{prefix}_no_load_cost_jpy_per_h") or 0.0,
        hours_on=ds.attrs.get("generator_running_hours") == "on",
    )


def genset_types_data(ds: xr.Dataset) -> tuple[GensetTypeData, ...]:
    """A plant's genset types (J1–J4; none for a single type)."""
    out = []
    for name in type_names(ds):
        prefix = f"generator_{name}"
        commitment = commitment_data(ds, prefix, f"generator_availability_{name}")
        out.append(
            GensetTypeData(
                name=name,
                power_mw=_size(ds, f"{prefix}_power_mw"),
                availability=commitment.availability,
                commitment=commitment,
                capex_jpy_per_mw_year=_scalar(ds, f"{prefix}_capex_jpy_per_mw_year"),
                fuel_cost_jpy_per_mwh=_scalar(ds, f"{prefix}_fuel_cost_jpy_per_mwh"),
            )
        )
    return tuple(out)


def _plant_size(types: tuple[GensetTypeData, ...]) -> Size:
    """The plant's rating bounds: the types' summed (J1)."""
    return Size(sum(j.power_mw.lower for j in types), sum(j.power_mw.upper for j in types))


def ups_data(ds: xr.Dataset) -> UPSData:
    return UPSData(
        power_mw=_size(ds, "ups_power_mw"),
        autonomy_minutes=_scalar(ds, "ups_autonomy_minutes"),
        discharge_allowed=ds["ups_discharge_allowed"].values,
        storage=StorageRule(
            charge_efficiency=_scalar(ds, "ups_charge_efficiency"),
            discharge_efficiency=_scalar(ds, "ups_discharge_efficiency"),
            standing_loss_per_h=0.0,
        ),
        capex_jpy_per_mw_year=_scalar(ds, "ups_capex_jpy_per_mw_year"),
    )


def event_steps(ds: xr.Dataset, kind: str | None = None) -> tuple[tuple[int, ...], ...]:
    """The steps each event (of ``kind``, or any) of this (single-scenario) Dataset cuts; events
    that cut nothing are left out."""
    if "event_steps" not in ds:
        return ()
    scenario = int(ds["scenario"]) if "scenario" in ds.coords else 0
    rows = zip(
        ds["event_scenario"].values,
        ds["event_kind"].values,
        ds["event_first_step"].values,
        ds["event_steps"].values,
        strict=True,
    )
    return tuple(
        tuple(range(f, f + n))
        for k, what, f, n in rows
        if k == scenario and n > 0 and kind in (None, what)
    )


def shutdown_data(ds: xr.Dataset) -> ShutdownData:
    """Graceful shutdown, or only the SLA penalty (no shutdown possible) without ``[shutdown]``."""
    dc = data_centre_data(ds)
    n = ds.sizes["time"]
    available = "shutdown_availability" in ds
    return ShutdownData(
        it_mw=dc.it_mw,
        pue=dc.pue,
        protected_share=_scalar(ds, "shutdown_protected_share") if available else 1.0,
        availability=ds["shutdown_availability"].values if available else np.zeros(n),
        value_of_lost_compute_jpy_per_mwh=_optional(
            ds, "shutdown_value_of_lost_compute_jpy_per_mwh"
        )
        or 0.0,
        events=event_steps(ds),
        penalty_jpy_per_event=_optional(ds, "type3_sla_penalty_jpy_per_event") or 0.0,
        protected_steps=_first_steps(
            event_steps(ds, kind="fault"), _optional(ds, "type3_min_survival_h") or 0.0, ds
        ),
    )


def _first_steps(
    events: tuple[tuple[int, ...], ...], hours: float, ds: xr.Dataset
) -> tuple[tuple[int, ...], ...]:
    """The first ``hours`` of each event, in whole steps (rounded up)."""
    n = math.ceil(hours / float(ds.attrs["dt_h"]) - 1e-9) if hours > 0 else 0
    return tuple(event[:n] for event in events) if n else ()


def migration_data(ds: xr.Dataset) -> MigrationData:
    return MigrationData(
        capacity_it_mw=_scalar(ds, "migration_capacity_it_mw"),
        availability=ds["migration_availability"].values,
        pue=ds["dc_pue"].values,
        cost_jpy_per_mwh=_scalar(ds, "migration_cost_jpy_per_mwh"),
        protected_share=_optional(ds, "shutdown_protected_share") or 0.0,
        it_mw=data_centre_data(ds).it_mw,
    )


def has_shutdown(ds: xr.Dataset) -> bool:
    return (
        has_component(ds, "shutdown")
        or (_optional(ds, "type3_sla_penalty_jpy_per_event") or 0) > 0
        or (_optional(ds, "type3_min_survival_h") or 0) > 0
    )


def define_site(
    blk: pyo.Block,
    ds: xr.Dataset,
    exclusive_steps: Iterable[int] = (),
    emergency: bool = False,
    survival_required: pyo.Var | None = None,
) -> None:
    """Add every component of the site in ``ds`` to ``blk`` (a model or a scenario block with a
    time axis) and close its bus: the order of docs/formulation.md. ``survival_required``: the
    scenario's binary of a chance-constrained service level (K4), relaxing its (H7)."""
    dc = define_data_centre(blk, data_centre_data(ds))
    shift = (
        define_workload_shift(blk, workload_shift_data(ds)) if deferrable_share(ds) > 0 else None
    )
    service = service_level_data(ds)
    if service is not None:
        define_service_level(blk, service, dc, shift)
    if has_component(ds, "pv"):
        define_pv(blk, pv_data(ds))
    if has_component(ds, "battery"):
        battery = define_battery(blk, battery_data(ds, exclusive_steps))
        if has_market(ds):
            define_market(blk, market_data(ds), battery)
    if has_component(ds, "ups"):
        define_ups(blk, ups_data(ds))
    if has_component(ds, "generator"):
        define_generator(blk, generator_data(ds))
    reductions: tuple[pyo.Block, ...] = ()
    shutdown = shutdown_data(ds) if has_shutdown(ds) else None
    if shutdown is not None:
        reductions += (define_shutdown(blk, shutdown, dc),)
    if has_component(ds, "migration"):
        reductions += (define_migration(blk, migration_data(ds), dc, reductions),)
    if shutdown is not None:
        define_protected_kept(reductions[0], shutdown, dc, reductions[1:], survival_required)
    define_connection(blk, connection_data(ds))
    if emergency:
        define_emergency_curtailment(blk, emergency_data(ds))
    define_site_balance(blk)


def create_model(
    ds: xr.Dataset, exclusive_steps: Iterable[int] = (), emergency: bool = False
) -> pyo.ConcreteModel:
    """Build the site model. ``exclusive_steps``: steps given a battery exclusivity binary;
    ``emergency``: add emergency curtailment (to evaluate a realised rolling-horizon operation).
    A Dataset of several scenarios is the stochastic problem of :mod:`wattbit.strategies.stochastic`."""
    if "scenario" in ds.dims:
        raise CaseError(
            str(ds.attrs.get("case_file", "")),
            "type3.scenarios",
            f"{ds.sizes['scenario']} scenarios are solved together by `wattbit ridethrough` "
            "(wattbit.strategies.stochastic); a single-site solve takes scenarios = 1",
        )
    # The cyclic collector paused (as Pyomo's compiler and the network build do): its passes
    # over the model's growing object graph were half the full-year build's CPU (1.0 -> 0.5 s).
    with PauseGC():
        m = new_model(time_axis(ds), name=str(ds.attrs.get("case_name", "wattbit")))
        define_site(m, ds, exclusive_steps, emergency)
        define_site_objective(m)
    return m
