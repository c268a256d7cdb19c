"""The network case file: a grid of nodes and branches with DCs, batteries, EV fleets, PV, data
links between DC sites, owners and contracts; one TOML file with CSV series beside it.

Quantity and capacity fields, the horizon, economics, solver options and the series files work
as in a single-site case (:mod:`wattbit.case`, whose types this module reuses); the DC, battery
and PV tables take the single-site fields plus ``name``, ``node`` and ``owner``.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import networkx as nx
import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, model_validator

from wattbit.case import (
    PV,
    Battery,
    Capacity,
    DataCentre,
    Economics,
    Efficiency,
    Fraction,
    Horizon,
    NonNegative,
    Positive,
    Quantity,
    SeriesColumn,
    SizeRange,
    Solver,
    Table,
    cut_horizon,
    read_series,
    read_toml,
    validated,
)
from wattbit.case.load import WRONG_COMMAND, case_kind, check_values
from wattbit.case.series import check_quantity
from wattbit.errors import CaseError

Name = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
NETWORK_OWNER = "network"


class Node(Table):
    """A substation or busbar. A slack node is supplied from the upstream grid."""

    name: Name
    slack: bool = False
    base_load_mw: Quantity = 0.0
    reverse_flow_limit_mw: Quantity | None = None
    import_limit_mw: Quantity | None = None
    import_price_jpy_per_mwh: Quantity | None = None
    export_price_jpy_per_mwh: Quantity | None = None
    x_km: float | None = None
    y_km: float | None = None

    @model_validator(mode="after")
    def _slack_fields(self) -> Node:
        upstream = ("import_limit_mw", "import_price_jpy_per_mwh", "export_price_jpy_per_mwh")
        if self.slack:
            missing = [f for f in upstream[:2] if getattr(self, f) is None]
            if missing:
                raise ValueError(f"a slack node needs {' and '.join(missing)}")
        else:
            given = [f for f in upstream if getattr(self, f) is not None]
            if given:
                raise ValueError(f"{given[0]} is for slack nodes only")
        return self


class Branch(Table):
    """A line or transformer (with a reactance), or a transport link (``kind = "link"``)."""

    name: Name
    from_node: str
    to_node: str
    kind: Literal["line", "transformer", "link"] = "line"
    reactance: Positive | None = None
    limit_mw: Quantity

    @model_validator(mode="after")
    def _impedance(self) -> Branch:
        if self.kind == "link" and self.reactance is not None:
            raise ValueError("a link has no reactance")
        if self.kind != "link" and self.reactance is None:
            raise ValueError(f"a {self.kind} needs a reactance")
        if self.from_node == self.to_node:
            raise ValueError("from_node and to_node are the same node")
        return self


class _Placed(Table):
    """An asset at a node. Of the single-site table it extends, it takes the fields in
    ``supported``; setting any other (one the network model does not use) is an error."""

    name: Name
    node: str
    owner: Name | None = None
    supported: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _only_supported(self) -> _Placed:
        cls = type(self)
        inherited = set().union(*(b.model_fields for b in cls.__bases__ if b is not _Placed))
        unused = sorted((inherited - cls.supported) & self.model_fields_set)
        if unused:
            raise ValueError(f"{unused[0]} is not available in network cases")
        return self


class NetworkDataCentre(DataCentre, _Placed):
    """A DC site; ``migratable_share`` of its inflexible IT load may move to other sites over
    data links not longer than ``max_shift_distance_km``. With ``size_mw`` its size (peak IT
    power) is a decision, as in a single-site case (D0, D4); a sized DC is on no data link."""

    supported = frozenset(
        {
            "it_mw",
            "utilisation",
            "idle_it_mw",
            "peak_it_mw",
            "pue",
            "value_of_lost_compute_jpy_per_mwh",
            "deferrable_share",
            "max_delay_h",
            "deferral_cost_jpy_per_mwh_h",
            "it_capacity_mw",
            "size_mw",
            "value_of_size_jpy_per_mw_year",
        }
    )
    migratable_share: Fraction = 0.0
    max_shift_distance_km: NonNegative = 50.0


class NetworkPV(PV, _Placed):
    supported = frozenset(
        {"capacity_mw", "availability", "capex_jpy_per_kw", "om_jpy_per_kw_year", "lifetime_years"}
    )


class NetworkBattery(Battery, _Placed):
    supported = frozenset(
        {
            "power_mw",
            "energy_mwh",
            "charge_efficiency",
            "discharge_efficiency",
            "standing_loss_per_h",
            "soc_min_fraction",
            "soc_max_fraction",
            "soc_rule",
            "initial_soc_fraction",
            "power_capex_jpy_per_kw",
            "energy_capex_jpy_per_kwh",
            "om_jpy_per_kw_year",
            "lifetime_years",
            "throughput_cost_jpy_per_mwh",
            "exclusive",
        }
    )


class EVFleet(_Placed):
    """An aggregate fleet: per-vehicle battery, charger and departure energy; fleet driving drain."""

    vehicles: Annotated[int, Field(gt=0, strict=True)]
    battery_kwh: Positive
    charger_kw: Capacity
    plugged_in: Quantity
    driving_mw: Quantity = 0.0
    departure_hours: tuple[Annotated[int, Field(ge=0, le=23, strict=True)], ...] = ()
    departure_energy_kwh: NonNegative = 0.0
    charge_efficiency: Efficiency = 0.92
    v2g: bool = False
    v2g_efficiency: Efficiency = 0.92
    standing_loss_per_h: Annotated[float, Field(ge=0, lt=1)] = 0.0
    soc_rule: Literal["cyclic", "fixed"] = "cyclic"
    initial_soc_fraction: Fraction = 0.5
    charger_capex_jpy_per_kw: NonNegative = 0.0
    charger_om_jpy_per_kw_year: NonNegative = 0.0
    charger_lifetime_years: Positive = 10.0
    v2g_cost_jpy_per_mwh: NonNegative = 0.0
    exclusive: Literal["auto", "always", "never"] = "auto"


class DataLink(Table):
    """A data link between two DC sites, usable both ways, ``capacity_mw`` of IT load each way."""

    name: Name
    dcs: Annotated[list[str], Field(min_length=2, max_length=2)]
    capacity_mw: Quantity
    distance_km: NonNegative
    overhead_fraction: NonNegative = 0.0
    cost_jpy_per_mwh: NonNegative = 0.0


class Owner(Table):
    """An owner settles the net energy of its assets at its price (default: the first slack's
    import price)."""

    name: Name
    energy_price_jpy_per_mwh: Quantity | None = None


class Contract(Table):
    """A DC reserves part of a shared battery for a yearly fee; the reserved part is dispatched
    for the DC (with the grid), the rest by the battery's owner."""

    name: Name
    battery: str
    dc: str
    reserved_power_mw: NonNegative
    reserved_energy_mwh: NonNegative
    fee_jpy_per_kw_year: NonNegative = 0.0


class NetworkOptions(Table):
    flow_model: Literal["kvl", "ptdf"] = "kvl"
    contingencies: tuple[str, ...] = ()
    """Lines and transformers whose outage the dispatch must survive (N-1, preventive): after
    any one of them trips, every other line and transformer stays within its limit (N9)."""


class NetworkCase(Table):
    name: str
    description: str = ""
    series: tuple[str, ...] = ()
    horizon: Horizon = Horizon()
    economics: Economics = Economics()
    solver: Solver = Solver()
    network: NetworkOptions = NetworkOptions()
    nodes: Annotated[list[Node], Field(min_length=1)]
    branches: tuple[Branch, ...] = ()
    dcs: tuple[NetworkDataCentre, ...] = ()
    batteries: tuple[NetworkBattery, ...] = ()
    ev_fleets: tuple[EVFleet, ...] = ()
    pv: tuple[NetworkPV, ...] = ()
    links: tuple[DataLink, ...] = ()
    owners: tuple[Owner, ...] = ()
    contracts: tuple[Contract, ...] = ()

    def assets(self) -> list[tuple[str, int, _Placed]]:
        """Every placed asset as (table, position, entry)."""
        tables = ("dcs", "batteries", "ev_fleets", "pv")
        return [(t, i, a) for t in tables for i, a in enumerate(getattr(self, t))]

    def owner_of(self, asset: _Placed) -> str:
        return asset.owner or asset.name

    def slack_nodes(self) -> list[Node]:
        return [node for node in self.nodes if node.slack]


@dataclass(frozen=True, eq=False)
class LoadedNetworkCase:
    """A validated network case with its series cut to the horizon (tz-aware index)."""

    path: Path
    case: NetworkCase
    series: pd.DataFrame
    series_source: dict[str, str]
    full_series: pd.DataFrame

    @property
    def file(self) -> str:
        return str(self.path)

    def values(self, value: float | str | SeriesColumn) -> np.ndarray:
        """A quantity's value on the horizon, as float64 array."""
        if isinstance(value, float | int):
            return np.full(len(self.series), float(value))
        ref = SeriesColumn(column=value) if isinstance(value, str) else value
        return self.series[ref.column].to_numpy(dtype=float) * ref.scale + ref.offset


def _is_quantity(annotation: Any) -> bool:
    return SeriesColumn in typing.get_args(annotation) or any(
        _is_quantity(a) for a in typing.get_args(annotation)
    )


def _range_of(field: str) -> tuple[float, float]:
    if field in {"availability", "utilisation", "plugged_in"}:
        return 0.0, 1.0
    if field == "pue":
        return 1.0, np.inf
    if field.endswith("_mw") and field != "base_load_mw":
        return 0.0, np.inf
    return -np.inf, np.inf


def _quantities(model: BaseModel, path: str) -> list[tuple[str, str, Any]]:
    """(path, field, value) of every quantity field set in ``model`` and the tables under it."""
    found = []
    for field, info in type(model).model_fields.items():
        value = getattr(model, field)
        where = f"{path}.{field}" if path else field
        if isinstance(value, list | tuple):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found += _quantities(item, f"{where}[{i}]")
        elif isinstance(value, BaseModel) and not isinstance(value, SeriesColumn):
            found += _quantities(value, where)
        elif value is not None and _is_quantity(info.annotation):
            found.append((where, field, value))
    return found


def _check_quantities(loaded: LoadedNetworkCase) -> None:
    """Each quantity as a single-site case checks it (:func:`wattbit.case.load.check_quantity`,
    on the whole series), and every number within the solver's magnitudes."""
    for where, field, value in _quantities(loaded.case, ""):
        check_quantity(
            loaded.file, where, value, loaded.full_series, loaded.series_source, _range_of(field)
        )
    check_values(loaded.case, loaded.file)


def _lower(capacity: Capacity) -> float:
    return capacity.min if isinstance(capacity, SizeRange) else float(capacity)


def _check_contingencies(case: NetworkCase, file: str) -> None:
    """Each listed outage is a line or transformer whose loss leaves its ends connected over the
    other lines and transformers (else no dispatch survives it: the grid splits)."""
    by_name = {b.name: b for b in case.branches}
    for i, name in enumerate(case.network.contingencies):
        where = f"network.contingencies[{i}]"
        branch = by_name.get(name)
        if branch is None:
            raise CaseError(file, where, f"unknown branch '{name}' ({', '.join(by_name)})")
        if branch.kind == "link":
            raise CaseError(file, where, f"'{name}' is a link: only lines and transformers trip")
        rest = nx.MultiGraph()
        rest.add_edges_from(
            (b.from_node, b.to_node) for b in case.branches if b.kind != "link" and b.name != name
        )
        if not (
            rest.has_node(branch.from_node)
            and rest.has_node(branch.to_node)
            and nx.has_path(rest, branch.from_node, branch.to_node)
        ):
            raise CaseError(file, where, f"the outage of '{name}' splits the grid")


def _check_references(case: NetworkCase, file: str) -> None:
    """Names, the graph, and fields that refer to other tables."""

    def unique(table: str, names: list[str]) -> None:
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                raise CaseError(file, f"{table}[{i}].name", f"'{name}' is used twice")
            seen.add(name)

    nodes = [n.name for n in case.nodes]
    unique("nodes", nodes)
    unique("branches", [b.name for b in case.branches])
    assets = case.assets()
    unique("assets", [a.name for _, _, a in assets])
    unique("links", [link.name for link in case.links])
    unique("contracts", [c.name for c in case.contracts])
    known = ", ".join(nodes)
    for i, br in enumerate(case.branches):
        for end in ("from_node", "to_node"):
            if getattr(br, end) not in nodes:
                raise CaseError(
                    file, f"branches[{i}].{end}", f"unknown node '{getattr(br, end)}' ({known})"
                )
    for table, i, asset in assets:
        if asset.node not in nodes:
            raise CaseError(file, f"{table}[{i}].node", f"unknown node '{asset.node}' ({known})")
        if asset.name == "upstream" or asset.name.endswith(("_migration", "_reserved")):
            raise CaseError(file, f"{table}[{i}].name", f"'{asset.name}' is a reserved name")

    _check_contingencies(case, file)
    if not case.slack_nodes():
        raise CaseError(file, "nodes", "no slack node: set slack = true on a supply point")
    graph = nx.MultiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((b.from_node, b.to_node) for b in case.branches)
    fed = set().union(*(nx.node_connected_component(graph, n.name) for n in case.slack_nodes()))
    for i, node in enumerate(case.nodes):
        if node.name not in fed:
            raise CaseError(file, f"nodes[{i}]", f"node '{node.name}' has no path to a slack node")

    for i, ev in enumerate(case.ev_fleets):
        if ev.departure_energy_kwh > ev.battery_kwh:
            raise CaseError(
                file,
                f"ev_fleets[{i}].departure_energy_kwh",
                f"{ev.departure_energy_kwh:g} kWh exceeds battery_kwh ({ev.battery_kwh:g})",
            )
    dcs = [dc.name for dc in case.dcs]
    for i, link in enumerate(case.links):
        for end in link.dcs:
            if end not in dcs:
                raise CaseError(file, f"links[{i}].dcs", f"unknown DC '{end}' ({', '.join(dcs)})")
        if link.dcs[0] == link.dcs[1]:
            raise CaseError(file, f"links[{i}].dcs", "a link joins two different DCs")
        sized = [d.name for d in case.dcs if d.name in link.dcs and d.size_mw is not None]
        if sized:
            raise CaseError(
                file,
                f"links[{i}].dcs",
                f"DC '{sized[0]}' is sized (size_mw): a sized DC takes no part in migration",
            )
    batteries = {b.name: b for b in case.batteries}
    for i, contract in enumerate(case.contracts):
        if contract.battery not in batteries:
            raise CaseError(
                file, f"contracts[{i}].battery", f"unknown battery '{contract.battery}'"
            )
        if contract.dc not in dcs:
            raise CaseError(file, f"contracts[{i}].dc", f"unknown DC '{contract.dc}'")
        bat = batteries[contract.battery]
        for field, size in (
            ("reserved_power_mw", bat.power_mw),
            ("reserved_energy_mwh", bat.energy_mwh),
        ):
            if getattr(contract, field) > _lower(size):
                raise CaseError(
                    file,
                    f"contracts[{i}].{field}",
                    f"{getattr(contract, field):g} exceeds the battery's size "
                    f"(at least {_lower(size):g})",
                )
    reserved_batteries = [c.battery for c in case.contracts]
    for i, name in enumerate(reserved_batteries):
        if name in reserved_batteries[:i]:
            raise CaseError(file, f"contracts[{i}].battery", f"'{name}' has a contract already")

    listed = [o.name for o in case.owners]
    unique("owners", listed)
    for i, name in enumerate(listed):
        if name == NETWORK_OWNER:
            raise CaseError(file, f"owners[{i}].name", f"'{NETWORK_OWNER}' is the grid's account")
    for table, i, asset in assets:
        owner = case.owner_of(asset)
        if owner == NETWORK_OWNER:
            raise CaseError(file, f"{table}[{i}].owner", f"'{NETWORK_OWNER}' is the grid's account")
        if listed and owner not in listed:
            raise CaseError(
                file, f"{table}[{i}].owner", f"unknown owner '{owner}' ({', '.join(listed)})"
            )


def load_network_case(
    path: str | Path, overrides: dict[str, Any] | None = None
) -> LoadedNetworkCase:
    """Read, validate and cut a network case to its horizon. Raises :class:`CaseError`.

    ``overrides`` maps dotted paths of tables (``horizon.steps``) to values that replace the
    file's before validation.
    """
    path = Path(path)
    file = str(path)
    raw = read_toml(path, overrides)
    if case_kind(raw) == "site":
        raise CaseError(file, "", WRONG_COMMAND["site"])
    case = validated(NetworkCase, raw, file)
    if not case.series:
        raise CaseError(file, "series", "no series file given: a case needs its time axis")
    _check_references(case, file)
    full, source = read_series(path, case.series)
    series = cut_horizon(full, case.horizon, file)
    loaded = LoadedNetworkCase(path, case, series, source, full)
    _check_quantities(loaded)
    return loaded
