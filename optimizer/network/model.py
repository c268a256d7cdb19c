"""Input Dataset (:mod:`wattbit.network.inputs`) → Pyomo model: the system-wide model, or the
merchant batteries' own model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pyomo.environ as pyo
import xarray as xr
from pyomo.common.gc_manager import PauseGC

from wattbit.formulations.battery import BatteryData, define_battery
from wattbit.formulations.common import Size, TimeAxis, new_model
from wattbit.formulations.connection import ConnectionData
from wattbit.formulations.dc_load import DataCentreData, define_data_centre
from wattbit.formulations.ev_fleet import EVFleetData, define_ev_fleet
from wattbit.formulations.geo_shift import (
    GeoShiftData,
    MigrationSite,
    Route,
    SiteBlocks,
    define_geo_shift,
)
from wattbit.formulations.network import (
    UPSTREAM,
    BranchData,
    NetworkData,
    NodeData,
    define_nodes,
    define_power_flow,
)
from wattbit.formulations.pv import PVData, define_pv
from wattbit.formulations.site import cost_terms, define_site_objective
from wattbit.formulations.storage import StorageRule
from wattbit.formulations.workload_shift import WorkloadShiftData, define_workload_shift
from wattbit.network.case import NETWORK_OWNER
from wattbit.network.inputs import DEFERRABLE, MIGRATION


def time_axis(ds: xr.Dataset) -> TimeAxis:
    return TimeAxis(steps=ds.sizes["time"], dt_h=float(ds.attrs["dt_h"]))


def _size(ds: xr.Dataset, name: str, i: int) -> Size:
    return Size(float(ds[f"{name}_min"][i]), float(ds[f"{name}_max"][i]))


def network_data(ds: xr.Dataset) -> NetworkData:
    nodes = []
    for i, name in enumerate(ds["node"].values.tolist()):
        reverse = ds["node_reverse_flow_limit_mw"].values[i]
        upstream = None
        if ds["node_slack"].values[i]:
            limit = ds["node_upstream_import_limit_mw"].values[i]
            upstream = ConnectionData(
                import_limit_mw=limit,
                energy_price_jpy_per_mwh=ds["node_upstream_import_price_jpy_per_mwh"].values[i],
                contract_mw=Size.fixed(float(limit.max())),
                export_limit_mw=reverse,
                export_price_jpy_per_mwh=ds["node_upstream_export_price_jpy_per_mwh"].values[i],
            )
        nodes.append(
            NodeData(
                name=name,
                base_load_mw=ds["node_base_load_mw"].values[i],
                reverse_flow_limit_mw=reverse if np.isfinite(reverse).all() else None,
                upstream=upstream,
            )
        )
    branches = [
        BranchData(
            name=name,
            from_node=str(ds["branch_from_node"].values[j]),
            to_node=str(ds["branch_to_node"].values[j]),
            limit_mw=ds["branch_limit_mw"].values[j],
            reactance=None
            if ds["branch_kind"].values[j] == "link"
            else float(ds["branch_reactance"][j]),
        )
        for j, name in enumerate(ds["branch"].values.tolist())
    ]
    contingencies = tuple(ds["contingency"].values.tolist()) if "contingency" in ds.coords else ()
    return NetworkData(
        tuple(nodes),
        tuple(branches),
        flow_model=ds.attrs["flow_model"],
        contingencies=contingencies,
    )


def battery_data(ds: xr.Dataset, i: int, exclusive_steps: Iterable[int] = ()) -> BatteryData:
    def get(field: str) -> float:
        return float(ds[f"battery_{field}"][i])

    return BatteryData(
        power_mw=_size(ds, "battery_power_mw", i),
        energy_mwh=_size(ds, "battery_energy_mwh", i),
        storage=StorageRule(
            get("charge_efficiency"), get("discharge_efficiency"), get("standing_loss_per_h")
        ),
        soc_min_fraction=get("soc_min_fraction"),
        soc_max_fraction=get("soc_max_fraction"),
        soc_rule=str(ds["battery_soc_rule"].values[i]),
        initial_soc_fraction=get("initial_soc_fraction"),
        power_capex_jpy_per_mw_year=get("power_capex_jpy_per_mw_year"),
        energy_capex_jpy_per_mwh_year=get("energy_capex_jpy_per_mwh_year"),
        throughput_cost_jpy_per_mwh=get("throughput_cost_jpy_per_mwh"),
        exclusive_steps=tuple(sorted(exclusive_steps)),
    )


def ev_data(ds: xr.Dataset, i: int, exclusive_steps: Iterable[int] = ()) -> EVFleetData:
    def get(field: str) -> float:
        return float(ds[f"ev_{field}"][i])

    return EVFleetData(
        energy_mwh=get("energy_mwh"),
        charger_mw=_size(ds, "ev_charger_mw", i),
        plugged_in=ds["ev_plugged_in"].values[i],
        driving_mw=ds["ev_driving_mw"].values[i],
        departure=ds["ev_departure"].values[i],
        departure_energy_mwh=get("departure_energy_mwh"),
        storage=StorageRule(
            get("charge_efficiency"), get("v2g_efficiency"), get("standing_loss_per_h")
        ),
        v2g=bool(get("v2g")),
        soc_rule=str(ds["ev_soc_rule"].values[i]),
        initial_soc_fraction=get("initial_soc_fraction"),
        charger_capex_jpy_per_mw_year=get("charger_capex_jpy_per_mw_year"),
        v2g_cost_jpy_per_mwh=get("v2g_cost_jpy_per_mwh"),
        exclusive_steps=tuple(sorted(exclusive_steps)),
    )


def _place_data_centres(ds: xr.Dataset, hosts: Mapping[str, pyo.Block]) -> dict[str, SiteBlocks]:
    dt = float(ds.attrs["dt_h"])
    sites = {}
    for i, name in enumerate(ds["dc"].values.tolist()):
        host = hosts[str(ds["dc_node"].values[i])]
        it, pue = ds["dc_it_mw"].values[i], ds["dc_pue"].values[i]
        share = float(ds["dc_deferrable_share"][i])
        voll = float(ds["dc_value_of_lost_compute_jpy_per_mwh"][i])
        data = DataCentreData((1.0 - share) * it, pue, voll)
        if ds["dc_sized"].values[i]:  # D0, D4 (no deferrable share: the case refuses it)
            data = DataCentreData(
                it,
                pue,
                voll,
                size_mw=_size(ds, "dc_size_mw", i),
                it_per_mw=ds["dc_it_per_mw"].values[i],
                value_of_size_jpy_per_mw_year=float(ds["dc_value_of_size_jpy_per_mw_year"][i]),
            )
        dc = define_data_centre(host, data, name=name)
        deferrable = None
        if share > 0:
            deferrable = define_workload_shift(
                host,
                WorkloadShiftData(
                    arrivals_it_mw=share * it,
                    room_it_mw=float(ds["dc_it_capacity_mw"][i]) - (1.0 - share) * it,
                    pue=pue,
                    max_delay_steps=round(float(ds["dc_max_delay_h"][i]) / dt),
                    value_of_lost_compute_jpy_per_mwh=voll,
                    deferral_cost_jpy_per_mwh_h=float(ds["dc_deferral_cost_jpy_per_mwh_h"][i]),
                ),
                name=name + DEFERRABLE,
            )
        sites[name] = SiteBlocks(host=host, dc=dc, deferrable=deferrable)
    return sites


def geo_shift_data(ds: xr.Dataset) -> GeoShiftData:
    dcs = ds["dc"].values.tolist()
    share = ds["dc_deferrable_share"].values
    sites = tuple(
        MigrationSite(
            name=name,
            migratable_it_mw=float(ds["dc_migratable_share"][i])
            * (1.0 - share[i])
            * ds["dc_it_mw"].values[i],
            it_capacity_mw=float(ds["dc_it_capacity_mw"][i]),
            pue=ds["dc_pue"].values[i],
        )
        for i, name in enumerate(dcs)
    )
    routes = tuple(
        Route(
            origin=str(ds["route_origin"].values[r]),
            destination=str(ds["route_destination"].values[r]),
            capacity_mw=ds["route_capacity_mw"].values[r],
            overhead_fraction=float(ds["route_overhead_fraction"][r]),
            cost_jpy_per_mwh=float(ds["route_cost_jpy_per_mwh"][r]),
        )
        for r in range(ds.sizes["route"])
    )
    return GeoShiftData(sites, routes)


def create_network_model(
    ds: xr.Dataset, exclusive: Mapping[str, Iterable[int]] | None = None
) -> pyo.ConcreteModel:
    """The system model: every asset at its node, the power flow, minimum total cost.

    ``exclusive`` maps a battery part or an EV fleet to the steps given a charge/discharge
    exclusivity binary (B7, V10). Built with Python's cyclic garbage collector paused, as Pyomo's
    compiler runs: the build makes millions of objects and almost no cyclic garbage (46
    unreachable objects after a month's build), and the collector's passes over them were half
    the build's CPU time (docs/network.md, "Against PyPSA").
    """
    with PauseGC():
        return _network_model(ds, exclusive or {})


def _network_model(ds: xr.Dataset, exclusive: Mapping[str, Iterable[int]]) -> pyo.ConcreteModel:
    m = new_model(time_axis(ds), name=str(ds.attrs.get("case_name", "wattbit")))
    network = network_data(ds)
    hosts = define_nodes(m, network)
    sites = _place_data_centres(ds, hosts)
    for i, name in enumerate(ds["pv"].values.tolist()):
        pv = PVData(
            capacity_mw=_size(ds, "pv_capacity_mw", i),
            availability=ds["pv_availability"].values[i],
            capex_jpy_per_mw_year=float(ds["pv_capex_jpy_per_mw_year"][i]),
        )
        define_pv(hosts[str(ds["pv_node"].values[i])], pv, name=name)
    for i, name in enumerate(ds["battery"].values.tolist()):
        data = battery_data(ds, i, exclusive.get(name, ()))
        define_battery(hosts[str(ds["battery_node"].values[i])], data, name=name)
    for i, name in enumerate(ds["ev"].values.tolist()):
        data = ev_data(ds, i, exclusive.get(name, ()))
        define_ev_fleet(hosts[str(ds["ev_node"].values[i])], data, name=name)
    if ds.sizes["route"]:
        define_geo_shift(m, geo_shift_data(ds), sites)
    define_power_flow(m, network)
    m.total_cost_jpy = pyo.Expression(expr=pyo.quicksum(e for _, _, e in cost_table(m)))
    define_site_objective(m)
    return m


def cost_table(m: pyo.ConcreteModel) -> list[tuple[str, str, pyo.Expression]]:
    """Every cost term as (element, term, Expression): the element is the block, or the node
    for an upstream supply."""
    table = []
    for node in m.node.component_objects(pyo.Block, descend_into=False):
        for key, expr in cost_terms(node).items():
            block, term = key.split(".", 1)
            table.append((node.local_name if block == UPSTREAM else block, term, expr))
    return table


def element_owner(ds: xr.Dataset) -> dict[str, str]:
    """The owner of every element that carries a cost: DCs (with their workload-shift and
    migration blocks), battery parts, EV fleets, PV; the network owns the nodes' upstream supply."""
    owners = {str(n): NETWORK_OWNER for n in ds["node"].values}
    for dim in ("dc", "battery", "ev", "pv"):
        owners.update(zip(ds[dim].values.tolist(), ds[f"{dim}_owner"].values.tolist(), strict=True))
    for dc, owner in zip(ds["dc"].values.tolist(), ds["dc_owner"].values.tolist(), strict=True):
        owners[dc + DEFERRABLE] = owners[dc + MIGRATION] = owner
    return owners


def merchant_parts(ds: xr.Dataset) -> list[str]:
    """Battery parts that their owners dispatch for arbitrage in merchant mode (all but reserved)."""
    return [
        str(p)
        for p, dc in zip(ds["battery"].values, ds["battery_reserved_for"].values, strict=True)
        if not dc
    ]


def create_merchant_model(
    ds: xr.Dataset, exclusive: Mapping[str, Iterable[int]] | None = None
) -> pyo.ConcreteModel:
    """The merchant batteries alone, each maximising its owner's arbitrage profit at the owner's
    energy price (capex and wear included), blind to the network."""
    exclusive = exclusive or {}
    m = new_model(time_axis(ds), name=f"{ds.attrs.get('case_name', 'wattbit')}_merchant")
    alpha, dt = float(ds.attrs["annual_factor"]), float(ds.attrs["dt_h"])
    prices = ds["owner_energy_price_jpy_per_mwh"]
    parts = merchant_parts(ds)
    index = {p: i for i, p in enumerate(ds["battery"].values.tolist())}
    trade = []
    for part in parts:
        i = index[part]
        blk = define_battery(m, battery_data(ds, i, exclusive.get(part, ())), name=part)
        price = prices.sel(owner=str(ds["battery_owner"].values[i])).values.tolist()
        trade.append(pyo.quicksum(price[t] * (blk.charge_mw[t] - blk.discharge_mw[t]) for t in m.T))
    m.total_cost_jpy = pyo.Expression(
        expr=pyo.quicksum(cost_terms(m).values()) + alpha * dt * pyo.quicksum(trade)
    )
    define_site_objective(m)
    return m


def battery_blocks(m: pyo.ConcreteModel, ds: xr.Dataset) -> dict[str, pyo.Block]:
    """The battery part blocks of a network or merchant model, by part name."""
    found = {}
    for i, part in enumerate(ds["battery"].values.tolist()):
        if hasattr(m, "node"):
            found[part] = getattr(getattr(m.node, str(ds["battery_node"].values[i])), part)
        elif hasattr(m, part):
            found[part] = getattr(m, part)
    return found


def ev_blocks(m: pyo.ConcreteModel, ds: xr.Dataset) -> dict[str, pyo.Block]:
    """The V2G EV fleet blocks of a network model, by fleet name (the ones (V10) can apply to)."""
    if not hasattr(m, "node"):
        return {}
    return {
        name: getattr(getattr(m.node, str(node)), name)
        for name, node, v2g in zip(
            ds["ev"].values.tolist(), ds["ev_node"].values, ds["ev_v2g"].values, strict=True
        )
        if v2g
    }
