"""Plots of a sweep dataset: a KPI over one swept parameter (line) or two (heatmap), with the
breakeven (zero) contour where the KPI changes sign, and where the optimal size of a sized
component (by default the battery's energy) reaches zero."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

SIZE_ZERO = "battery_energy_mwh"
SIZE_TOL = 1e-6


class PlotError(Exception):
    """A bad plot request; the message names the offending flag."""


def swept(ds: xr.Dataset) -> list[str]:
    """The swept parameters: every coordinate along a dimension of the sweep."""
    return [str(name) for name in ds.coords if ds[name].dims]


def select(ds: xr.Dataset, sel: Mapping[str, Any]) -> xr.Dataset:
    """Fix swept parameters at a value each (zipped groups by any one of their paths)."""
    for path, value in sel.items():
        if path not in swept(ds):
            raise PlotError(f"--sel {path}: not a swept parameter ({', '.join(swept(ds))})")
        coord = ds[path]
        hits = np.flatnonzero(coord.values == np.asarray(value, dtype=coord.dtype))
        if not hits.size:
            known = ", ".join(str(v) for v in coord.values)
            raise PlotError(f"--sel {path}={value}: not a value of the sweep ({known})")
        ds = ds.isel({coord.dims[0]: int(hits[0])})
    return ds


def _axis(ds: xr.Dataset, path: str, flag: str) -> tuple[str, np.ndarray, list[str] | None]:
    """(dimension, positions, tick labels or None) of a swept parameter on a plot axis."""
    if path not in swept(ds):
        raise PlotError(f"{flag} {path}: not a swept parameter ({', '.join(swept(ds)) or 'none'})")
    values = ds[path].values
    if np.issubdtype(values.dtype, np.number):
        return ds[path].dims[0], values.astype(float), None
    return ds[path].dims[0], np.arange(len(values), dtype=float), [str(v) for v in values]


def _title(da: xr.DataArray, ds: xr.Dataset) -> str:
    failed = int((ds["status"] != "ok").sum()) if "status" in ds else 0
    unit = da.attrs.get("units", "")
    parts = [f"{da.name}" + (f" [{unit}]" if unit else "")]
    if ds.attrs.get("baseline") and da.name in {"net_benefit_jpy_per_year", "npv_jpy"}:
        parts.append(f"vs {ds.attrs['baseline']}")
    if failed:
        parts.append(f"{failed} failed case(s) left blank")
    return " — ".join(parts)


def _crossings(x: np.ndarray, z: np.ndarray) -> list[float]:
    """Where the piecewise-linear line through ``(x, z)`` crosses zero."""
    out = []
    for i in range(len(x) - 1):
        a, b = z[i], z[i + 1]
        if np.isfinite(a) and np.isfinite(b) and a * b < 0:
            out.append(float(x[i] + (x[i + 1] - x[i]) * a / (a - b)))
    return out


def _size_zero_steps(x: np.ndarray, size: np.ndarray) -> list[tuple[float, float]]:
    """Pairs of neighbouring ``x`` where the optimal size goes from > 0 to 0 or back: the size
    reaches zero somewhere between them (a step, so no interpolation)."""
    built = size > SIZE_TOL
    return [
        (float(x[i]), float(x[i + 1]))
        for i in range(len(x) - 1)
        if np.isfinite(size[i]) and np.isfinite(size[i + 1]) and built[i] != built[i + 1]
    ]


def _sized(ds: xr.Dataset, size: str | None, plotted: list[str]) -> np.ndarray | None:
    """The size over the plotted dimensions, if it is zero somewhere and positive elsewhere."""
    if size is None or size not in ds.data_vars:
        return None
    da = ds[size].squeeze([d for d in ds[size].dims if d not in plotted], drop=True)
    values = da.transpose(*reversed([d for d in plotted if d in da.dims])).values
    if values.ndim != len(plotted):
        return None
    finite = values[np.isfinite(values)]
    if not (finite.size and finite.min() <= SIZE_TOL < finite.max()):
        return None
    return values


def plot_sweep(
    ds: xr.Dataset,
    x: str,
    z: str,
    y: str | None = None,
    sel: Mapping[str, Any] | None = None,
    size: str | None = SIZE_ZERO,
) -> Figure:
    """A line of ``z`` over ``x``, or a heatmap over ``x`` and ``y``; every other swept dimension
    must be fixed with ``sel``. A zero contour (breakeven) is drawn where ``z`` changes sign, and
    a dotted one where the optimal ``size`` (a size variable of the sweep) reaches zero."""
    ds = select(ds, sel or {})
    if z not in ds.data_vars or ds[z].dtype.kind not in "fi":
        known = [str(n) for n in ds.data_vars if ds[n].dtype.kind == "f"]
        raise PlotError(f"--z {z}: not a numeric variable of the sweep ({', '.join(known)})")
    xdim, xs, xlabels = _axis(ds, x, "--x")
    plotted = [xdim]
    if y is not None:
        ydim, ys, ylabels = _axis(ds, y, "--y")
        if ydim == xdim:
            raise PlotError(f"--y {y}: zipped with {x}, so it is no second dimension")
        plotted.append(ydim)
    rest = [d for d in ds[z].dims if d not in plotted and ds.sizes[d] > 1]
    if rest:
        raise PlotError(
            f"the sweep also varies {', '.join(rest)}: pick one value each with --sel PATH=VALUE"
        )
    da = ds[z].squeeze([d for d in ds[z].dims if d not in plotted], drop=True)
    values = da.transpose(*reversed(plotted)).values
    fig, ax = plt.subplots(figsize=(7.5, 4.8), layout="constrained")
    if y is None:
        ax.plot(xs, values, marker="o")
        crossings = _crossings(xs, values) if xlabels is None else []
        if crossings:
            ax.axhline(0.0, color="0.4", linewidth=0.8)
        for c in crossings:
            ax.axvline(c, color="k", linestyle="--", linewidth=1)
            text = f"breakeven ≈ {c:,.0f}" if abs(c) >= 1000 else f"breakeven ≈ {c:.4g}"
            ax.annotate(text, (c, 0.0), xytext=(4, 6), textcoords="offset points")
        sized = _sized(ds, size, plotted) if xlabels is None else None
        for lo, hi in _size_zero_steps(xs, sized) if sized is not None else []:
            ax.axvspan(lo, hi, color="tab:orange", alpha=0.25, label=f"optimal {size} = 0 here")
            ax.legend(fontsize=8)
        ax.set_ylabel(z)
    else:
        finite = values[np.isfinite(values)]
        crosses = finite.size > 0 and finite.min() < 0 < finite.max()
        norm = TwoSlopeNorm(0.0, finite.min(), finite.max()) if crosses else None
        mesh = ax.pcolormesh(
            xs, ys, np.ma.masked_invalid(values), shading="nearest", cmap="RdBu", norm=norm
        )
        fig.colorbar(mesh, ax=ax, label=z)
        if crosses and xlabels is None and ylabels is None:
            # exact zeros are the baseline itself (a benefit vs itself), not a breakeven
            signed = np.where(values == 0.0, np.nan, values)
            contour = ax.contour(xs, ys, signed, levels=[0.0], colors="k", linewidths=1.5)
            ax.clabel(contour, fmt={0.0: "breakeven"})
        sized = _sized(ds, size, plotted) if xlabels is None and ylabels is None else None
        if sized is not None:
            built = np.where(np.isfinite(sized), (sized > SIZE_TOL).astype(float), np.nan)
            ax.contour(xs, ys, built, levels=[0.5], colors="tab:orange", linestyles=":")
            edge = Line2D([], [], color="tab:orange", linestyle=":", label=f"optimal {size} = 0")
            ax.legend(handles=[edge], fontsize=8, loc="upper right")
        if ylabels is not None:
            ax.set_yticks(ys, ylabels)
        ax.set_ylabel(y)
    if xlabels is not None:
        ax.set_xticks(xs, xlabels)
    ax.set_xlabel(x)
    ax.set_title(_title(da, ds), fontsize=10)
    return fig


def save_plot(fig: Figure, path: str) -> None:
    fig.savefig(path, dpi=120)
    plt.close(fig)
