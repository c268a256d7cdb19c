"""Loading a case: the TOML file read with ``--set`` overrides applied, validated against the
schema, its series read and cut to the horizon, and its quantity fields checked against them."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from wattbit.case.fields import SeriesColumn
from wattbit.case.messages import validated
from wattbit.case.schema import Case
from wattbit.case.series import (
    MAX_MAGNITUDE,
    TOO_LARGE,
    check_quantity,
    cut_horizon,
    read_series,
)
from wattbit.errors import CaseError


@dataclass(frozen=True, eq=False)
class LoadedCase:
    """A validated case with its series cut to the horizon (tz-aware index)."""

    path: Path
    case: Case
    series: pd.DataFrame
    series_source: dict[str, str]
    full_series: pd.DataFrame

    @property
    def file(self) -> str:
        return str(self.path)

    def quantity(self, field: str, full: bool = False) -> np.ndarray:
        """The value of a quantity field (dotted path) as a float64 array, on the horizon, or on
        the whole series with ``full=True`` (e.g. to derive the operating pattern from a year)."""
        value = field_value(self.case, field)
        series = self.full_series if full else self.series
        if isinstance(value, float | int):
            return np.full(len(series), float(value))
        ref = SeriesColumn(column=value) if isinstance(value, str) else value
        return series[ref.column].to_numpy(dtype=float) * ref.scale + ref.offset


_SERIES_RANGES: dict[str, tuple[float, float]] = {
    "dc.it_mw": (0.0, math.inf),
    "dc.utilisation": (0.0, 1.0),
    "dc.pue": (1.0, math.inf),
    "pv.availability": (0.0, 1.0),
    "grid.import_limit_mw": (0.0, math.inf),
    "grid.export_limit_mw": (0.0, math.inf),
    "type3.fault_residual_mw": (0.0, math.inf),
    "type3.maintenance_residual_mw": (0.0, math.inf),
}


def field_value(case: Any, field: str) -> Any:
    """The value at a dotted path of the case, ``a.b`` or, in a list, ``a.b[1]``."""
    value = case
    for part in field.split("."):
        name, _, index = part.partition("[")
        value = getattr(value, name)
        if index:
            value = value[int(index.rstrip("]"))]
    return value


def _check_quantities(loaded: LoadedCase) -> None:
    case, file = loaded.case, loaded.file
    fields = [
        "dc.it_mw",
        "dc.utilisation",
        "dc.pue",
        "grid.import_limit_mw",
        "grid.base_flow_mw",
        "grid.energy_price_jpy_per_mwh",
        "grid.export_limit_mw",
        "grid.export_price_jpy_per_mwh",
        "grid.pattern.reference_base_flow_mw",
    ]
    if case.grid.forecast.file is None:
        fields.append("grid.forecast.column")
    if case.pv is not None:
        fields.append("pv.availability")
    if case.type3 is not None:
        fields += ["type3.fault_residual_mw", "type3.maintenance_residual_mw"]
    if case.market is not None:
        reserves = range(len(case.market.reserve))
        fields += [f"market.reserve[{i}].price_jpy_per_mw_h" for i in reserves]
    for listed in [f for f in fields if isinstance(field_value(case, f), list)]:
        items = len(field_value(case, listed))
        fields[fields.index(listed) : fields.index(listed) + 1] = [
            f"{listed}[{i}]" for i in range(items)
        ]
    for field in fields:
        value = field_value(case, field)
        if value is not None:
            bounds = _SERIES_RANGES.get(field, (-math.inf, math.inf))
            check_quantity(file, field, value, loaded.full_series, loaded.series_source, bounds)
    check_values(case, file)


def leaves(model: BaseModel, path: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every value set in ``model`` and the tables and lists under it."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        where = f"{path}.{name}" if path else name
        items = enumerate(value) if isinstance(value, list | tuple) else [(None, value)]
        for i, item in items:
            at = where if i is None else f"{where}[{i}]"
            if isinstance(item, BaseModel):
                yield from leaves(item, at)
            else:
                yield at, item


def check_values(case: BaseModel, file: str) -> None:
    """Every number of the case within the magnitude the solver handles (:data:`MAX_MAGNITUDE`:
    a price or capex of 1e300 is bad input, not a solver failure), and no text with a NUL
    character (which no result file can hold)."""
    for field, value in leaves(case):
        number = isinstance(value, float | int) and not isinstance(value, bool)
        if number and math.isfinite(value) and abs(value) > MAX_MAGNITUDE:
            raise CaseError(file, field, f"value {value:g} {TOO_LARGE}")
        if isinstance(value, str) and "\x00" in value:
            raise CaseError(file, field, f"{value!r} holds a NUL character")


def read_toml(path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The case file's tables with ``overrides`` (dotted path → value) applied; bad files raise
    :class:`CaseError`."""
    file = str(path)
    if not path.is_file():
        raise CaseError(file, "", "case file not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(file, "", f"not valid TOML ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise CaseError(file, "", "not a UTF-8 text file") from exc
    for dotted, value in (overrides or {}).items():
        set_path(raw, dotted, value, file)
    return raw


def load_case(path: str | Path, overrides: dict[str, Any] | None = None) -> LoadedCase:
    """Read, validate and cut a case to its horizon. Raises :class:`CaseError` on bad input.

    ``overrides`` maps dotted paths (``battery.energy_capex_jpy_per_kwh``) to values that replace
    the file's before validation.
    """
    path = Path(path)
    file = str(path)
    raw = read_toml(path, overrides)
    if case_kind(raw) == "network":
        raise CaseError(file, "nodes", WRONG_COMMAND["network"])
    case = validated(Case, raw, file)
    if not case.series:
        raise CaseError(file, "series", "no series file given: a case needs its time axis")
    full, source = read_series(path, case.series)
    series = cut_horizon(full, case.horizon, file)
    loaded = LoadedCase(path=path, case=case, series=series, series_source=source, full_series=full)
    _check_quantities(loaded)
    return loaded


WRONG_COMMAND = {
    "network": "a network case: run it with `wattbit network` "
    "(sweeps: `wattbit sweep --study network`)",
    "site": "a single-site case: run it with `wattbit solve` (or compare, ridethrough, connect; "
    "sweeps: `wattbit sweep --study solve`)",
}


def case_kind(raw: dict[str, Any]) -> str:
    """``network`` for a case file with ``[[nodes]]``, ``site`` for one with a single-site table
    (``[dc]``, ``[grid]``, ``[battery]``, ``[pv]``), else ``unknown``."""
    if "nodes" in raw:
        return "network"
    if any(isinstance(raw.get(table), dict) for table in ("dc", "grid", "battery", "pv")):
        return "site"
    return "unknown"


def set_path(raw: dict[str, Any], dotted: str, value: Any, file: str) -> None:
    """Set ``raw[a][b][c] = value`` for ``dotted = "a.b.c"``; tables along the way must exist. In
    a list of named tables (a network case's ``batteries``), a part names an entry:
    ``batteries.b1.energy_mwh``."""
    parts = dotted.split(".")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = _named_entry(node, part, ".".join(parts[:i]), file)
            continue
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict) and not _is_named_list(child):
            raise CaseError(file, ".".join(parts[: i + 1]), "is a value, not a table")
        node = child
    if isinstance(node, list):
        raise CaseError(
            file,
            dotted,
            f"names an entry of '{'.'.join(parts[:-1])}': give its field, e.g. {dotted}.<field>",
        )
    node[parts[-1]] = value


def _is_named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _named_entry(entries: list[dict[str, Any]], name: str, table: str, file: str) -> Any:
    found = [entry for entry in entries if entry.get("name") == name]
    if not found:
        names = ", ".join(str(e.get("name")) for e in entries) or "none"
        raise CaseError(file, table, f"no entry named '{name}' (names: {names})")
    return found[0]
