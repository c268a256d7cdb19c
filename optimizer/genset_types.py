"""Inputs of a generator plant of several genset types (``[[generator.types]]``, docs/milp.md).

Each type ``<type>`` is a size of the generator block by the naming rule of :mod:`wattbit.sizes`:
``generator_<type>_power_mw`` in whole units of its rating (I1), with its capital, fuel cost,
commitment fields and its own availability ``generator_availability_<type>`` (the plant's series
with the type's start delay). The plant's ``generator_availability`` is the most any type has.
``attrs["generator_types"]`` lists the types, space-separated, in the case's order.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np
import xarray as xr

from wattbit import n1
from wattbit.case import LoadedCase, SizeRange
from wattbit.case.schema import GensetType

TYPE_FIELDS = (
    "start_delay_h",
    "fuel_cost_jpy_per_mwh",
    "min_load_fraction",
    "start_cost_jpy",
    "min_up_h",
    "min_down_h",
    "no_load_cost_jpy_per_h",
)
"""Per-type scalars ``generator_<type>_<field>`` (start delay and fuel cost: the plant's if unset)."""


class Builder(Protocol):  # the input builder of :mod:`wattbit.inputs`
    ds: xr.Dataset

    def scalar(self, name: str, value: float, doc: str) -> None: ...
    def per_scenario(self, name: str, values: np.ndarray, doc: str) -> None: ...
    def capacity(self, name: str, capacity: SizeRange, doc: str) -> None: ...
    def capital(
        self,
        size: str,
        coefficient: str,
        capex_per_kw: float,
        lifetime_years: float,
        om_per_kw_year: float | None,
        doc: str,
    ) -> None: ...


def type_names(ds: xr.Dataset) -> list[str]:
    """The genset types of a plant of several (none for a single type, nor where the generator's
    variables were dropped and the attribute kept, as in the firm reference of type ③)."""
    names = str(ds.attrs.get("generator_types", "")).split()
    return [name for name in names if f"generator_{name}_power_mw_min" in ds]


def availability(
    loaded: LoadedCase, events: list[list[n1.OutageEvent]], delay_h: float, n: int, dt: float
) -> np.ndarray:
    """(scenario, time): the share of each step a genset that starts ``delay_h`` after a fault
    may run (:func:`wattbit.n1.outage_series` with that start delay)."""
    gen = loaded.case.generator.model_copy(update={"start_delay_h": delay_h})
    case = loaded.case.model_copy(update={"generator": gen})
    typed = dataclasses.replace(loaded, case=case)
    return np.stack([n1.outage_series(typed, e, n, dt).generator_availability for e in events])


def add_genset_types(
    b: Builder, loaded: LoadedCase, events: list[list[n1.OutageEvent]], n: int, dt: float
) -> None:
    """Every type's size, capital, fields and availability; the plant's availability."""
    gen = loaded.case.generator
    plant = None
    for t in gen.types:
        prefix = f"generator_{t.name}"
        size = SizeRange(
            min=t.unit_mw * t.min_units,
            max=t.unit_mw * t.max_units,
            unit=t.unit_mw,
            unit_cost_jpy_per_year=t.unit_cost_jpy_per_year,
        )
        b.capacity(f"{prefix}_power_mw", size, f"gensets '{t.name}' rated power")
        b.capital(
            f"{prefix}_power_mw",
            f"{prefix}_capex_jpy_per_mw_year",
            t.capex_jpy_per_kw,
            t.lifetime_years,
            t.om_jpy_per_kw_year,
            f"gensets '{t.name}'",
        )
        for field in TYPE_FIELDS:
            b.scalar(f"{prefix}_{field}", _value(t, gen, field), field.replace("_", " "))
        a = availability(loaded, events, float(b.ds[f"{prefix}_start_delay_h"]), n, dt)
        b.per_scenario(f"generator_availability_{t.name}", a, f"share of step '{t.name}' may run")
        plant = a if plant is None else np.maximum(plant, a)
    b.per_scenario("generator_availability", plant, "share of step some genset may run")
    b.ds.attrs["generator_types"] = " ".join(t.name for t in gen.types)


def _value(t: GensetType, gen: object, field: str) -> float:
    value = getattr(t, field)
    return float(getattr(gen, field) if value is None else value)
