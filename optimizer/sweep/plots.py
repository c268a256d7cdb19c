"""Plots of a sweep dataset: a KPI over one swept parameter (line) or two (heatmap), with the
breakeven (zero) contour where the KPI changes sign, and where the optimal size of a sized
component (by default the battery's energy) reaches zero."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from wattbit.labels import Label, label_of, words_of

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


def _axis(ds: xr.Dataset, path: str, flag: str) -> tuple[str, np.ndarray, list[str] | None, Label]:
    """(dimension, positions in the label's unit, tick labels or None, label) of a swept
    parameter on a plot axis."""
    if path not in swept(ds):
        raise PlotError(f"{flag} {path}: not a swept parameter ({', '.join(swept(ds)) or 'none'})")
    values = ds[path].values
    dim = ds[path].dims[0]
    if np.issubdtype(values.dtype, np.number):
        label = label_of(path, values.astype(float))
        return dim, values.astype(float) / label.scale, None, label
    return dim, np.arange(len(values), dtype=float), [str(v) for v in values], label_of(path)


def _value(path: str, value: Any) -> str:
    """A fixed parameter's value as shown: 100000 → ``100 thousand JPY/kWh``."""
    if isinstance(value, int | float | np.number) and not isinstance(value, bool):
        label = label_of(path, [float(value)])
        unit = f" {label.unit}" if label.unit not in ("", "–") else ""
        return f"{float(value) / label.scale:,.4g}{unit}"
    return str(value)


def _title(label: Label, ds: xr.Dataset, z: str, sel: Mapping[str, Any]) -> str:
    """What is shown, at which fixed values (``--sel``), against which baseline."""
    failed = int((ds["status"] != "ok").sum()) if "status" in ds else 0
    parts = [label.text]
    if ds.attrs.get("baseline") and z in {"net_benefit_jpy_per_year", "npv_jpy"}:
        path, _, value = str(ds.attrs["baseline"]).partition("=")
        parts.append(f"vs {words_of(path)} = {value}")
    if sel:
        parts.append("at " + ", ".join(f"{words_of(p)} = {_value(p, v)}" for p, v in sel.items()))
    if failed:
        parts.append(f"{failed} failed case(s) left blank")
    return " — ".join(parts)


def file_name(z: str, sel: Mapping[str, Any]) -> str:
    """The default image name: ``<z>.png``, with each fixed parameter ``--sel PATH=VALUE``
    appended as ``_PATH=VALUE`` (characters other than letters, digits, ``._=-`` as ``-``)."""
    stem = z + "".join(f"_{path}={value}" for path, value in sel.items())
    return re.sub(r"[^A-Za-z0-9._=-]", "-", stem) + ".png"


def sign_meaning(z: str, ds: xr.Dataset) -> str:
    """What a positive value means, for the label of a diverging colour bar."""
    if z in {"net_benefit_jpy_per_year", "npv_jpy"}:
        path, _, value = str(ds.attrs.get("baseline", "")).partition("=")
        against = f"{words_of(path)} = {value}" if value else "the baseline"
        return f"blue > 0: better than {against}; red < 0: worse"
    return "blue > 0, red < 0"


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


def _line(
    ax: Axes,
    xs: np.ndarray,
    values: np.ndarray,
    xlabel: Label,
    sized: np.ndarray | None,
    size: str | None,
) -> None:
    ax.plot(xs, values, marker="o")
    crossings = _crossings(xs, values)
    if crossings:
        ax.axhline(0.0, color="0.4", linewidth=0.8)
    for c in crossings:
        ax.axvline(c, color="k", linestyle="--", linewidth=1)
        unit = f" {xlabel.unit}" if xlabel.unit not in ("", "–") else ""
        ax.annotate(
            f"breakeven ≈ {c:,.4g}{unit}", (c, 0.0), xytext=(4, 6), textcoords="offset points"
        )
    for lo, hi in _size_zero_steps(xs, sized) if sized is not None else []:
        ax.axvspan(
            lo,
            hi,
            color="tab:orange",
            alpha=0.25,
            label=f"optimal {words_of(str(size))} = 0 here",
        )
        ax.legend(fontsize=8)


def _heatmap(
    fig: Figure,
    ax: Axes,
    grid: tuple[np.ndarray, np.ndarray],
    values: np.ndarray,
    zlabel: Label,
    meaning: str,
    numeric: bool,
    sized: np.ndarray | None,
    size: str | None,
) -> None:
    """Sequential colours for a quantity of one sign; diverging, centred on zero, with the
    sign's meaning in the colour bar's label, for one that changes sign."""
    xs, ys = grid
    finite = values[np.isfinite(values)]
    crosses = finite.size > 0 and finite.min() < 0 < finite.max()
    if crosses:
        norm, cmap, text = (
            TwoSlopeNorm(0.0, finite.min(), finite.max()),
            "RdBu",
            f"{zlabel.text}\n{meaning}",
        )
    else:
        norm, cmap, text = None, "viridis", zlabel.text
    mesh = ax.pcolormesh(
        xs, ys, np.ma.masked_invalid(values), shading="nearest", cmap=cmap, norm=norm
    )
    fig.colorbar(mesh, ax=ax, label=text)
    handles = []
    if crosses and numeric:
        # exact zeros are the baseline itself (a benefit vs itself), not a breakeven
        signed = np.where(values == 0.0, np.nan, values)
        contour = ax.contour(xs, ys, signed, levels=[0.0], colors="k", linewidths=1.5)
        ax.clabel(contour, fmt={0.0: "breakeven"})
        handles.append(Line2D([], [], color="k", linewidth=1.5, label="breakeven (value = 0)"))
    if sized is not None and numeric:
        built = np.where(np.isfinite(sized), (sized > SIZE_TOL).astype(float), np.nan)
        edge = ax.contour(xs, ys, built, levels=[0.5], colors="tab:orange", linestyles=":")
        name = words_of(str(size))
        ax.clabel(edge, fmt={0.5: f"{name} = 0"}, fontsize=8)
        handles.append(
            Line2D([], [], color="tab:orange", linestyle=":", label=f"optimal {name} = 0")
        )
    if sized is not None and numeric:  # the dotted line needs a key; breakeven is labelled inline
        ax.legend(handles=handles, fontsize=8, loc="upper right")


def plot_sweep(
    ds: xr.Dataset,
    x: str,
    z: str,
    y: str | None = None,
    sel: Mapping[str, Any] | None = None,
    size: str | None = SIZE_ZERO,
) -> Figure:
    """A line of ``z`` over ``x``, or a heatmap over ``x`` and ``y``; every other swept dimension
    must be fixed with ``sel`` (named in the title). A zero contour (breakeven) is drawn where
    ``z`` changes sign, and a dotted one where the optimal ``size`` (a size variable of the
    sweep) reaches zero. Axes carry human labels with units (:mod:`wattbit.labels`), values
    scaled to them (MJPY/yr, thousand JPY/kWh), and no offsets."""
    sel = dict(sel or {})
    ds = select(ds, sel)
    if z not in ds.data_vars or ds[z].dtype.kind not in "fi":
        known = [str(n) for n in ds.data_vars if ds[n].dtype.kind == "f"]
        raise PlotError(f"--z {z}: not a numeric variable of the sweep ({', '.join(known)})")
    xdim, xs, xticks, xlabel = _axis(ds, x, "--x")
    plotted = [xdim]
    if y is not None:
        ydim, ys, yticks, ylabel = _axis(ds, y, "--y")
        if ydim == xdim:
            raise PlotError(f"--y {y}: zipped with {x}, so it is no second dimension")
        plotted.append(ydim)
    rest = [d for d in ds[z].dims if d not in plotted and ds.sizes[d] > 1]
    if rest:
        raise PlotError(
            f"the sweep also varies {', '.join(rest)}: pick one value each with --sel PATH=VALUE"
        )
    da = ds[z].squeeze([d for d in ds[z].dims if d not in plotted], drop=True)
    raw = da.transpose(*reversed(plotted)).values.astype(float)
    zlabel = label_of(z, raw.ravel(), da.attrs.get("units"))
    values = raw / zlabel.scale
    with plt.rc_context({"axes.formatter.useoffset": False, "axes.formatter.limits": (-5, 9)}):
        fig, ax = plt.subplots(figsize=(7.5, 4.8), layout="constrained")
        if y is None:
            if xticks is None:
                _line(ax, xs, values, xlabel, _sized(ds, size, plotted), size)
            else:
                ax.plot(xs, values, marker="o")
            ax.set_ylabel(zlabel.text)
        else:
            numeric = xticks is None and yticks is None
            sized = _sized(ds, size, plotted) if numeric else None
            _heatmap(fig, ax, (xs, ys), values, zlabel, sign_meaning(z, ds), numeric, sized, size)
            if yticks is not None:
                ax.set_yticks(ys, yticks)
            ax.set_ylabel(ylabel.text)
        if xticks is not None:
            ax.set_xticks(xs, xticks)
        ax.set_xlabel(xlabel.text)
        ax.set_title(_title(zlabel, ds, z, sel), fontsize=10)
    return fig


def save_plot(fig: Figure, path: str) -> None:
    fig.savefig(path, dpi=120)
    plt.close(fig)
