"""Plots of the studies (PNG, matplotlib's Agg backend): the type ② headroom and comparison, the
type ③ outage survival."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from wattbit.studies.breakeven import Breakeven
    from wattbit.studies.sensitivity import Sensitivity
    from wattbit.studies.survival import Survival


def plot_headroom(
    h: pd.Series, pattern: pd.Series, by_hour: pd.DataFrame, path: Path, name: str
) -> Path:
    """Headroom H(t) and the fixed pattern over the series; H by hour of day against the pattern."""
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 7))
    ax1.plot(h.index, h.to_numpy(), lw=0.4, color="black", label="headroom H(t)")
    ax1.plot(pattern.index, pattern.to_numpy(), lw=0.6, color="tab:red", label="fixed pattern")
    ax1.set_ylabel("power (MW)")
    if h.index.tz is not None:  # dates in the case's own time zone, not matplotlib's UTC
        ax1.xaxis_date(h.index.tz)
    ax1.set_xlabel(f"date ({h.index.tz or 'local'})")
    ax1.legend(fontsize=8, loc="upper right")
    ax1.set_title(f"{name}: headroom and the fixed operating pattern")
    groups = [h[h.index.hour == hour].to_numpy() for hour in range(24)]
    ax2.boxplot(groups, positions=range(24), widths=0.6, showfliers=False)
    ax2.step(
        range(24),
        by_hour["pattern_mw"].to_numpy(),
        where="mid",
        color="tab:red",
        label="pattern (per-hour minimum)",
    )
    ax2.set_xlabel("hour of day (h)")
    ax2.set_ylabel("headroom H by hour (MW)")
    ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_benefit_by_term(benefit: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Stacked bars: net benefit of each cell vs the baseline, split by cost term (+ = saving)."""
    terms = [c for c in benefit.columns if c.startswith("cost_")]
    labels = [f"{s}\n{m}" for s, m in zip(benefit["strategy"], benefit["mode"], strict=True)]
    fig, ax = plt.subplots(figsize=(max(7, 1.1 * len(labels) + 3), 5))
    x = np.arange(len(labels))
    pos = np.zeros(len(labels))
    neg = np.zeros(len(labels))
    colors = plt.get_cmap("tab10")
    for i, term in enumerate(terms):
        values = benefit[term].to_numpy() / 1e6
        if not np.any(np.abs(values) > 1e-9):
            continue
        bottom = np.where(values >= 0, pos, neg)
        name = term.removeprefix("cost_").removesuffix("_jpy").replace("_", " ")
        ax.bar(x, values, bottom=bottom, color=colors(i % 10), label=name, width=0.6)
        pos += np.maximum(values, 0)
        neg += np.minimum(values, 0)
    ax.plot(x, benefit["net_benefit_jpy"] / 1e6, "k_", markersize=24, mew=2, label="net benefit")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_xlabel("strategy / headroom rule (cell of the comparison)")
    ax.set_ylabel("benefit vs load-following under the fixed pattern (MJPY/yr)")
    ax.set_title(title or "Net benefit by cost term")
    ax.legend(fontsize=8, loc="best")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_breakevens(breakevens: Sequence[Breakeven], path: Path) -> Path:
    """The two breakeven questions against the battery energy price: above, the net benefit of
    battery-shaped use over load-following; below, the optimal battery energy of each strategy,
    at every price solved for it (``Breakeven.curve``). A dashed line marks each breakeven found."""
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    for b in breakevens:
        if not b.curve:
            continue
        ax = ax1 if b.question == "vs_load_following" else ax2
        price, value = (np.array(v) for v in zip(*b.curve, strict=True))
        scale = 1e6 if ax is ax1 else 1.0
        (line,) = ax.plot(price / 1000, value / scale, "o-", ms=3, label=b.label)
        if b.cost_jpy_per_kwh is not None:
            x = b.cost_jpy_per_kwh / 1000
            ax.axvline(x, ls="--", lw=0.8, color=line.get_color())
            ax.annotate(
                f"{b.cost_jpy_per_kwh:,.0f} JPY/kWh",
                (x, 0),
                fontsize=8,
                xytext=(4, 6),
                textcoords="offset points",
            )
    ax1.axhline(0, color="black", lw=0.8)
    ax1.set_ylabel("battery-shaped − load-following\nnet benefit (MJPY/yr)")
    ax1.set_title("Breakeven battery energy price: two questions")
    ax2.set_ylabel("optimal battery energy (MWh)")
    ax2.set_xlabel("battery energy price (thousand JPY/kWh), power price held")
    for ax in (ax1, ax2):
        if ax.get_lines():
            ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_tornado(result: Sensitivity, path: Path) -> Path:
    """Net benefit at the low and high end of each parameter's range around the base answer,
    the widest swing on top."""
    table = result.table().iloc[::-1]
    base = result.base_net_benefit_jpy / 1e6
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.8 * max(len(table), 1)))
    for i, row in enumerate(table.itertuples()):
        for value, factor, color in (
            (row.net_benefit_low_jpy, row.low_factor, "tab:blue"),
            (row.net_benefit_high_jpy, row.high_factor, "tab:orange"),
        ):
            ax.barh(i, value / 1e6 - base, left=base, color=color, height=0.6)
            ax.annotate(
                f"×{factor:g}",
                (value / 1e6, i),
                fontsize=8,
                xytext=(3, -3),
                textcoords="offset points",
            )
    ax.axvline(base, color="black", lw=0.8)
    ax.set_yticks(range(len(table)), list(table["meaning"]))
    ax.set_xlabel(
        f"net benefit of {result.strategy} over load_following under {result.mode} (MJPY/yr)"
    )
    ax.set_title("Sensitivity (blue: low end, orange: high end)")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_survival(result: Survival, path: Path, title: str) -> Path:
    """P(survive ≥ d) over the outage duration d from every start, from normal operation and
    from inside maintenance, and P(full service ≥ d); mean unserved IT energy."""
    curve = result.curve
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    lines = (
        ("survival_probability", "-", "protected load kept, every start"),
        ("survival_probability_normal", "--", "… from normal operation"),
        ("survival_probability_maintenance", "-.", "… from inside maintenance"),
        ("full_service_probability", ":", "whole load served (here or migrated)"),
    )
    for column, style, label in lines:
        if column in curve and curve[column].notna().any():
            ax1.step(curve["duration_h"], curve[column], where="post", ls=style, label=label)
    ax1.legend(fontsize=8)
    ax1.set_ylim(-0.02, 1.02)
    ax1.set_ylabel("P(survive ≥ d) (–)")
    ax1.set_title(title)
    ax2.plot(curve["duration_h"], curve["expected_unserved_it_mwh"], color="tab:red")
    ax2.set_ylabel("mean unserved IT energy (MWh)")
    ax2.set_xlabel("outage duration d (h)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
