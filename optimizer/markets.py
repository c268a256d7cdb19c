"""The ``[market]`` table → the input Dataset (per reserve product ``market_reserve_<name>_*``
series and scalars, their names in ``attrs["market_reserves"]``; the capacity market's price, its
obligation steps, its de-rating table in attrs) → :class:`wattbit.formulations.market.MarketData`.

A reserve product's blocks are aligned to local midnight (Japan's balancing market trades fixed
blocks of the day, e.g. eight 3-hour blocks): the block of a step is
``floor(hours since the first local midnight / block_h)``.
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
        ds[f"{name}_block"] = (
            "time",
            np.floor(hours / r.block_h + 1e-9),
            {"units": "1", "doc": "block number: the steps of a block hold one reserve value"},
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


def market_data(ds: xr.Dataset) -> MarketData:
    """The market block's data from an input Dataset."""
    reserves = tuple(
        ReserveData(
            product=p,
            price_jpy_per_mw_h=ds[f"market_reserve_{p}_price_jpy_per_mw_h"].values,
            duration_h=float(ds[f"market_reserve_{p}_duration_h"]),
            block=ds[f"market_reserve_{p}_block"].values,
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
        soc_min_fraction=float(ds["battery_soc_min_fraction"]),
        soc_max_fraction=float(ds["battery_soc_max_fraction"]),
        reserves=reserves,
        capacity=capacity,
    )
