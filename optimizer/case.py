"""The case file: one TOML file with CSV time series beside it, validated on load.

A *quantity* field takes a constant, the name of a column of the case's series files, or a table
``{ column = "…", scale = 1.0, offset = 0.0 }``. A *capacity* field takes a fixed value or a range
``{ min = …, max = … }`` that the optimiser sizes within. Every field carries its unit in its name.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from wattbit.errors import CaseError

# strict: a boolean (`true` is not 1) or a quoted number ("5") is an error, not a number.
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, strict=True)]
Efficiency = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False, strict=True)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeriesColumn(_Strict):
    """A column of the series files, transformed as ``scale · value + offset``."""

    column: str
    scale: Annotated[float, Field(allow_inf_nan=False, strict=True)] = 1.0
    offset: Annotated[float, Field(allow_inf_nan=False, strict=True)] = 0.0


Quantity = Annotated[float, Field(allow_inf_nan=False, strict=True)] | str | SeriesColumn


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

    @field_validator("start", "end")
    @classmethod
    def _has_offset(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 2025-05-01T00:00:00+09:00")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a folder: OSError
            raise ValueError(
                f"unknown timezone '{value}' (an IANA name, e.g. Asia/Tokyo)"
            ) from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Horizon:
        if self.end is not None and self.steps is not None:
            raise ValueError("give end or steps, not both")
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Economics(_Strict):
    discount_rate: Annotated[float, Field(ge=0, lt=1, strict=True)] = 0.05


class Solver(_Strict):
    time_limit_s: Positive = 600.0
    mip_gap: Annotated[float, Field(ge=0, lt=1, strict=True)] = 1e-4
    threads: Annotated[int, Field(ge=1)] = 1


class DataCentre(_Strict):
    """IT power as a profile (``it_mw``) or from utilisation (``utilisation``, idle, peak)."""

    it_mw: Quantity | None = None
    utilisation: Quantity | None = None
    idle_it_mw: NonNegative | None = None
    peak_it_mw: NonNegative | None = None
    pue: Quantity = 1.0
    value_of_lost_compute_jpy_per_mwh: NonNegative = 100_000.0
    deferrable_share: Fraction = 0.0
    max_delay_h: NonNegative = 0.0
    deferral_cost_jpy_per_mwh_h: NonNegative = 0.0
    it_capacity_mw: NonNegative | None = None
    size_mw: Capacity | None = None
    value_of_size_jpy_per_mw_year: NonNegative = 0.0

    @model_validator(mode="after")
    def _one_load_source(self) -> DataCentre:
        if self.size_mw is not None and self.deferrable_share > 0:
            raise ValueError("size_mw (sizing the DC) works without deferrable_share for now")
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
    standing_loss_per_h: Annotated[float, Field(ge=0, lt=1, strict=True)] = 0.0
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


def _needs_offset(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} needs a UTC offset, e.g. 2025-05-01T00:00:00+09:00")
    return value


class Generator(_Strict):
    """Backup generator: rated power, start delay, fuel tank in hours at rated power, refuelling."""

    power_mw: Capacity
    start_delay_h: NonNegative = 0.01
    fuel_tank_h: NonNegative = 48.0
    refuel_delay_h: NonNegative = 48.0
    refuel_rate_fraction: NonNegative = 0.0
    fuel_cost_jpy_per_mwh: NonNegative = 40_000.0
    emissions_t_per_mwh: NonNegative = 0.7
    carbon_price_jpy_per_t: NonNegative = 0.0
    capex_jpy_per_kw: NonNegative = 0.0
    om_jpy_per_kw_year: NonNegative = 0.0
    lifetime_years: Positive = 20.0
    run_outside_events: bool = False

    @model_validator(mode="after")
    def _has_fuel(self) -> Generator:
        lower = self.power_mw.min if isinstance(self.power_mw, SizeRange) else self.power_mw
        if self.fuel_tank_h == 0 and lower > 0:
            raise ValueError(
                f"fuel_tank_h is 0 but power_mw requires a generator of at least {lower:g} MW: "
                "it would hold no fuel"
            )
        return self


class UPS(_Strict):
    """UPS: rated power and autonomy in minutes at that power."""

    power_mw: Capacity
    autonomy_minutes: Positive = 10.0
    charge_efficiency: Efficiency = 0.95
    discharge_efficiency: Efficiency = 0.95
    capex_jpy_per_kw: NonNegative = 0.0
    om_jpy_per_kw_year: NonNegative = 0.0
    lifetime_years: Positive = 10.0


class Shutdown(_Strict):
    """Graceful shutdown: after the notice time of a fault the IT load may drop to a protected share."""

    notice_h: NonNegative = 2.0
    protected_share: Fraction = 0.1
    value_of_lost_compute_jpy_per_mwh: NonNegative = 50_000.0


class Migration(_Strict):
    """Workload shift to another site during outages."""

    capacity_it_mw: NonNegative
    cost_jpy_per_mwh: NonNegative = 0.0
    notice_h: NonNegative = 0.0


class FaultClass(_Strict):
    """A class of fault durations, drawn log-uniformly in ``[min_h, max_h]``."""

    name: str
    probability: Fraction
    min_h: NonNegative
    max_h: NonNegative

    @model_validator(mode="after")
    def _ordered(self) -> FaultClass:
        if self.min_h > self.max_h:
            raise ValueError(f"min_h ({self.min_h:g}) exceeds max_h ({self.max_h:g})")
        return self


class FaultStatistic(_Strict):
    """One row of the grid operator's published fault statistics: events a year whose duration
    lies above the previous row's ``max_duration_h`` and up to this one's."""

    max_duration_h: Positive
    events_per_year: NonNegative


class Event(_Strict):
    """One outage event of an explicit list, in scenario ``scenario``."""

    start: datetime
    duration_h: NonNegative
    kind: Literal["fault", "maintenance"] = "fault"
    scenario: Annotated[int, Field(ge=0)] = 0

    @field_validator("start")
    @classmethod
    def _offset(cls, value: datetime) -> datetime:
        return _needs_offset(value, "start")


class MaintenanceWindow(_Strict):
    """A planned outage of N-1 equipment, from ``start`` to ``end`` (exclusive), in every scenario."""

    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceWindow:
        _needs_offset(self.start, "start")
        _needs_offset(self.end, "end")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


DEFAULT_FAULT_CLASSES = (
    FaultClass(name="momentary", probability=0.5, min_h=0.0, max_h=0.01),
    FaultClass(name="hours", probability=0.35, min_h=0.5, max_h=12.0),
    FaultClass(name="days", probability=0.12, min_h=12.0, max_h=72.0),
    FaultClass(name="weeks_months", probability=0.03, min_h=168.0, max_h=2160.0),
)


class Type3(_Strict):
    """Mode ``type3_n1``: firm part + N-1 margin, cut to a residual during events."""

    firm_mw: NonNegative = 0.0
    margin_mw: NonNegative
    fault_residual_mw: Quantity = 0.0
    maintenance_residual_mw: Quantity = 0.0
    reconnect_h: NonNegative = 0.0
    momentary_max_h: NonNegative = 0.01
    area_faults_per_year: NonNegative | None = None
    area_share: Fraction = 1.0
    fault_classes: list[FaultClass] = list(DEFAULT_FAULT_CLASSES)
    fault_statistics: list[FaultStatistic] = []
    events: list[Event] = []
    maintenance: list[MaintenanceWindow] = []
    maintenance_per_year: NonNegative = 0.0
    maintenance_duration_h: NonNegative = 0.0
    scenarios: Annotated[int, Field(ge=1)] = 8
    scenario_probabilities: list[Fraction] = []
    seed: int = 0
    sla_penalty_jpy_per_event: NonNegative = 0.0
    survival_max_h: Annotated[int, Field(ge=1)] = 72

    @field_validator("fault_classes", "scenario_probabilities")
    @classmethod
    def _sum_to_one(cls, values: list[Any]) -> list[Any]:
        total = sum(getattr(v, "probability", v) for v in values)
        if values and not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"probabilities sum to {total:g}, not 1")
        return values

    @field_validator("fault_statistics")
    @classmethod
    def _increasing(cls, rows: list[FaultStatistic]) -> list[FaultStatistic]:
        edges = [s.max_duration_h for s in rows]
        if edges != sorted(set(edges)):
            raise ValueError("max_duration_h must increase from row to row")
        return rows

    @model_validator(mode="after")
    def _consistent(self) -> Type3:
        listed = any(e.kind == "fault" for e in self.events)
        if self.fault_statistics and self.area_faults_per_year is not None:
            raise ValueError("give area_faults_per_year or fault_statistics, not both")
        if listed and (self.fault_statistics or self.area_faults_per_year is not None):
            raise ValueError(
                "fault events are listed in events: drop area_faults_per_year / fault_statistics"
            )
        if self.scenario_probabilities and len(self.scenario_probabilities) != self.scenarios:
            raise ValueError(
                f"scenario_probabilities has {len(self.scenario_probabilities)} values "
                f"for {self.scenarios} scenarios"
            )
        late = [e.scenario for e in self.events if e.scenario >= self.scenarios]
        if late:
            raise ValueError(
                f"an event names scenario {late[0]}, but scenarios = {self.scenarios} "
                f"(scenarios are numbered from 0)"
            )
        if self.maintenance_per_year > 0 and self.maintenance_duration_h <= 0:
            raise ValueError("maintenance_per_year needs maintenance_duration_h > 0")
        return self


class FirmTier(_Strict):
    """What a firm connection takes, for connections below ``below_mw`` (none: any size)."""

    below_mw: Positive | None = None
    lead_time_months: NonNegative
    cost_jpy: NonNegative
    cost_jpy_per_kw: NonNegative = 0.0


SEED_FIRM_TIERS = (
    FirmTier(below_mw=2.0, lead_time_months=10.0, cost_jpy=30e6),
    FirmTier(lead_time_months=48.0, cost_jpy=300e6),
)


class Connect(_Strict):
    """``wattbit connect``: NPV of waiting for a firm connection vs connecting now (type ③/②)."""

    analysis_years: Positive = 20.0
    revenue_jpy_per_mwh: NonNegative
    firm_tiers: list[FirmTier] = list(SEED_FIRM_TIERS)
    type3_cost_jpy: NonNegative = 0.0
    type3_lead_time_months: NonNegative = 0.0
    type2_cost_jpy: NonNegative = 0.0
    type2_lead_time_months: NonNegative = 0.0
    split_blocks: bool = True
    split_max_blocks: Annotated[int, Field(ge=2)] = 5

    @model_validator(mode="after")
    def _tiers(self) -> Connect:
        if not self.firm_tiers or self.firm_tiers[-1].below_mw is not None:
            raise ValueError("firm_tiers: the last tier must have no below_mw (any size)")
        bounds = [t.below_mw for t in self.firm_tiers[:-1]]
        if None in bounds or bounds != sorted(set(bounds)):
            raise ValueError("firm_tiers: below_mw must increase, only the last tier omits it")
        return self


Mode = Literal["firm", "type2_fixed", "type2_dynamic", "type2_forecast", "type3_n1"]
MODES: tuple[str, ...] = ("firm", "type2_fixed", "type2_dynamic", "type2_forecast", "type3_n1")


class Pattern(_Strict):
    """How the grid operator derives the fixed hourly operating pattern from the headroom H(t)."""

    period: Literal["year", "season", "month"] = "year"
    quantile: Fraction = 0.0
    margin_mw: NonNegative = 0.0
    margin_fraction: Fraction = 0.0
    reference_start: datetime | None = None
    reference_end: datetime | None = None
    reference_base_flow_mw: Quantity | None = None

    @model_validator(mode="after")
    def _reference(self) -> Pattern:
        for name in ("reference_start", "reference_end"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} needs a UTC offset, e.g. 2025-05-01T00:00:00+09:00")
        if (
            self.reference_start
            and self.reference_end
            and self.reference_end <= self.reference_start
        ):
            raise ValueError("reference_end must be after reference_start")
        return self


class Forecast(_Strict):
    """The forecast of H(t) that the rolling-horizon mode ``type2_forecast`` plans on."""

    method: Literal["persistence", "series", "noisy"] = "persistence"
    column: Quantity | None = None
    file: str | None = None
    error_std_fraction: NonNegative = 0.1
    seed: int = 0
    lookahead_h: Positive = 48.0
    commit_h: Positive = 24.0

    @model_validator(mode="after")
    def _consistent(self) -> Forecast:
        if self.method == "series" and self.column is None:
            raise ValueError("method 'series' needs column")
        if self.file is not None and (self.method != "series" or not isinstance(self.column, str)):
            raise ValueError("file needs method = 'series' and column = the column name in it")
        if self.commit_h > self.lookahead_h:
            raise ValueError("commit_h exceeds lookahead_h")
        return self


class Grid(_Strict):
    """The connection point: headroom H(t) given directly or as ``limit_mw − base_flow_mw``, and
    the connection mode that turns it into the DC's import limit."""

    mode: Mode = "type2_dynamic"
    import_limit_mw: Quantity | None = None
    limit_mw: NonNegative | None = None
    base_flow_mw: Quantity | None = None
    energy_price_jpy_per_mwh: Quantity
    export_limit_mw: Quantity = 0.0
    export_price_jpy_per_mwh: Quantity = 0.0
    capacity_charge_jpy_per_kw_year: NonNegative = 0.0
    contract_mw: Capacity | None = None
    firm_capacity_mw: NonNegative | None = None
    emergency_curtailment_cost_jpy_per_mwh: NonNegative | None = None
    pattern: Pattern = Pattern()
    forecast: Forecast = Forecast()

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
    type3: Type3 | None = None
    generator: Generator | None = None
    ups: UPS | None = None
    shutdown: Shutdown | None = None
    migration: Migration | None = None
    connect: Connect | None = None

    @model_validator(mode="after")
    def _type3_table(self) -> Case:
        if self.grid.mode == "type3_n1" and self.type3 is None:
            raise ValueError("grid.mode 'type3_n1' needs a [type3] table")
        return self


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
        value: Any = self.case
        for part in field.split("."):
            value = getattr(value, part)
        series = self.full_series if full else self.series
        if isinstance(value, float | int):
            return np.full(len(series), float(value))
        ref = SeriesColumn(column=value) if isinstance(value, str) else value
        return series[ref.column].to_numpy(dtype=float) * ref.scale + ref.offset


# Union members appear in pydantic's error locations as tags ("constrained-float", "str",
# "function-after[_ordered(), SizeRange]", …); they are not field names.
_UNION_TAG = re.compile(r"float|int|str|SeriesColumn|SizeRange|constrained-\w+|function-\w+\[.*\]")
_BRANCH_WORDS = {
    "float": "a number",
    "str": "a column name",
    "SeriesColumn": "a table { column = … }",
    "SizeRange": "a range { min = …, max = … }",
}
# Errors that only say "the value is not of this union member's kind".
_WRONG_KIND = {
    "float_type",
    "float_parsing",
    "int_type",
    "int_parsing",
    "string_type",
    "model_type",
    "model_attributes_type",
    "dict_type",
}


def _is_tag(item: Any) -> bool:
    return isinstance(item, str) and _UNION_TAG.fullmatch(item) is not None


def _tag_index(loc: tuple[Any, ...]) -> int | None:
    return next((i for i, item in enumerate(loc) if _is_tag(item)), None)


def _branch_words(tag: str) -> str:
    if tag.startswith("function-"):
        tag = tag.rstrip("]").rsplit(",", 1)[-1].strip()
    return _BRANCH_WORDS.get(tag.removeprefix("constrained-"), tag)


def _field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif _is_tag(item):
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
        if _is_tag(item):
            continue
        field = model.model_fields.get(item) if model else None
        if field is None:
            return None
        model = _model_in(field.annotation)
    return model


def _stem(name: str) -> str:
    """``power_kw`` → ``power``: a field name without its unit suffix."""
    return name.rsplit("_", 1)[0] if "_" in name else name


def _same_union(a: dict[str, Any], b: dict[str, Any]) -> bool:
    i = _tag_index(a["loc"])
    return i is not None and _tag_index(b["loc"]) == i and a["loc"][:i] == b["loc"][:i]


def _validation_message(exc: ValidationError) -> tuple[str, str]:
    """The most useful single (field, message) of a pydantic error."""
    errors = exc.errors()
    # Within a union, a member that accepted the kind of value given (a table for a range, say)
    # says what is wrong with it; the members that did not ("not a number") say nothing useful.
    useful = [
        e
        for e in errors
        if e["type"] not in _WRONG_KIND
        or not any(o["type"] not in _WRONG_KIND and _same_union(e, o) for o in errors)
    ]
    unknown = [e for e in useful if e["type"] == "extra_forbidden"]
    err = unknown[0] if unknown else min(useful, key=lambda e: len(e["loc"]))
    field = _field_path(err["loc"])
    if err["type"] == "extra_forbidden":
        parent = _schema_for(err["loc"][:-1])
        known = list(parent.model_fields) if parent else []
        hint = difflib.get_close_matches(str(err["loc"][-1]), known, n=1, cutoff=0.5)
        suffix = f" (did you mean '{hint[0]}'?)" if hint else ""
        if hint and _stem(hint[0]) == _stem(str(err["loc"][-1])):
            suffix = f" (did you mean '{hint[0]}'? units are part of field names)"
        return field, f"unknown field{suffix}"
    if err["type"] == "missing":
        return field, "required field is missing"
    if err["type"] in _WRONG_KIND and _tag_index(err["loc"]) is not None:
        i = _tag_index(err["loc"])
        kinds = [_branch_words(e["loc"][i]) for e in errors if _same_union(err, e)]
        *first, last = dict.fromkeys(kinds)
        expected = f"{', '.join(first)} or {last}" if first else last
        return field, f"expected {expected}, got {err['input']!r}"
    if err["type"] in {"model_type", "model_attributes_type", "dict_type"}:
        return field, f"expected a table, got {err['input']!r}"
    msg = err["msg"].removeprefix("Value error, ")
    return field, msg


def read_series(case_path: Path, files: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """The case's series files side by side on one tz-aware index; bad files raise
    :class:`CaseError` naming the file and column."""
    frames: list[pd.DataFrame] = []
    source: dict[str, str] = {}
    for i, name in enumerate(files):
        path = case_path.parent / name
        where = str(path)
        if not path.is_file():
            raise CaseError(str(case_path), f"series[{i}]", f"file not found: {name}")
        stat = path.stat()
        df = _read_series_file(where, stat.st_mtime_ns, stat.st_size).copy()
        for column in df.columns:
            if column in source:
                raise CaseError(where, column, f"column also in {source[column]}")
            source[column] = where
        if frames and not frames[0].index.equals(df.index):
            first = frames[0].index
            if len(df) != len(first):
                differ = f"{len(df)} rows here, {len(first)} in {files[0]}"
            else:
                pos = int(np.argmax(first != df.index))
                differ = (
                    f"row {pos + 2} is {df.index[pos].isoformat()}, "
                    f"in {files[0]} {first[pos].isoformat()} (check the UTC offsets)"
                )
            raise CaseError(where, "timestamp", f"{differ}: series files must share timestamps")
        frames.append(df)
    return pd.concat(frames, axis=1), source


@functools.lru_cache(maxsize=32)
def _read_series_file(where: str, mtime_ns: int, size: int) -> pd.DataFrame:
    """One series CSV, parsed and checked; cached by path, modification time and size, so a
    sweep validating thousands of cases of one case file parses its series once."""
    try:
        df = pd.read_csv(where)
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
        # pandas' message spans several lines; name the first bad stamp and its CSV row.
        nat = pd.to_datetime(stamps, utc=True, errors="coerce").isna().to_numpy()
        what = f"'{stamps.iloc[nat.argmax()]}' at row {nat.argmax() + 2}" if nat.any() else ""
        hint = "use ISO 8601 with a UTC offset, e.g. 2025-05-01T00:00:00+09:00"
        detail = what or str(exc).splitlines()[0]
        raise CaseError(where, "timestamp", f"unreadable timestamp {detail} ({hint})") from None
    if not index.is_monotonic_increasing or index.has_duplicates:
        pos = int(np.argmax(np.diff(index.asi8) <= 0)) + 1
        kind = "repeats" if index[pos] == index[pos - 1] else "goes back in time"
        raise CaseError(
            where,
            "timestamp",
            f"not strictly increasing: row {pos + 2} ('{stamps.iloc[pos]}') {kind}",
        )
    if len(index) < 2:
        raise CaseError(where, "timestamp", f"{len(index)} row(s): at least two time steps needed")
    steps = np.diff(index.asi8)
    if not np.all(steps == steps[0]):
        pos = int(np.argmax(steps != steps[0])) + 1
        raise CaseError(
            where,
            "timestamp",
            f"time step changes at row {pos + 2} ('{stamps.iloc[pos]}'): steps must be regular",
        )
    dt_h = pd.Timedelta(index[1] - index[0]).total_seconds() / 3600.0
    if dt_h > 1.0 or abs(1.0 / dt_h - round(1.0 / dt_h)) > 1e-9:
        raise CaseError(
            where, "timestamp", f"step of {dt_h:g} h: the step must divide 1 h (1 h, 30 min, …)"
        )
    df.index = index
    return df


def _cut_horizon(series: pd.DataFrame, horizon: Horizon, file: str) -> pd.DataFrame:
    # The series' steps are checked per file in read_series.
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
    if len(cut) == 1:
        raise CaseError(file, "horizon", "selects a single time step: at least two are needed")
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
    "type3.fault_residual_mw": (0.0, math.inf),
    "type3.maintenance_residual_mw": (0.0, math.inf),
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
        "grid.pattern.reference_base_flow_mw",
    ]
    if case.grid.forecast.file is None:
        fields.append("grid.forecast.column")
    if case.pv is not None:
        fields.append("pv.availability")
    if case.type3 is not None:
        fields += ["type3.fault_residual_mw", "type3.maintenance_residual_mw"]
    for field in fields:
        value: Any = case
        for part in field.split("."):
            value = getattr(value, part)
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
    try:
        case = Case.model_validate(raw)
    except ValidationError as exc:
        raise CaseError(file, *_validation_message(exc)) from None
    if not case.series:
        raise CaseError(file, "series", "no series file given: a case needs its time axis")
    full, source = read_series(path, case.series)
    series = _cut_horizon(full, case.horizon, file)
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
