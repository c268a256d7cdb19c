"""The inputs Dataset written variable by variable (:func:`wattbit.inputs.build_inputs`): units
read from a name's suffix, capacities as ``<name>_min``/``<name>_max``, capital annualised with
the capital recovery factor."""

from __future__ import annotations

import numpy as np
import xarray as xr

from wattbit.case import Capacity, LoadedCase, SizeRange
from wattbit.formulations.common import capital_recovery_factor
from wattbit.sizes import investment_name, lifetime_name

KW_PER_MW = 1000.0

UNITS = {
    "_mw": "MW",
    "_mwh": "MWh",
    "_mwh_per_year": "MWh/yr",
    "_jpy": "JPY",
    "_jpy_per_mw": "JPY/MW",
    "_jpy_per_mwh": "JPY/MWh",
    "_jpy_per_mw_year": "JPY/MW/yr",
    "_jpy_per_mwh_year": "JPY/MWh/yr",
    "_jpy_per_mwh_h": "JPY/MWh/h",
    "_jpy_per_h": "JPY/h",
    "_mwh_h": "MWh·h",
    "_per_h": "1/h",
    "_h": "h",
    "_years": "yr",
    "_t_per_mwh": "t/MWh",
    "_jpy_per_t": "JPY/t",
    "_jpy_per_event": "JPY",
    "_minutes": "min",
    "_t": "t",
}


def units_of(name: str) -> str:
    """The unit implied by a variable name's suffix ('' when dimensionless)."""
    for suffix in sorted(UNITS, key=len, reverse=True):
        if (
            name.endswith(suffix)
            or name.endswith(suffix + "_min")
            or name.endswith(suffix + "_max")
        ):
            return UNITS[suffix]
    return "1"


def bounds(capacity: Capacity) -> tuple[float, float]:
    if isinstance(capacity, SizeRange):
        return capacity.min, capacity.max
    return float(capacity), float(capacity)


class Builder:
    """The inputs Dataset, written variable by variable. ``series``, ``scalar``, ``per_scenario``
    and ``capacity`` collect their variables and :attr:`ds` adds what was collected in one
    ``update`` before handing the Dataset out: each ``Dataset.__setitem__`` aligns and merges
    the whole Dataset again (≈ 0.1 s of a one-week case's 0.4 s, docs/performance.md)."""

    def __init__(self, loaded: LoadedCase) -> None:
        self.loaded = loaded
        index = loaded.series.index
        self._ds = xr.Dataset(coords={"time": ("time", index.tz_convert("UTC").tz_localize(None))})
        self._pending: dict[str, tuple] = {}

    @property
    def ds(self) -> xr.Dataset:
        """The Dataset with every variable written so far (in the order written)."""
        if self._pending:
            self._ds.update(self._pending)
            self._pending = {}
        return self._ds

    @property
    def attrs(self) -> dict:
        """The Dataset's attributes (reading or setting them needs no variable; an ``update``
        gives the Dataset another dictionary, so this is read again each time)."""
        return self._ds.attrs

    def _add(self, name: str, dims: str | tuple[str, ...], value: object, attrs: dict) -> None:
        if name in self._ds.variables:  # written again after it was added: replaced in place
            self.ds[name] = (dims, value, attrs)
        else:  # a name written again while it waits keeps its place, as in a Dataset
            self._pending[name] = (dims, value, attrs)

    def series(self, name: str, values: np.ndarray, doc: str) -> None:
        attrs = {"units": units_of(name), "doc": doc}
        self._add(name, "time", np.asarray(values, dtype=float), attrs)

    def scalar(self, name: str, value: float, doc: str) -> None:
        self._add(name, (), float(value), {"units": units_of(name), "doc": doc})

    def per_scenario(self, name: str, values: np.ndarray, doc: str) -> None:
        """A series per scenario, ``(scenario, time)``; a single scenario has no scenario axis."""
        values = np.asarray(values, dtype=float)
        if len(values) == 1:
            self.series(name, values[0], doc)
        else:
            attrs = {"units": units_of(name), "doc": doc}
            self._add(name, ("scenario", "time"), values, attrs)

    def capacity(self, name: str, capacity: Capacity, doc: str) -> None:
        lo, hi = bounds(capacity)
        self.scalar(f"{name}_min", lo, f"{doc} (lower bound)")
        self.scalar(f"{name}_max", hi, f"{doc} (upper bound)")
        if isinstance(capacity, SizeRange) and capacity.unit is not None:  # docs/milp.md
            unit = units_of(name)
            self._add(f"{name}_unit", (), capacity.unit, {"units": unit, "doc": f"{doc}: unit"})
            self._add(
                f"{name}_unit_cost_jpy_per_year",
                (),
                capacity.unit_cost_jpy_per_year,
                {"units": "JPY/yr", "doc": f"{doc}: fixed cost per unit"},
            )

    def capital(
        self,
        size: str,
        coefficient: str,
        capex_per_kw: float,
        lifetime_years: float,
        om_per_kw_year: float | None,
        doc: str,
    ) -> None:
        """The annualised cost per unit of ``size`` that the model reads (``coefficient``), and
        the up-front capital per unit and lifetime that :func:`wattbit.economics.capital` reads."""
        rate = float(self.attrs["discount_rate"])
        self.scalar(
            coefficient,
            annualised_per_mw(rate, lifetime_years, capex_per_kw, om_per_kw_year or 0.0),
            f"annualised {doc} capex" + ("" if om_per_kw_year is None else " + fixed O&M"),
        )
        self.scalar(investment_name(size), capex_per_kw * KW_PER_MW, f"{doc} capital, up front")
        self.scalar(lifetime_name(size), lifetime_years, f"{doc} lifetime")


def annualised_per_mw(
    rate: float, lifetime_years: float, capex_per_kw: float, om_per_kw_year: float = 0.0
) -> float:
    """JPY per MW (or MWh) and year of a capital cost per kW (kWh) and a fixed O&M per kW and
    year: ``(CRF(r, N) · capex + O&M) · 1000``."""
    return (
        capital_recovery_factor(rate, lifetime_years) * capex_per_kw + om_per_kw_year
    ) * KW_PER_MW
