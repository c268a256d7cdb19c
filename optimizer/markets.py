"""The ``[market]`` table → the input Dataset (per reserve product ``market_reserve_<name>_*``
series and scalars, their names in ``attrs["market_reserves"]``; the capacity market's price, its
obligation steps, its de-rating table in attrs) → :class:`wattbit.formulations.market.MarketData`.

A reserve product's blocks are aligned to local midnight (Japan's balancing market trades fixed
blocks of the day, e.g. eight 3-hour blocks): a block starts at the steps whose hours since the
first local midnight are a multiple of ``block_h``, and at the first step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from wattbit.case import LoadedCase
from wattbit.errors import CaseError
from wattbit.formulations.market import CapacityData, MarketData, ReserveData

KW_PER_MW = 1000.0


def _local_hours(ds: xr.Dataset) -> np.ndarray:
    """Hours of each step since the local midnight before the first step."""
    local = pd.DatetimeIndex(ds["time"].values).tz_localize("UTC").tz_convert(ds.attrs["timezone"])
    midnight = local[0].normalize()
    return np.asarray((local - midnight).total_seconds() / 3600.0, dtype=float)


def add_market(ds: xr.Dataset, loaded: LoadedCase) -> None:
    """Add the market services of ``loaded`` (if any) to the input Dataset ``ds``."""
    market = loaded.case.market
    if market is None:
        return
    if loaded.case.grid.mode == "type3_n1":
        raise CaseError(
            loaded.file, "market", "market services are not modelled with grid.mode 'type3_n1'"
        )
    hours = _local_hours(ds)
    dt = float(ds.attrs["dt_h"])
    for i, r in enumerate(market.reserve):
        steps = r.block_h / dt
        if abs(steps - round(steps)) > 1e-9:
            field = f"market.reserve[{i}].block_h"
            raise CaseError(loaded.file, field, f"{r.block_h:g} h is not a whole number of steps")
        name = f"market_reserve_{r.name}"
        price = loaded.quantity(f"market.reserve[{i}].price_jpy_per_mw_h")
        ds[f"{name}_price_jpy_per_mw_h"] = (
            "time",
            np.asarray(price, dtype=float),
            {"units": "JPY/MW/h", "doc": "reserve (ΔkW) price per MW held per hour"},
        )
        block = np.floor(hours / r.block_h + 1e-9)
        start = np.concatenate([[1.0], (np.diff(block) != 0).astype(float)])
        ds[f"{name}_block_start"] = (
            "time",
            start,
            {"units": "1", "doc": "1 at the first step of a block; a block holds one value"},
        )
        ds[f"{name}_duration_h"] = (
            (),
            r.duration_h,
            {"units": "h", "doc": "duration at full output"},
        )
    ds.attrs["market_reserves"] = ",".join(r.name for r in market.reserve)
    cap = market.capacity
    if cap is not None:
        ds["market_capacity_price_jpy_per_mw_year"] = (
            (),
            cap.price_jpy_per_kw_year * KW_PER_MW,
            {"units": "JPY/MW/yr", "doc": "capacity-market price per MW of de-rated capacity"},
        )
        ds.attrs["market_capacity_derating_h"] = [float(row[0]) for row in cap.derating]
        ds.attrs["market_capacity_derating_factor"] = [float(row[1]) for row in cap.derating]
        local_hour = np.floor(hours % 24.0 + 1e-9).astype(int)
        ds["market_capacity_obligation"] = (
            "time",
            np.isin(local_hour, cap.obligation_hours).astype(float),
            {"units": "1", "doc": "1 where the capacity commitment must be available"},
        )


def reserve_products(ds: xr.Dataset) -> list[str]:
    """The reserve products of a Dataset, in case order."""
    return [p for p in str(ds.attrs.get("market_reserves", "")).split(",") if p]


def has_market(ds: xr.Dataset) -> bool:
    return bool(reserve_products(ds)) or "market_capacity_price_jpy_per_mw_year" in ds


def _bound(upper: float) -> float:
    """The battery's largest power, finite: the bound of (A3)'s ranged rows."""
    return upper if np.isfinite(upper) else 1e6


def market_data(ds: xr.Dataset) -> MarketData:
    """The market block's data from an input Dataset."""
    reserves = tuple(
        ReserveData(
            product=p,
            price_jpy_per_mw_h=ds[f"market_reserve_{p}_price_jpy_per_mw_h"].values,
            duration_h=float(ds[f"market_reserve_{p}_duration_h"]),
            block_start=ds[f"market_reserve_{p}_block_start"].values,
        )
        for p in reserve_products(ds)
    )
    capacity = None
    if "market_capacity_price_jpy_per_mw_year" in ds:
        capacity = CapacityData(
            price_jpy_per_mw_year=float(ds["market_capacity_price_jpy_per_mw_year"]),
            durations_h=tuple(float(h) for h in ds.attrs["market_capacity_derating_h"]),
            factors=tuple(float(f) for f in ds.attrs["market_capacity_derating_factor"]),
            obligation=ds["market_capacity_obligation"].values,
        )
    return MarketData(
        discharge_efficiency=float(ds["battery_discharge_efficiency"]),
        power_bound_mw=_bound(float(ds["battery_power_mw_max"])),
        soc_min_fraction=float(ds["battery_soc_min_fraction"]),
        soc_max_fraction=float(ds["battery_soc_max_fraction"]),
        reserves=reserves,
        capacity=capacity,
    )
