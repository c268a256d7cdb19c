"""The grid connection's tables: ``[grid]`` with the operating pattern and the forecast of type ②
connections, ``[type3]`` with the faults and maintenance of type ③ (N-1 margin) connections, and
``[connect]``, the choice between waiting for a firm connection and connecting now."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from wattbit.case.fields import (
    Capacity,
    Fraction,
    NonNegative,
    Positive,
    Quantity,
    Table,
)
from wattbit.modes import MODES as MODES
from wattbit.modes import Mode


def _needs_offset(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} needs a UTC offset, e.g. 2025-05-01T00:00:00+09:00")
    return value


class FaultClass(Table):
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


class FaultStatistic(Table):
    """One row of the grid operator's published fault statistics: events a year whose duration
    lies above the previous row's ``max_duration_h`` and up to this one's."""

    max_duration_h: Positive
    events_per_year: NonNegative


class Event(Table):
    """One outage event of an explicit list, in scenario ``scenario``."""

    start: datetime
    duration_h: NonNegative
    kind: Literal["fault", "maintenance"] = "fault"
    scenario: Annotated[int, Field(ge=0)] = 0

    @field_validator("start")
    @classmethod
    def _offset(cls, value: datetime) -> datetime:
        return _needs_offset(value, "start")


class MaintenanceWindow(Table):
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


class Type3(Table):
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
    sampling: Literal["monte_carlo", "stratified"] = "monte_carlo"
    out_of_sample_years: Annotated[int, Field(ge=0)] = 200
    min_survival_h: NonNegative = 0.0
    min_survival_probability: Fraction = 1.0
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
        if self.sampling == "stratified" and self.scenario_probabilities:
            raise ValueError(
                "sampling = 'stratified' sets the weights: drop scenario_probabilities"
            )
        return self


class FirmTier(Table):
    """What a firm connection takes, for connections below ``below_mw`` (none: any size)."""

    below_mw: Positive | None = None
    lead_time_months: NonNegative
    cost_jpy: NonNegative
    cost_jpy_per_kw: NonNegative = 0.0


SEED_FIRM_TIERS = (
    FirmTier(below_mw=2.0, lead_time_months=10.0, cost_jpy=30e6),
    FirmTier(lead_time_months=48.0, cost_jpy=300e6),
)


class Connect(Table):
    """``wattbit connect``: NPV of waiting for a firm connection vs connecting now (type ③/②)."""

    analysis_years: Positive = 20.0
    margin_jpy_per_mwh: NonNegative
    dc_capex_jpy: NonNegative = 0.0
    firm_tiers: list[FirmTier] = list(SEED_FIRM_TIERS)
    type3_cost_jpy: NonNegative = 0.0
    type3_lead_time_months: NonNegative = 0.0
    type2_cost_jpy: NonNegative = 0.0
    type2_lead_time_months: NonNegative = 0.0
    split_blocks: bool = True
    split_max_blocks: Annotated[int, Field(ge=2)] = 5
    sensitivity_lead_time_years: list[Positive] = [2.0, 4.0, 6.0, 8.0]
    sensitivity_margin_factors: list[Positive] = [0.5, 1.0, 2.0]

    @model_validator(mode="after")
    def _tiers(self) -> Connect:
        if not self.firm_tiers or self.firm_tiers[-1].below_mw is not None:
            raise ValueError("firm_tiers: the last tier must have no below_mw (any size)")
        bounds = [t.below_mw for t in self.firm_tiers[:-1]]
        if None in bounds or bounds != sorted(set(bounds)):
            raise ValueError("firm_tiers: below_mw must increase, only the last tier omits it")
        return self


class Pattern(Table):
    """How the grid operator derives the fixed hourly operating pattern from the headroom H(t)."""

    period: Literal["year", "season", "month"] = "year"
    quantile: Fraction = 0.0
    margin_mw: NonNegative = 0.0
    margin_fraction: Fraction = 0.0
    reference_start: datetime | None = None
    reference_end: datetime | None = None
    reference_base_flow_mw: Quantity | list[Quantity] | None = None
    exceedance_borne_by: Literal["dc", "grid"] = "dc"
    grid_redispatch_cost_jpy_per_mwh: NonNegative = 0.0

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
        if self.reference_base_flow_mw == []:
            raise ValueError("reference_base_flow_mw: give at least one series")
        return self


class Forecast(Table):
    """The forecast of H(t) that the rolling-horizon mode ``type2_forecast`` plans on."""

    method: Literal["persistence", "series", "noisy", "ar1"] = "persistence"
    column: Quantity | None = None
    file: str | None = None
    error_std_fraction: NonNegative = 0.1
    error_autocorrelation: Annotated[float, Field(ge=0, lt=1, strict=True)] = 0.9
    seed: int = 0
    lookahead_h: Positive = 48.0
    commit_h: Positive = 24.0
    recourse: Literal["rules", "reoptimise"] = "rules"

    @model_validator(mode="after")
    def _consistent(self) -> Forecast:
        if self.method == "series" and self.column is None:
            raise ValueError("method 'series' needs column")
        if self.file is not None and (self.method != "series" or not isinstance(self.column, str)):
            raise ValueError("file needs method = 'series' and column = the column name in it")
        if self.commit_h > self.lookahead_h:
            raise ValueError("commit_h exceeds lookahead_h")
        return self


class Grid(Table):
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
