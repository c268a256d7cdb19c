"""Network case → input Dataset → Pyomo model (system-wide), or the merchant batteries' own model.

The Dataset holds every parameter with one dimension per kind of component (``node``, ``branch``,
``dc``, ``battery``, ``ev``, ``pv``, ``route``, ``owner``, ``contract``) besides ``time``; names
are ``<component>_<field>`` with the unit as suffix, capacities as ``_min``/``_max``, capital
costs annualised (JPY per MW-year). A battery with a contract appears as two *parts*: ``<name>``
(its owner's share) and ``<name>_reserved`` (the share reserved for the DC).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import xarray as xr

from wattbit.case import Capacity, SizeRange
from wattbit.formulations.battery import BatteryData, define_battery
from wattbit.formulations.common import Size, TimeAxis, capital_recovery_factor, new_model
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
from wattbit.inputs import KW_PER_MW, units_of
from wattbit.network.case import NETWORK_OWNER, LoadedNetworkCase

RESERVED = "_reserved"
DEFERRABLE = "_deferrable"
MIGRATION = "_migration"
BATTERY_FIELDS = (
    "charge_efficiency",
    "discharge_efficiency",
    "standing_loss_per_h",
    "soc_min_fraction",
    "soc_max_fraction",
    "initial_soc_fraction",
    "throughput_cost_jpy_per_mwh",
)


def _bounds(capacity: Capacity) -> tuple[float, float]:
    if isinstance(capacity, SizeRange):
        return capacity.min, capacity.max
    return float(capacity), float(capacity)


class _Table:
    """Collects one component kind's parameters (``dim`` or ``dim × time``) for the Dataset."""

    def __init__(self, dim: str, names: list[str], steps: int) -> None:
        self.dim, self.names, self.steps = dim, names, steps
        self.vars: dict[str, tuple[tuple[str, ...], np.ndarray, dict[str, str]]] = {}

    def put(self, field: str, values: Iterable, doc: str, timed: bool = False) -> None:
        array = np.asarray(list(values), dtype=float)
        if timed:
            array = array.reshape(len(self.names), self.steps)
        dims = (self.dim, "time") if timed else (self.dim,)
        name = f"{self.dim}_{field}"
        self.vars[name] = (dims, array, {"units": units_of(name), "doc": doc})

    def series(self, field: str, values: Iterable, doc: str) -> None:
        self.put(field, values, doc, timed=True)

    def size(self, field: str, capacities: list[tuple[float, float]], doc: str) -> None:
        self.put(f"{field}_min", [lo for lo, _ in capacities], f"{doc} (lower bound)")
        self.put(f"{field}_max", [hi for _, hi in capacities], f"{doc} (upper bound)")


def build_network_inputs(loaded: LoadedNetworkCase) -> xr.Dataset:
    """Every parameter of the network case on the horizon, as a Dataset (see the module doc)."""
    case, values = loaded.case, loaded.values
    index = loaded.series.index
    n = len(index)
    dt_h = (index[1] - index[0]).total_seconds() / 3600.0
    rate = case.economics.discount_rate
    zeros = np.zeros(n)
    tables: list[_Table] = []
    coords: dict[str, tuple[str, list]] = {}

    def table(dim: str, names: list[str], **labels: list) -> _Table:
        tab = _Table(dim, names, n)
        tables.append(tab)
        coords[dim] = (dim, np.asarray(names, dtype=str))
        for label, entries in labels.items():
            coords[f"{dim}_{label}"] = (dim, np.asarray(entries, dtype=str))
        return tab

    slack = case.slack_nodes()
    default_price = values(slack[0].import_price_jpy_per_mwh)

    nodes = table("node", [x.name for x in case.nodes])
    nodes.put("slack", [int(x.slack) for x in case.nodes], "1 if supplied from upstream")
    nodes.series("base_load_mw", [values(x.base_load_mw) for x in case.nodes], "other customers")
    nodes.series(
        "reverse_flow_limit_mw",
        [
            values(x.reverse_flow_limit_mw)
            if x.reverse_flow_limit_mw is not None
            else np.full(n, 0.0 if x.slack else np.inf)
            for x in case.nodes
        ],
        "most the node may feed back (slack: export upstream); inf = none",
    )
    for field in ("import_limit_mw", "import_price_jpy_per_mwh", "export_price_jpy_per_mwh"):
        nodes.series(
            f"upstream_{field}",
            [
                values(getattr(x, field)) if getattr(x, field) is not None else zeros
                for x in case.nodes
            ],
            f"slack supply: {field.replace('_', ' ')}",
        )
    nodes.put("x_km", [np.nan if x.x_km is None else x.x_km for x in case.nodes], "map position")
    nodes.put("y_km", [np.nan if x.y_km is None else x.y_km for x in case.nodes], "map position")

    branches = table(
        "branch",
        [b.name for b in case.branches],
        from_node=[b.from_node for b in case.branches],
        to_node=[b.to_node for b in case.branches],
        kind=[b.kind for b in case.branches],
    )
    branches.put(
        "reactance", [np.nan if b.reactance is None else b.reactance for b in case.branches], "x"
    )
    branches.series("limit_mw", [values(b.limit_mw) for b in case.branches], "thermal limit")

    owner_of = case.owner_of
    dcs = table(
        "dc",
        [d.name for d in case.dcs],
        node=[d.node for d in case.dcs],
        owner=[owner_of(d) for d in case.dcs],
    )
    it = []
    for d in case.dcs:
        if d.it_mw is not None:
            it.append(values(d.it_mw))
        else:
            it.append(d.idle_it_mw + (d.peak_it_mw - d.idle_it_mw) * values(d.utilisation))
    dcs.series("it_mw", it, "desired IT power")
    dcs.series("pue", [values(d.pue) for d in case.dcs], "power usage effectiveness")
    dcs.put(
        "value_of_lost_compute_jpy_per_mwh",
        [d.value_of_lost_compute_jpy_per_mwh for d in case.dcs],
        "per MWh of IT energy not served",
    )
    dcs.put("deferrable_share", [d.deferrable_share for d in case.dcs], "may wait")
    dcs.put("max_delay_h", [d.max_delay_h for d in case.dcs], "longest wait")
    dcs.put("deferral_cost_jpy_per_mwh_h", [d.deferral_cost_jpy_per_mwh_h for d in case.dcs], "")
    dcs.put(
        "it_capacity_mw",
        [
            d.it_capacity_mw or d.peak_it_mw or float(load.max())
            for d, load in zip(case.dcs, it, strict=True)
        ],
        "IT capacity",
    )
    dcs.put("migratable_share", [d.migratable_share for d in case.dcs], "may move site")
    dcs.put("max_shift_distance_km", [d.max_shift_distance_km for d in case.dcs], "latency")

    pvs = table(
        "pv",
        [p.name for p in case.pv],
        node=[p.node for p in case.pv],
        owner=[owner_of(p) for p in case.pv],
    )
    pvs.size("capacity_mw", [_bounds(p.capacity_mw) for p in case.pv], "PV capacity")
    pvs.series("availability", [values(p.availability) for p in case.pv], "capacity factor")
    pvs.put(
        "capex_jpy_per_mw_year",
        [
            (
                capital_recovery_factor(rate, p.lifetime_years) * p.capex_jpy_per_kw
                + p.om_jpy_per_kw_year
            )
            * KW_PER_MW
            for p in case.pv
        ],
        "annualised capex + fixed O&M",
    )

    contract_of = {c.battery: c for c in case.contracts}
    parts = []  # (part name, battery, reserved fraction source or None)
    for b in case.batteries:
        parts.append((b.name, b, None))
        if b.name in contract_of:
            parts.append((b.name + RESERVED, b, contract_of[b.name]))
    bats = table(
        "battery",
        [p for p, _, _ in parts],
        unit=[b.name for _, b, _ in parts],
        node=[b.node for _, b, _ in parts],
        owner=[owner_of(b) for _, b, _ in parts],
        soc_rule=[b.soc_rule for _, b, _ in parts],
        exclusive=[b.exclusive for _, b, _ in parts],
        reserved_for=[c.dc if c else "" for _, _, c in parts],
    )

    def part_size(b, contract, field: str, reserved: str) -> tuple[float, float]:
        if contract is not None:
            return (getattr(contract, reserved),) * 2
        lo, hi = _bounds(getattr(b, field))
        held = getattr(contract_of[b.name], reserved) if b.name in contract_of else 0.0
        return lo - held, hi - held

    bats.size(
        "power_mw",
        [part_size(b, c, "power_mw", "reserved_power_mw") for _, b, c in parts],
        "battery power",
    )
    bats.size(
        "energy_mwh",
        [part_size(b, c, "energy_mwh", "reserved_energy_mwh") for _, b, c in parts],
        "battery energy",
    )
    for field in BATTERY_FIELDS:
        bats.put(field, [getattr(b, field) for _, b, _ in parts], field.replace("_", " "))
    crf = [capital_recovery_factor(rate, b.lifetime_years) for _, b, _ in parts]
    bats.put(
        "power_capex_jpy_per_mw_year",
        [
            (k * b.power_capex_jpy_per_kw + b.om_jpy_per_kw_year) * KW_PER_MW
            for k, (_, b, _) in zip(crf, parts, strict=True)
        ],
        "annualised power capex + fixed O&M",
    )
    bats.put(
        "energy_capex_jpy_per_mwh_year",
        [
            k * b.energy_capex_jpy_per_kwh * KW_PER_MW
            for k, (_, b, _) in zip(crf, parts, strict=True)
        ],
        "annualised energy capex",
    )

    evs = table(
        "ev",
        [e.name for e in case.ev_fleets],
        node=[e.node for e in case.ev_fleets],
        owner=[owner_of(e) for e in case.ev_fleets],
        soc_rule=[e.soc_rule for e in case.ev_fleets],
    )
    ends = (index + pd.Timedelta(hours=dt_h)).tz_convert(case.horizon.timezone)
    on_the_hour = (ends.minute == 0) & (ends.second == 0)
    evs.put("energy_mwh", [e.vehicles * e.battery_kwh / KW_PER_MW for e in case.ev_fleets], "pool")
    evs.size(
        "charger_mw",
        [tuple(e.vehicles * v / KW_PER_MW for v in _bounds(e.charger_kw)) for e in case.ev_fleets],
        "fleet charger power",
    )
    evs.series("plugged_in", [values(e.plugged_in) for e in case.ev_fleets], "share plugged in")
    evs.series("driving_mw", [values(e.driving_mw) for e in case.ev_fleets], "driving drain")
    evs.series(
        "departure",
        [
            (on_the_hour & np.isin(ends.hour, e.departure_hours)).astype(float)
            for e in case.ev_fleets
        ],
        "1 at the steps that end at a departure hour",
    )
    evs.put(
        "departure_energy_mwh",
        [e.vehicles * e.departure_energy_kwh / KW_PER_MW for e in case.ev_fleets],
        "pool energy required at departure",
    )
    for field in ("charge_efficiency", "v2g_efficiency", "standing_loss_per_h"):
        evs.put(field, [getattr(e, field) for e in case.ev_fleets], field.replace("_", " "))
    evs.put("v2g", [int(e.v2g) for e in case.ev_fleets], "1 if V2G")
    evs.put("initial_soc_fraction", [e.initial_soc_fraction for e in case.ev_fleets], "")
    evs.put(
        "charger_capex_jpy_per_mw_year",
        [
            (
                capital_recovery_factor(rate, e.charger_lifetime_years) * e.charger_capex_jpy_per_kw
                + e.charger_om_jpy_per_kw_year
            )
            * KW_PER_MW
            for e in case.ev_fleets
        ],
        "annualised charger capex + fixed O&M",
    )
    evs.put("v2g_cost_jpy_per_mwh", [e.v2g_cost_jpy_per_mwh for e in case.ev_fleets], "wear")

    by_dc = {d.name: d for d in case.dcs}
    routes = []  # (origin, destination, link)
    for link in case.links:
        for a, b in (link.dcs, link.dcs[::-1]):
            origin = by_dc[a]
            if origin.migratable_share > 0 and link.distance_km <= origin.max_shift_distance_km:
                routes.append((a, b, link))
    rts = table(
        "route",
        [f"{a}_to_{b}" for a, b, _ in routes],
        origin=[a for a, _, _ in routes],
        destination=[b for _, b, _ in routes],
        link=[link.name for _, _, link in routes],
    )
    rts.series("capacity_mw", [values(link.capacity_mw) for _, _, link in routes], "IT MW each way")
    rts.put("overhead_fraction", [link.overhead_fraction for _, _, link in routes], "energy")
    rts.put("cost_jpy_per_mwh", [link.cost_jpy_per_mwh for _, _, link in routes], "per MWh moved")
    rts.put("distance_km", [link.distance_km for _, _, link in routes], "link length")

    listed = {o.name: o for o in case.owners}
    names = list(dict.fromkeys([*listed, *(owner_of(a) for _, _, a in case.assets())]))
    owners = table("owner", names)
    owners.series(
        "energy_price_jpy_per_mwh",
        [
            values(listed[o].energy_price_jpy_per_mwh)
            if o in listed and listed[o].energy_price_jpy_per_mwh is not None
            else default_price
            for o in names
        ],
        "price at which the owner settles its net energy",
    )

    contracts = table(
        "contract",
        [c.name for c in case.contracts],
        battery=[c.battery for c in case.contracts],
        dc=[c.dc for c in case.contracts],
        dc_owner=[owner_of(by_dc[c.dc]) for c in case.contracts],
        battery_owner=[
            owner_of(next(b for b in case.batteries if b.name == c.battery)) for c in case.contracts
        ],
    )
    contracts.put(
        "fee_jpy_per_year",
        [c.fee_jpy_per_kw_year * c.reserved_power_mw * KW_PER_MW for c in case.contracts],
        "paid by the DC's owner to the battery's owner",
    )

    ds = xr.Dataset(coords={"time": ("time", index.tz_convert("UTC").tz_localize(None)), **coords})
    for tab in tables:
        for name, (dims, array, attrs) in tab.vars.items():
            ds[name] = (dims, array.astype(float), attrs)
    ds.attrs.update(
        case_name=case.name,
        case_file=str(loaded.path),
        timezone=case.horizon.timezone,
        dt_h=dt_h,
        annual_factor=8760.0 / (n * dt_h),
        discount_rate=rate,
        flow_model=case.network.flow_model,
    )
    return ds


# --------------------------------------------------------------------------- model


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
    return NetworkData(tuple(nodes), tuple(branches), flow_model=ds.attrs["flow_model"])


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


def ev_data(ds: xr.Dataset, i: int) -> EVFleetData:
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
    )


def _place_data_centres(ds: xr.Dataset, hosts: Mapping[str, pyo.Block]) -> dict[str, SiteBlocks]:
    dt = float(ds.attrs["dt_h"])
    sites = {}
    for i, name in enumerate(ds["dc"].values.tolist()):
        host = hosts[str(ds["dc_node"].values[i])]
        it, pue = ds["dc_it_mw"].values[i], ds["dc_pue"].values[i]
        share = float(ds["dc_deferrable_share"][i])
        voll = float(ds["dc_value_of_lost_compute_jpy_per_mwh"][i])
        dc = define_data_centre(host, DataCentreData((1.0 - share) * it, pue, voll), name=name)
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

    ``exclusive`` maps a battery part to the steps given a charge/discharge exclusivity binary.
    """
    exclusive = exclusive or {}
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
        define_ev_fleet(hosts[str(ds["ev_node"].values[i])], ev_data(ds, i), name=name)
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
