"""Figures a client can read: the rules of ``figure_rules`` hold for the dispatch plot of a solve
and the two plots of a network dispatch, checked on matplotlib's objects as each PNG is saved; and
the rules themselves catch what they must (a bare unit, a field name, an offset, no label)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
from figure_rules import figure_problems, saved_figures

import wattbit

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "cases" / "tokyo_substation_dc" / "case.toml"
TOWN = REPO / "cases" / "town" / "case.toml"


def test_the_dispatch_plot_is_labelled_with_units(tmp_path):
    result = wattbit.solve_case(EXAMPLE, {"horizon.steps": 48})
    with saved_figures() as seen:
        result.write(tmp_path)
    assert set(seen) == {"dispatch.png"}
    assert seen["dispatch.png"] == []


def test_the_network_plots_are_labelled_with_units(tmp_path):
    result = wattbit.solve_network(TOWN, {"horizon.steps": 24})
    with saved_figures() as seen:
        result.write(tmp_path)
    assert set(seen) == {"branch_loading.png", "schematic.png", "prices.png"}
    assert all(problems == [] for problems in seen.values()), seen


@pytest.mark.parametrize(
    ("label", "values", "broken"),
    [
        ("power (MW)", [0, 10, 20], None),
        ("MW", [0, 10, 20], "names no unit"),
        ("grid_import_mw (MW)", [0, 10, 20], "field name"),
        ("", [0, 10, 20], "no label"),
        ("cost (JPY/yr)", [4.0e9, 4.0e9 + 1, 4.0e9 + 2], "offset"),
    ],
)
def test_the_rules_catch_an_unreadable_axis(label, values, broken):
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], values)
    ax.set_ylabel(label)
    ax.set_xlabel("step (h)")
    problems = figure_problems(fig)
    plt.close(fig)
    if broken is None:
        assert problems == []
    else:
        assert any(broken in p for p in problems), problems
