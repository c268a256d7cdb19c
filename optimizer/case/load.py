"""Loading a case: the TOML file read with ``--set`` overrides applied, validated against the
schema, its series read and cut to the horizon, and its quantity fields checked against them."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wattbit.case.fields import SeriesColumn
from wattbit.case.messages import validated
from wattbit.case.schema import Case
from wattbit.case.series import cut_horizon, read_series
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
    for listed in [f for f in fields if isinstance(field_value(case, f), list)]:
        items = len(field_value(case, listed))
        fields[fields.index(listed) : fields.index(listed) + 1] = [
            f"{listed}[{i}]" for i in range(items)
        ]
    for field in fields:
        value = field_value(case, field)
        if value is None:
            continue
        if not isinstance(value, float | int):
            column = value if isinstance(value, str) else value.column
            if column not in loaded.series.columns:
                known = ", ".join(loaded.series.columns) or "no series files given"
                raise CaseError(file, field, f"column '{column}' not in the series ({known})")
            raw = loaded.full_series[column]
            if not pd.api.types.is_numeric_dtype(raw):
                text = raw[pd.to_numeric(raw, errors="coerce").isna() & raw.notna()]
                what = f"'{text.iloc[0]}' at {text.index[0].isoformat()}" if len(text) else "values"
                raise CaseError(loaded.series_source[column], column, f"{what}: not a number")
            if raw.isna().any():
                stamp = raw.index[raw.isna().to_numpy().argmax()].isoformat()
                raise CaseError(loaded.series_source[column], column, f"missing value at {stamp}")
            infinite = np.isinf(raw.to_numpy(dtype=float))
            if infinite.any():
                stamp = raw.index[infinite.argmax()].isoformat()
                raise CaseError(loaded.series_source[column], column, f"infinite value at {stamp}")
        lo, hi = _SERIES_RANGES.get(field, (-math.inf, math.inf))
        values = loaded.quantity(field, full=True)
        if values.size and (values.min() < lo - 1e-12 or values.max() > hi + 1e-12):
            where = values.argmin() if values.min() < lo else values.argmax()
            raise CaseError(
                file,
                field,
                f"value {values[where]:g} at {loaded.full_series.index[where].isoformat()} "
                f"outside [{lo:g}, {hi:g}]",
            )


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
    case = validated(Case, raw, file)
    if not case.series:
        raise CaseError(file, "series", "no series file given: a case needs its time axis")
    full, source = read_series(path, case.series)
    series = cut_horizon(full, case.horizon, file)
    loaded = LoadedCase(path=path, case=case, series=series, series_source=source, full_series=full)
    _check_quantities(loaded)
    return loaded


def set_path(raw: dict[str, Any], dotted: str, value: Any, file: str) -> None:
    """Set ``raw[a][b][c] = value`` for ``dotted = "a.b.c"``; tables along the way must exist."""
    parts = dotted.split(".")
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise CaseError(file, ".".join(parts[: i + 1]), "is a value, not a table")
        node = child
    node[parts[-1]] = value
