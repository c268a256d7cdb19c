"""The value types of case fields, shared by the single-site and the network schema.

A *quantity* field takes a constant, the name of a column of the case's series files, or a table
``{ column = "…", scale = 1.0, offset = 0.0 }``. A *capacity* field takes a fixed value or a range
``{ min = …, max = … }`` that the optimiser sizes within. Every field carries its unit in its name.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wattbit.formulations.modular import unit_range

# strict: a boolean (`true` is not 1) or a quoted number ("5") is an error, not a number.
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, strict=True)]
Efficiency = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False, strict=True)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False, strict=True)]


class Table(BaseModel):
    """A TOML table: unknown fields are errors, values are frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SeriesColumn(Table):
    """A column of the series files, transformed as ``scale · value + offset``."""

    column: str
    scale: Annotated[float, Field(allow_inf_nan=False, strict=True)] = 1.0
    offset: Annotated[float, Field(allow_inf_nan=False, strict=True)] = 0.0


Quantity = Annotated[float, Field(allow_inf_nan=False, strict=True)] | str | SeriesColumn


class SizeRange(Table):
    """A capacity the optimiser sizes within ``[min, max]``; with ``unit`` (in the capacity's own
    unit, MW or MWh), a whole number of units of that size, each costing
    ``unit_cost_jpy_per_year`` on top of the capex per kW(h) (docs/milp.md)."""

    min: NonNegative = 0.0
    max: NonNegative
    unit: Positive | None = None
    unit_cost_jpy_per_year: NonNegative = 0.0

    @model_validator(mode="after")
    def _ordered(self) -> SizeRange:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) exceeds max ({self.max})")
        if self.unit is None:
            if self.unit_cost_jpy_per_year > 0:
                raise ValueError("unit_cost_jpy_per_year needs a unit")
            return self
        lo, hi = unit_range(self.min, self.max, self.unit)
        if lo > hi:
            raise ValueError(
                f"no whole number of units of {self.unit:g} lies in [{self.min:g}, {self.max:g}]"
            )
        return self


Capacity = NonNegative | SizeRange
