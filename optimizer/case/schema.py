"""The single-site case schema: the top-level ``Case`` and the tables of its site (DC, PV,
battery, generator, UPS, shutdown, migration), the horizon, economics and solver options. The
grid connection's tables are in :mod:`wattbit.case.grid`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from wattbit.case.fields import (
    Capacity,
    Efficiency,
    Fraction,
    NonNegative,
    Positive,
    Quantity,
    SizeRange,
    Table,
)
from wattbit.case.grid import Connect, Grid, Type3


class Horizon(Table):
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


class Economics(Table):
    """Discounting, and the multi-year cash flow of :mod:`wattbit.cashflow`."""

    discount_rate: Annotated[float, Field(ge=0, lt=1, strict=True)] = 0.05
    analysis_years: Annotated[int, Field(ge=1, le=60)] = 15
    price_escalation_rate: Annotated[float, Field(gt=-1, lt=1, strict=True)] = 0.0
    cost_escalation_rate: Annotated[float, Field(gt=-1, lt=1, strict=True)] = 0.0


class Solver(Table):
    time_limit_s: Positive = 600.0
    mip_gap: Annotated[float, Field(ge=0, lt=1, strict=True)] = 1e-4
    threads: Annotated[int, Field(ge=1)] = 1


class DataCentre(Table):
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
    backlog_rule: Literal["empty", "cyclic"] = "empty"
    size_mw: Capacity | None = None
    value_of_size_jpy_per_mw_year: NonNegative = 0.0
    value_of_planned_curtailment_jpy_per_mwh: NonNegative | None = None
    min_served_share: Fraction | None = None
    max_unserved_it_mwh_per_year: NonNegative | None = None

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


class PV(Table):
    capacity_mw: Capacity
    availability: Quantity
    capex_jpy_per_kw: NonNegative = 0.0
    om_jpy_per_kw_year: NonNegative = 0.0
    lifetime_years: Positive = 25.0


class Battery(Table):
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
    calendar_fade_per_year: Annotated[float, Field(ge=0, lt=1, strict=True)] = 0.0
    cycle_fade_per_cycle: Annotated[float, Field(ge=0, lt=1, strict=True)] = 0.0
    maintenance: Literal["augmentation", "replacement", "none"] = "augmentation"
    replacement_soh: Annotated[float, Field(gt=0, lt=1, strict=True)] = 0.8
    augmentation_cost_jpy_per_kwh: NonNegative | None = None
    replacement_cost_jpy_per_kwh: NonNegative | None = None

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


COMMITMENT_FIELDS = (
    "min_load_fraction",
    "start_cost_jpy",
    "min_up_h",
    "min_down_h",
    "no_load_cost_jpy_per_h",
    "redundant_units",
)


class GensetType(Table):
    """One genset type of a plant of several (``[[generator.types]]``, docs/milp.md): its unit
    rating and count bounds, commitment, fuel curve and capital; start delay and fuel cost default
    to the plant's."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*$", max_length=20)]
    unit_mw: Positive
    min_units: Annotated[int, Field(ge=0, strict=True)] = 0
    max_units: Annotated[int, Field(ge=0, strict=True)]
    unit_cost_jpy_per_year: NonNegative = 0.0
    min_load_fraction: Fraction = 0.0
    start_cost_jpy: NonNegative = 0.0
    start_delay_h: NonNegative | None = None
    min_up_h: NonNegative = 0.0
    min_down_h: NonNegative = 0.0
    fuel_cost_jpy_per_mwh: NonNegative | None = None
    no_load_cost_jpy_per_h: NonNegative = 0.0
    capex_jpy_per_kw: NonNegative = 0.0
    om_jpy_per_kw_year: NonNegative = 0.0
    lifetime_years: Positive = 20.0

    @model_validator(mode="after")
    def _counts(self) -> GensetType:
        if self.min_units > self.max_units:
            raise ValueError(f"min_units {self.min_units} exceeds max_units {self.max_units}")
        return self


PLANT_ONLY_WITHOUT_TYPES = (*COMMITMENT_FIELDS[:-1], "capex_jpy_per_kw", "om_jpy_per_kw_year")
"""Fields of ``[generator]`` that belong on each type when ``types`` are given."""


class Generator(Table):
    """Backup generator: rated power, start delay, fuel tank in hours at rated power, contracted
    fuel deliveries in a fault (none by default), running-hour limits, prime-mover permit for
    planned maintenance (none by default), fuel and carbon prices (docs/type3.md: sources).
    ``power_mw`` sizes one genset type; ``types`` several (docs/milp.md), then the plant's rating
    is theirs summed."""

    power_mw: Capacity | None = None
    types: list[GensetType] = []
    start_delay_h: NonNegative = 0.01
    fuel_tank_h: NonNegative = 48.0
    refuel_delay_h: NonNegative = 48.0
    refuel_rate_fraction: NonNegative = 0.0
    max_run_h_per_event: NonNegative | None = 60.0
    max_run_h_per_year: NonNegative | None = None
    maintenance_permit: bool = False
    fuel_cost_jpy_per_mwh: NonNegative = 40_000.0
    emissions_t_per_mwh: NonNegative = 0.7
    carbon_price_jpy_per_t: NonNegative = 4_300.0
    capex_jpy_per_kw: NonNegative = 0.0
    om_jpy_per_kw_year: NonNegative = 0.0
    lifetime_years: Positive = 20.0
    run_outside_events: bool = False
    # Unit commitment (docs/milp.md), with power_mw in units: { min, max, unit }.
    min_load_fraction: Fraction = 0.0
    start_cost_jpy: NonNegative = 0.0
    min_up_h: NonNegative = 0.0
    min_down_h: NonNegative = 0.0
    no_load_cost_jpy_per_h: NonNegative = 0.0
    redundant_units: Annotated[int, Field(ge=0, strict=True)] = 0
    running_hours: Literal["full_load", "on"] = "full_load"

    @model_validator(mode="after")
    def _has_fuel(self) -> Generator:
        if (self.power_mw is None) == (not self.types):
            raise ValueError("give power_mw (one genset type) or [[generator.types]], not both")
        if self.types:
            names = [t.name for t in self.types]
            if len(set(names)) != len(names):
                raise ValueError(f"generator types must have distinct names: {names}")
            for name in PLANT_ONLY_WITHOUT_TYPES:
                if getattr(self, name):
                    raise ValueError(
                        f"{name} goes on each [[generator.types]] when types are given"
                    )
        in_units = bool(self.types) or (
            isinstance(self.power_mw, SizeRange) and self.power_mw.unit is not None
        )
        hours_on = ("running_hours",) if self.running_hours == "on" else ()
        for name in (*COMMITMENT_FIELDS, *hours_on):
            if getattr(self, name) and not in_units:
                raise ValueError(
                    f"{name} needs the generator in units: power_mw = {{ min = …, max = …, "
                    "unit = … }"
                )
        lower = self.lowest_power_mw
        if self.fuel_tank_h == 0 and lower > 0:
            raise ValueError(
                f"fuel_tank_h is 0 but power_mw requires a generator of at least {lower:g} MW: "
                "it would hold no fuel"
            )
        return self

    @property
    def lowest_power_mw(self) -> float:
        """The least rating the plant may have."""
        if self.types:
            return sum(t.unit_mw * t.min_units for t in self.types)
        return self.power_mw.min if isinstance(self.power_mw, SizeRange) else self.power_mw


class UPS(Table):
    """UPS: rated power and autonomy in minutes at that power."""

    power_mw: Capacity
    autonomy_minutes: Positive = 10.0
    charge_efficiency: Efficiency = 0.95
    discharge_efficiency: Efficiency = 0.95
    capex_jpy_per_kw: NonNegative = 0.0
    om_jpy_per_kw_year: NonNegative = 0.0
    lifetime_years: Positive = 10.0


class Shutdown(Table):
    """Graceful shutdown: after the notice time of a fault the IT load may drop to a protected share."""

    notice_h: NonNegative = 2.0
    protected_share: Fraction = 0.1
    value_of_lost_compute_jpy_per_mwh: NonNegative = 50_000.0


class Migration(Table):
    """Workload shift to another site during outages."""

    capacity_it_mw: NonNegative
    cost_jpy_per_mwh: NonNegative = 0.0
    notice_h: NonNegative = 0.0


class ReserveProduct(Table):
    """A balancing-market (需給調整市場) upward reserve product sold by the battery."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
    price_jpy_per_mw_h: Quantity
    block_h: Positive = 3.0
    duration_h: Positive = 3.0


class CapacityMarket(Table):
    """The capacity market (容量市場): a price per kW-year of de-rated capacity; the de-rating
    factor by the duration the battery sustains; optional obligation hours (local hour of day)."""

    price_jpy_per_kw_year: NonNegative
    derating: Annotated[list[tuple[Positive, Fraction]], Field(min_length=1)]
    obligation_hours: list[Annotated[int, Field(ge=0, le=23)]] = []


class Market(Table):
    """Market services of the battery (docs/battery-economics.md)."""

    reserve: list[ReserveProduct] = []
    capacity: CapacityMarket | None = None

    @model_validator(mode="after")
    def _distinct_products(self) -> Market:
        names = [r.name for r in self.reserve]
        if len(set(names)) != len(names):
            raise ValueError(f"reserve products must have distinct names: {names}")
        return self


class Case(Table):
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
    market: Market | None = None

    @model_validator(mode="after")
    def _market_needs_a_battery(self) -> Case:
        if self.market is not None and self.battery is None:
            raise ValueError("a [market] table needs a [battery] to sell its services")
        return self

    @model_validator(mode="after")
    def _type3_table(self) -> Case:
        if self.grid.mode == "type3_n1" and self.type3 is None:
            raise ValueError("grid.mode 'type3_n1' needs a [type3] table")
        return self
