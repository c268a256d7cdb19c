"""The case file: one TOML file with CSV time series beside it, validated on load.

A *quantity* field takes a constant, the name of a column of the case's series files, or a table
``{ column = "…", scale = 1.0, offset = 0.0 }``. A *capacity* field takes a fixed value or a range
``{ min = …, max = … }`` that the optimiser sizes within. Every field carries its unit in its name.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from optimizer.errors import CaseError

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Efficiency = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeriesColumn(_Strict):
    """A column of the series files, transformed as ``scale · value + offset``."""

    column: str
    scale: Annotated[float, Field(allow_inf_nan=False)] = 1.0
    offset: Annotated[float, Field(allow_inf_nan=False)] = 0.0


Quantity = Annotated[float, Field(allow_inf_nan=False)] | str | SeriesColumn


class SizeRange(_Strict):
    """A capacity the optimiser sizes within ``[min, max]``."""

    min: NonNegative = 0.0
    max: NonNegative

    @model_validator(mode="after")
    def _ordered(self) -> SizeRange:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) exceeds max ({self.max})")
        return self


Capacity = NonNegative | SizeRange


class Horizon(_Strict):
    """Which part of the series to solve: ``start`` and ``end`` (exclusive) or ``steps``."""

    start: datetime | None = None
    end: datetime | None = None
    steps: Annotated[int, Field(gt=0)] | None = None
    timezone: str = "Asia/Tokyo"

    @model_validator(mode="after")
    def _consistent(self) -> Horizon:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone '{self.timezone}'") from None
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a UTC offset, e.g. 2025-05-01T00:00:00+09:00")
        if self.end is not None and self.steps is not None:
            raise ValueError("give end or steps, not both")
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Economics(_Strict):
    discount_rate: Annotated[float, Field(ge=0, lt=1)] = 0.05


class Solver(_Strict):
    time_limit_s: Positive = 600.0
    mip_gap: Annotated[float, Field(ge=0, lt=1)] = 1e-4
    threads: Annotated[int, Field(ge=1)] = 1


class DataCentre(_Strict):
    """IT power as a profile (``it_mw``) or from utilisation (``utilisation``, idle, peak)."""

    it_mw: Quantity | None = None
    utilisation: Quantity | None = None
    idle_it_mw: NonNegative | None = None
    peak_it_mw: NonNegative | None = None
    pue: Quantity = 1.0
    value_of_lost_compute_jpy_per_mwh: NonNegative = 100_000.0

    @model_validator(mode="after")
    def _one_load_source(self) -> DataCentre:
        from_util = [self.utilisation, self.idle_it_mw, self.peak_it_mw]
        if self.it_mw is not None and any(v is not None for v in from_util):
            raise ValueError("give it_mw or utilisation with idle_it_mw and peak_it_mw, not both")
        if self.it_mw is None and any(v is None for v in from_util):
            raise ValueError("give it_mw, or utilisation with idle_it_mw and peak_it_mw")
        if self.idle_it_mw is not None and self.idle_it_mw > self.peak_it_mw:
            raise ValueError("idle_it_mw exceeds peak_it_mw")
        return self


class PV(_Strict):
    capacity_mw: Capacity
    availability: Quantity
    capex_jpy_per_kw: NonNegative = 0.0
    om_jpy_per_kw_year: NonNegative = 0.0
    lifetime_years: Positive = 25.0


class Battery(_Strict):
    power_mw: Capacity
    energy_mwh: Capacity
    charge_efficiency: Efficiency = 0.95
    discharge_efficiency: Efficiency = 0.95
    standing_loss_per_h: Annotated[float, Field(ge=0, lt=1)] = 0.0
    soc_min_fraction: Fraction = 0.0
    soc_max_fraction: Fraction = 1.0
    soc_rule: Literal["cyclic", "fixed"] = "cyclic"
    initial_soc_fraction: Fraction = 0.5
    power_capex_jpy_per_kw: NonNegative = 0.0
    energy_capex_jpy_per_kwh: NonNegative = 0.0
    om_jpy_per_kw_year: NonNegative = 0.0
    lifetime_years: Positive = 15.0
    throughput_cost_jpy_per_mwh: NonNegative = 0.0
    exclusive: Literal["auto", "always", "never"] = "auto"

    @model_validator(mode="after")
    def _soc_window(self) -> Battery:
        if self.soc_min_fraction > self.soc_max_fraction:
            raise ValueError("soc_min_fraction exceeds soc_max_fraction")
        if self.soc_rule == "fixed" and not (
            self.soc_min_fraction <= self.initial_soc_fraction <= self.soc_max_fraction
        ):
            raise ValueError(
                "initial_soc_fraction lies outside [soc_min_fraction, soc_max_fraction]"
            )
        return self


class Grid(_Strict):
    """The connection point: an import limit given directly or as ``limit_mw − base_flow_mw``."""

    mode: Literal["firm"] = "firm"
    import_limit_mw: Quantity | None = None
    limit_mw: NonNegative | None = None
    base_flow_mw: Quantity | None = None
    energy_price_jpy_per_mwh: Quantity
    export_limit_mw: Quantity = 0.0
    export_price_jpy_per_mwh: Quantity = 0.0
    capacity_charge_jpy_per_kw_year: NonNegative = 0.0
    contract_mw: Capacity | None = None

    @model_validator(mode="after")
    def _one_limit_source(self) -> Grid:
        derived = self.limit_mw is not None or self.base_flow_mw is not None
        if self.import_limit_mw is not None and derived:
            raise ValueError("give import_limit_mw or limit_mw with base_flow_mw, not both")
        if self.import_limit_mw is None and (self.limit_mw is None or self.base_flow_mw is None):
            raise ValueError("give import_limit_mw, or limit_mw with base_flow_mw")
        return self


class Case(_Strict):
    name: str
    description: str = ""
    series: list[str] = []
    horizon: Horizon = Horizon()
    economics: Economics = Economics()
    solver: Solver = Solver()
    dc: DataCentre
    grid: Grid
    pv: PV | None = None
    battery: Battery | None = None


@dataclass(frozen=True, eq=False)
class LoadedCase:
    """A validated case with its series cut to the horizon (tz-aware index)."""

    path: Path
    case: Case
    series: pd.DataFrame
    series_source: dict[str, str]

    @property
    def file(self) -> str:
        return str(self.path)

    def quantity(self, field: str) -> np.ndarray:
        """The value of a quantity field (dotted path) on the horizon, as float64 array."""
        value: Any = self.case
        for part in field.split("."):
            value = getattr(value, part)
        n = len(self.series)
        if isinstance(value, float | int):
            return np.full(n, float(value))
        ref = SeriesColumn(column=value) if isinstance(value, str) else value
        return self.series[ref.column].to_numpy(dtype=float) * ref.scale + ref.offset


def _field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in {"float", "str", "SeriesColumn", "SizeRange", "constrained-float"}:
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    candidates = getattr(annotation, "__args__", None) or (annotation,)
    return next((a for a in candidates if isinstance(a, type) and issubclass(a, BaseModel)), None)


def _schema_for(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The schema class of the table at ``loc``, to suggest known field names."""
    model: type[BaseModel] | None = Case
    for item in loc:
        field = model.model_fields.get(item) if model else None
        if field is None:
            return None
        model = _model_in(field.annotation)
    return model


def _validation_message(exc: ValidationError) -> tuple[str, str]:
    """The most useful single (field, message) of a pydantic error."""
    errors = exc.errors()
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    err = unknown[0] if unknown else min(errors, key=lambda e: len(e["loc"]))
    field = _field_path(err["loc"])
    if err["type"] == "extra_forbidden":
        parent = _schema_for(err["loc"][:-1])
        known = list(parent.model_fields) if parent else []
        hint = difflib.get_close_matches(str(err["loc"][-1]), known, n=1, cutoff=0.5)
        suffix = f" (did you mean '{hint[0]}'? units are part of field names)" if hint else ""
        return field, f"unknown field{suffix}"
    if err["type"] == "missing":
        return field, "required field is missing"
    msg = err["msg"].removeprefix("Value error, ")
    return field, msg


def _read_series(case_path: Path, files: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    frames: list[pd.DataFrame] = []
    source: dict[str, str] = {}
    for i, name in enumerate(files):
        path = case_path.parent / name
        where = str(path)
        if not path.is_file():
            raise CaseError(str(case_path), f"series[{i}]", f"file not found: {name}")
        try:
            df = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise CaseError(where, "", f"not a readable CSV ({str(exc).splitlines()[0]})") from exc
        if "timestamp" not in df.columns:
            raise CaseError(where, "timestamp", "column missing (first column must be timestamp)")
        stamps = df.pop("timestamp").astype(str)
        if not stamps.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True).all():
            bad = stamps[~stamps.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True)].iloc[0]
            raise CaseError(where, "timestamp", f"timezone offset missing in '{bad}'")
        try:
            index = pd.DatetimeIndex(pd.to_datetime(stamps, utc=True))
        except (ValueError, TypeError) as exc:
            raise CaseError(where, "timestamp", f"unreadable timestamp ({exc})") from exc
        if not index.is_monotonic_increasing or index.has_duplicates:
            pos = int(np.argmax(np.diff(index.asi8) <= 0)) + 1
            raise CaseError(where, "timestamp", f"not strictly increasing at row {pos + 2}")
        df.index = index
        for column in df.columns:
            if column in source:
                raise CaseError(where, column, f"column also in {source[column]}")
            source[column] = where
        if frames and not frames[0].index.equals(df.index):
            raise CaseError(
                where,
                "timestamp",
                f"index differs from {files[0]} ({len(df)} vs {len(frames[0])} rows, "
                "or other timestamps)",
            )
        frames.append(df)
    return pd.concat(frames, axis=1), source


def _cut_horizon(series: pd.DataFrame, horizon: Horizon, file: str) -> pd.DataFrame:
    index = series.index
    if len(index) < 2:
        raise CaseError(file, "series", "needs at least two time steps")
    steps = np.diff(index.asi8)
    if not np.all(steps == steps[0]):
        pos = int(np.argmax(steps != steps[0])) + 1
        raise CaseError(file, "series", f"time step changes at {index[pos].isoformat()}")
    dt_h = pd.Timedelta(index[1] - index[0]).total_seconds() / 3600.0
    if dt_h > 1.0 or abs(1.0 / dt_h - round(1.0 / dt_h)) > 1e-9:
        raise CaseError(file, "series", f"step of {dt_h:g} h: use hourly or sub-hourly steps")
    cut = series
    if horizon.start is not None:
        cut = cut[cut.index >= pd.Timestamp(horizon.start)]
    if horizon.end is not None:
        cut = cut[cut.index < pd.Timestamp(horizon.end)]
    if horizon.steps is not None:
        if horizon.steps > len(cut):
            raise CaseError(
                file, "horizon.steps", f"{horizon.steps} steps asked, the series has {len(cut)}"
            )
        cut = cut.iloc[: horizon.steps]
    if len(cut) == 0:
        raise CaseError(file, "horizon", "selects no time step of the series")
    if horizon.start is not None and cut.index[0] != pd.Timestamp(horizon.start):
        raise CaseError(file, "horizon.start", "is not a timestamp of the series")
    return cut


_SERIES_RANGES: dict[str, tuple[float, float]] = {
    "dc.it_mw": (0.0, math.inf),
    "dc.utilisation": (0.0, 1.0),
    "dc.pue": (1.0, math.inf),
    "pv.availability": (0.0, 1.0),
    "grid.import_limit_mw": (0.0, math.inf),
    "grid.export_limit_mw": (0.0, math.inf),
}


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
    ]
    if case.pv is not None:
        fields.append("pv.availability")
    for field in fields:
        component, attr = field.split(".")
        value = getattr(getattr(case, component), attr)
        if value is None:
            continue
        if not isinstance(value, float | int):
            column = value if isinstance(value, str) else value.column
            if column not in loaded.series.columns:
                known = ", ".join(loaded.series.columns) or "no series files given"
                raise CaseError(file, field, f"column '{column}' not in the series ({known})")
            raw = loaded.series[column]
            if not pd.api.types.is_numeric_dtype(raw):
                raise CaseError(loaded.series_source[column], column, "values are not numbers")
            if raw.isna().any():
                stamp = raw.index[raw.isna().to_numpy().argmax()].isoformat()
                raise CaseError(loaded.series_source[column], column, f"missing value at {stamp}")
        lo, hi = _SERIES_RANGES.get(field, (-math.inf, math.inf))
        values = loaded.quantity(field)
        if values.size and (values.min() < lo - 1e-12 or values.max() > hi + 1e-12):
            where = values.argmin() if values.min() < lo else values.argmax()
            raise CaseError(
                file,
                field,
                f"value {values[where]:g} at {loaded.series.index[where].isoformat()} "
                f"outside [{lo:g}, {hi:g}]",
            )


def load_case(path: str | Path, overrides: dict[str, Any] | None = None) -> LoadedCase:
    """Read, validate and cut a case to its horizon. Raises :class:`CaseError` on bad input.

    ``overrides`` maps dotted paths (``battery.energy_capex_jpy_per_kwh``) to values that replace
    the file's before validation.
    """
    path = Path(path)
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
    try:
        case = Case.model_validate(raw)
    except ValidationError as exc:
        raise CaseError(file, *_validation_message(exc)) from None
    if not case.series:
        raise CaseError(file, "series", "no series file given: a case needs its time axis")
    series, source = _read_series(path, case.series)
    series = _cut_horizon(series, case.horizon, file)
    loaded = LoadedCase(path=path, case=case, series=series, series_source=source)
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
