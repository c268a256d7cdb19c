"""Network case → input Dataset.

The Dataset holds every parameter with one dimension per kind of component (``node``, ``branch``,
``dc``, ``battery``, ``ev``, ``pv``, ``route``, ``owner``, ``contract``) besides ``time``; names
are ``<component>_<field>`` with the unit as suffix, capacities as ``_min``/``_max``, capital
costs annualised (JPY per MW-year). A battery with a contract appears as two *parts*: ``<name>``
(its owner's share) and ``<name>_reserved`` (the share reserved for the DC).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import xarray as xr

from wattbit.case import Capacity, SizeRange
from wattbit.errors import CaseError
from wattbit.input_dataset import KW_PER_MW, annualised_per_mw, units_of
from wattbit.network.case import LoadedNetworkCase

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
    sizes, shapes = [], []
    for i, d in enumerate(case.dcs):
        peak = d.peak_it_mw if d.peak_it_mw is not None else float(it[i].max())
        shapes.append(it[i] / peak if peak > 0 else np.zeros(n))
        if d.size_mw is None:
            sizes.append((peak, peak))
            continue
        if peak <= 0:
            raise CaseError(
                loaded.file, f"dcs[{i}].size_mw", "needs an IT profile with a positive peak"
            )
        sizes.append(_bounds(d.size_mw))
        it[i] = shapes[i] * sizes[i][1]
    dcs.put("sized", [int(d.size_mw is not None) for d in case.dcs], "1 if the size is decided")
    dcs.size("size_mw", sizes, "DC size (peak IT power; fixed at the profile's peak if not sized)")
    dcs.series("it_per_mw", shapes, "IT profile per MW of DC size")
    dcs.put(
        "value_of_size_jpy_per_mw_year",
        [d.value_of_size_jpy_per_mw_year for d in case.dcs],
        "value of one MW of DC size per year",
    )
    dcs.series("it_mw", it, "desired IT power (at the largest size when sized)")
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
            annualised_per_mw(rate, p.lifetime_years, p.capex_jpy_per_kw, p.om_jpy_per_kw_year)
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
    bats.put(
        "power_capex_jpy_per_mw_year",
        [
            annualised_per_mw(
                rate, b.lifetime_years, b.power_capex_jpy_per_kw, b.om_jpy_per_kw_year
            )
            for _, b, _ in parts
        ],
        "annualised power capex + fixed O&M",
    )
    bats.put(
        "energy_capex_jpy_per_mwh_year",
        [
            annualised_per_mw(rate, b.lifetime_years, b.energy_capex_jpy_per_kwh)
            for _, b, _ in parts
        ],
        "annualised energy capex",
    )

    evs = table(
        "ev",
        [e.name for e in case.ev_fleets],
        node=[e.node for e in case.ev_fleets],
        owner=[owner_of(e) for e in case.ev_fleets],
        soc_rule=[e.soc_rule for e in case.ev_fleets],
        exclusive=[e.exclusive for e in case.ev_fleets],
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
            annualised_per_mw(
                rate,
                e.charger_lifetime_years,
                e.charger_capex_jpy_per_kw,
                e.charger_om_jpy_per_kw_year,
            )
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
    return ds.assign_coords(contingency=("contingency", list(case.network.contingencies)))
