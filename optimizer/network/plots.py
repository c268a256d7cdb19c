"""Plots of a network result: branch loading, a map-like schematic of the grid, and prices (PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import xarray as xr

from wattbit.network.prices import CONGESTED_TOL
from wattbit.network.run import at_limit, branch_loading
from wattbit.plots import local_time


def _busiest_week(loading: xr.DataArray, dt_h: float) -> slice:
    steps = round(24 * 7 / dt_h)
    n = loading.sizes["time"]
    if n <= steps:
        return slice(0, n)
    score = loading.fillna(0.0).max("branch").values
    start = int(np.argmax(np.convolve(score, np.ones(steps), mode="valid")))
    return slice(start, start + steps)


TOP_BRANCHES = 3
"""Branches drawn in the most-loaded-week panel: the three with the highest mean loading that week,
so that the hourly lines stay readable (the duration curves show every branch)."""


def plot_branch_loading(ds: xr.Dataset, path: Path) -> Path:
    """Loading duration curves of every branch, and the loading of the most loaded branches over
    the most loaded week."""
    dt = float(ds.attrs["dt_h"])
    loading = branch_loading(ds)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5), width_ratios=(1, 1.6))
    hours = np.arange(1, ds.sizes["time"] + 1) * dt
    week = _busiest_week(loading, dt)
    t = local_time(ds.isel(time=week))
    branches = ds["branch"].values.tolist()
    mean = loading.isel(time=week).fillna(0.0).mean("time").values
    top = [branches[j] for j in np.argsort(-mean, kind="stable")[:TOP_BRANCHES]]
    for b in branches:
        series = loading.sel(branch=b)
        kind = str(ds["branch_kind"].sel(branch=b).values)
        style = "--" if kind == "link" else "-"
        (line,) = left.plot(
            hours, np.sort(series.fillna(0.0).values)[::-1], ls=style, lw=1.2, label=b
        )
        if b in top:
            right.plot(t, series.isel(time=week), ls=style, lw=1.4, color=line.get_color(), label=b)
    for ax in (left, right):
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_ylabel("loading, |flow| / limit (–)")
        ax.grid(alpha=0.3)
    left.set_xlabel("hours of the horizon, most loaded first (h)")
    left.set_title(f"loading duration, all {len(branches)} branches")
    left.legend(fontsize=7, ncols=2, loc="upper right")
    right.set_xlabel(f"time ({ds.attrs['timezone']})")
    shown = f"the {len(top)} most loaded on average" if len(top) < len(branches) else "every branch"
    right.set_title(f"most loaded week from {t[0]:%Y-%m-%d}: {shown}")
    right.legend(fontsize=8, loc="lower left", framealpha=0.9)
    fig.suptitle(f"{ds.attrs.get('case_name', '')}: branch loading ({ds.attrs.get('mode', '')})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _positions(ds: xr.Dataset, graph: nx.MultiGraph) -> dict[str, tuple[float, float]]:
    x, y = ds["node_x_km"].values, ds["node_y_km"].values
    if np.isfinite(x).all() and np.isfinite(y).all():
        return {n: (float(a), float(b)) for n, a, b in zip(ds["node"].values, x, y, strict=True)}
    return nx.spring_layout(nx.Graph(graph), seed=0)


def _assets_at(ds: xr.Dataset, node: str) -> list[str]:
    lines = []
    for dim, label, size in (
        ("dc", "DC", "dc_it_capacity_mw"),
        ("battery", "BESS", "battery_power_mw"),
        ("ev", "EV", "ev_charger_mw"),
        ("pv", "PV", "pv_capacity_mw"),
    ):
        for i, name in enumerate(ds[dim].values.tolist()):
            if str(ds[f"{dim}_node"].values[i]) == node:
                lines.append(f"{label} {name} {float(ds[size][i]):.3g} MW")
    return lines


def plot_schematic(ds: xr.Dataset, path: Path) -> Path:
    """The grid as a map: branches coloured by their loading's 95th percentile, width by their
    limit, labelled with the highest loading and the hours at the limit; slack nodes square; assets listed at each node; data
    links between DC sites dotted."""
    dt = float(ds.attrs["dt_h"])
    graph = nx.MultiGraph()
    graph.add_nodes_from(ds["node"].values.tolist())
    loading = branch_loading(ds).fillna(0.0)
    peak, p95 = loading.max("time"), loading.quantile(0.95, dim="time")
    hours = at_limit(ds).sum("time") * dt
    pos = _positions(ds, graph)
    fig, ax = plt.subplots(figsize=(10, 7.5))
    cmap = plt.get_cmap("YlOrRd")  # sequential: loading never changes sign
    widest = float(ds["branch_limit_mw"].max()) or 1.0
    for j, b in enumerate(ds["branch"].values.tolist()):
        a, z = str(ds["branch_from_node"].values[j]), str(ds["branch_to_node"].values[j])
        (x0, y0), (x1, y1) = pos[a], pos[z]
        limit = float(ds["branch_limit_mw"][j].max())
        style = "--" if str(ds["branch_kind"].values[j]) == "link" else "-"
        ax.plot(
            [x0, x1],
            [y0, y1],
            ls=style,
            lw=1.5 + 6.0 * limit / widest,
            color=cmap(min(float(p95[j]), 1.0)),
            zorder=1,
        )
        ax.annotate(
            f"{b}\n{limit:.3g} MW, max {float(peak[j]):.0%}\n{float(hours[j]):.0f} h at limit",
            ((x0 + x1) / 2, (y0 + y1) / 2),
            fontsize=7,
            ha="center",
            va="center",
            bbox={"boxstyle": "round", "fc": "white", "alpha": 0.8, "lw": 0},
            zorder=3,
        )
    dc_node = dict(zip(ds["dc"].values.tolist(), ds["dc_node"].values.tolist(), strict=True))
    drawn = set()
    for r in range(ds.sizes["route"]):
        link = str(ds["route_link"].values[r])
        if link in drawn:
            continue
        drawn.add(link)
        a = pos[dc_node[str(ds["route_origin"].values[r])]]
        z = pos[dc_node[str(ds["route_destination"].values[r])]]
        ax.annotate(
            "",
            z,
            a,
            arrowprops={
                "arrowstyle": "<->",
                "ls": ":",
                "color": "tab:purple",
                "connectionstyle": "arc3,rad=0.25",
            },
            zorder=2,
        )
    for i, node in enumerate(ds["node"].values.tolist()):
        x, y = pos[node]
        slack = bool(ds["node_slack"].values[i])
        ax.scatter(
            [x],
            [y],
            s=260,
            marker="s" if slack else "o",
            color="black" if slack else "tab:blue",
            zorder=4,
        )
        text = "\n".join([f"{node}{' (slack)' if slack else ''}", *_assets_at(ds, node)])
        ax.annotate(text, (x, y), xytext=(8, 8), textcoords="offset points", fontsize=8, zorder=5)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(0, 1))
    fig.colorbar(
        sm, ax=ax, label="loading exceeded 5 % of the time, |flow| / limit (–)", shrink=0.7
    )
    ax.set_title(
        f"{ds.attrs.get('case_name', '')} ({ds.attrs.get('mode', '')}): dashed = transport link, "
        "dotted arrows = data links"
    )
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.2)
    if np.isfinite(ds["node_x_km"].values).all():
        ax.set_xlabel("east (km)")
        ax.set_ylabel("north (km)")
    else:
        ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_prices(ds: xr.Dataset, path: Path) -> Path:
    """Nodal price duration curves of every node, and the congestion rent of every branch
    (:mod:`wattbit.network.prices`, L1 and L4)."""
    dt = float(ds.attrs["dt_h"])
    alpha_dt = float(ds.attrs["annual_factor"]) * dt
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5), width_ratios=(1.6, 1))
    hours = np.arange(1, ds.sizes["time"] + 1) * dt
    price = ds["node_price_jpy_per_mwh"] / 1000.0
    for node in ds["node"].values.tolist():
        left.plot(hours, np.sort(price.sel(node=node).values)[::-1], lw=1.2, label=node)
    left.set_xlabel("hours of the horizon, dearest first (h)")
    left.set_ylabel("nodal price (thousand JPY/MWh)")
    left.set_title("nodal price duration")
    left.legend(fontsize=7, ncols=2, loc="upper right")
    left.grid(alpha=0.3)
    shadow = ds["branch_shadow_price_jpy_per_mwh"]
    rent = alpha_dt * (shadow * ds["branch_flow_mw"]).sum("time").values / 1e6
    hours_congested = (abs(shadow) > CONGESTED_TOL).sum("time").values * dt
    branches = ds["branch"].values.tolist()
    bars = right.barh(branches, rent, color="tab:red")
    right.bar_label(bars, labels=[f"{h:,.0f} h" for h in hours_congested], fontsize=7, padding=2)
    right.set_xlabel("congestion rent (million JPY/yr)")
    right.set_ylabel("branch (labels: congested hours)")
    right.set_title("congestion rent by branch")
    right.grid(alpha=0.3, axis="x")
    fig.suptitle(f"{ds.attrs.get('case_name', '')}: prices ({ds.attrs.get('mode', '')})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
