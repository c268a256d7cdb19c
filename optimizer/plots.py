"""Plots of a result Dataset (PNG, matplotlib's Agg backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from wattbit.results import served_it_mw


def local_time(ds: xr.Dataset) -> pd.DatetimeIndex:
    """The time axis in the case's timezone."""
    return pd.DatetimeIndex(ds["time"].values).tz_localize("UTC").tz_convert(ds.attrs["timezone"])


def busiest_week(ds: xr.Dataset) -> slice:
    """Index slice of the 7 days with the most battery discharge (else the tightest import limit)."""
    steps = round(24 * 7 / float(ds.attrs["dt_h"]))
    n = ds.sizes["time"]
    if n <= steps:
        return slice(0, n)
    if "battery_discharge_mw" in ds and float(ds["battery_discharge_mw"].sum()) > 0:
        score = ds["battery_discharge_mw"].values
    else:
        score = -ds["grid_import_limit_mw"].values
    window = np.convolve(score, np.ones(steps), mode="valid")
    start = int(np.argmax(window))
    return slice(start, start + steps)


def plot_dispatch(ds: xr.Dataset, path: Path, window: slice | None = None) -> Path:
    """A week of headroom H(t), fixed pattern, import limit, grid import, DC facility load, PV
    and battery SoC."""
    window = window or busiest_week(ds)
    part = ds.isel(time=window)
    t = local_time(part)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    facility = served_it_mw(part) * part["dc_pue"]
    mode = ds.attrs.get("grid_mode", "")
    if "grid_headroom_mw" in part:
        ax.plot(t, part["grid_headroom_mw"], color="black", lw=1.2, label="headroom H(t)")
        ax.step(
            t,
            part["grid_pattern_mw"],
            where="post",
            color="grey",
            lw=1.2,
            ls=":",
            label="fixed pattern",
        )
    if mode == "firm":
        ax.plot(t, part["grid_import_limit_mw"], color="purple", lw=1.2, label="firm capacity")
    if "grid_forecast_headroom_mw" in part:
        ax.plot(
            t, part["grid_forecast_headroom_mw"], color="tab:orange", lw=0.8, label="forecast H(t)"
        )
    ax.plot(t, part["grid_import_mw"], color="tab:blue", lw=1.4, label="grid import")
    ax.plot(t, facility, color="tab:red", lw=1.0, ls="--", label="DC facility load served")
    if "pv_generation_mw" in part:
        ax.fill_between(t, 0, part["pv_generation_mw"], color="gold", alpha=0.5, label="PV used")
    ax.set_ylabel("power (MW)")
    ax.set_xlabel(f"time ({ds.attrs['timezone']})")
    handles, labels = ax.get_legend_handles_labels()
    if "battery_soc_mwh" in part:
        ax2 = ax.twinx()
        ax2.plot(t, part["battery_soc_mwh"], color="tab:green", lw=1.0, label="battery SoC")
        ax2.set_ylabel("battery state of charge (MWh)")
        ax2.set_ylim(bottom=0)
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="upper left", fontsize=8, ncols=3)
    title = f"{ds.attrs.get('case_name', '')} [{mode}{_strategy(ds)}]"
    ax.set_title(f"{title}: dispatch, {t[0]:%Y-%m-%d} to {t[-1]:%Y-%m-%d}")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _strategy(ds: xr.Dataset) -> str:
    return f", {ds.attrs['strategy']}" if "strategy" in ds.attrs else ""
