"""The value types of case fields, shared by the single-site and the network schema.

A *quantity* field takes a constant, the name of a column of the case's series files, or a table
``{ column = "…", scale = 1.0, offset = 0.0 }``. A *capacity* field takes a fixed value or a range
``{ min = …, max = … }`` that the optimiser sizes within. Every field carries its unit in its name.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
    """A capacity the optimiser sizes within ``[min, max]``."""

    min: NonNegative = 0.0
    max: NonNegative

    @model_validator(mode="after")
    def _ordered(self) -> SizeRange:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) exceeds max ({self.max})")
        return self


Capacity = NonNegative | SizeRange
