"""Figures a client can read: the rules of ``figure_rules`` hold for the dispatch plot of a solve
and the two plots of a network dispatch, checked on matplotlib's objects as each PNG is saved; and
the rules themselves catch what they must (a bare unit, a field name, an offset, no label)."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from figure_rules import figure_problems, saved_figures
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

import wattbit
from wattbit.network.plots import TOP_BRANCHES, plot_branch_loading
from wattbit.network.run import branch_loading
from wattbit.sweep.plots import plot_sweep
from wattbit.sweep.run import plot_file

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


def test_the_most_loaded_week_shows_the_top_branches_only(tmp_path):
    """The week panel of branch_loading.png draws the TOP_BRANCHES branches of highest mean
    loading that week (the town has 8), each named in the legend."""
    ds = wattbit.solve_network(TOWN, {"horizon.steps": 48}).results
    figures = []
    original = Figure.savefig

    def keep(fig: Figure, fname: object, *args: object, **kwargs: object) -> object:
        figures.append(fig)
        return original(fig, fname, *args, **kwargs)

    with mock.patch.object(Figure, "savefig", keep):
        plot_branch_loading(ds, tmp_path / "branch_loading.png")
    week = figures[0].axes[1]
    names = [t.get_text() for t in week.get_legend().get_texts()]
    assert len(names) == TOP_BRANCHES < ds.sizes["branch"]
    mean = branch_loading(ds).fillna(0.0).mean("time").to_series()
    assert set(names) == set(mean.sort_values(ascending=False, kind="stable").index[:TOP_BRANCHES])
    assert f"the {TOP_BRANCHES} most loaded on average" in week.get_title()


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


@pytest.mark.parametrize(
    ("values", "cmap", "norm", "label", "broken"),
    [
        ([1.0, 5.0], "viridis", None, "energy (MWh)", None),
        ([1.0, 5.0], "RdBu", None, "energy (MWh)", "diverging map"),
        ([-2.0, 5.0], "viridis", None, "benefit (MJPY/yr)\n> 0: gain", "not diverging"),
        ([-2.0, 5.0], "RdBu", None, "benefit (MJPY/yr)\n> 0: gain", "not centred"),
        ([-2.0, 5.0], "RdBu", TwoSlopeNorm(0.0, -2.0, 5.0), "benefit (MJPY/yr)", "sign means"),
        ([-2.0, 5.0], "RdBu", TwoSlopeNorm(0.0, -2.0, 5.0), "benefit (MJPY/yr)\n> 0: gain", None),
    ],
)
def test_the_rules_catch_a_misleading_colour_map(values, cmap, norm, label, broken):
    fig, ax = plt.subplots()
    mesh = ax.pcolormesh([[values[0], values[1]], [values[1], values[0]]], cmap=cmap, norm=norm)
    fig.colorbar(mesh, ax=ax, label=label)
    ax.set_xlabel("price (JPY/kWh)")
    ax.set_ylabel("share (–)")
    problems = figure_problems(fig)
    plt.close(fig)
    if broken is None:
        assert problems == []
    else:
        assert any(broken in p for p in problems), problems


@pytest.mark.parametrize(
    ("title", "broken"),
    [
        ("net benefit (MJPY/yr) — at battery energy price = 40 thousand JPY/kWh", False),
        ("tokyo_substation_dc: dispatch", False),  # a case's name is no field name
        ("net_benefit_jpy_per_year", True),
        ("at battery.energy_capex_jpy_per_kwh = 40000", True),
    ],
)
def test_the_rules_catch_a_field_name_in_a_title(title, broken):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set(xlabel="step (h)", ylabel="power (MW)", title=title)
    problems = figure_problems(fig)
    plt.close(fig)
    assert any("field name" in p for p in problems) == broken, problems


def _price_sweep() -> xr.Dataset:
    """A hand-made 3 × 2 sweep: net benefit in JPY/yr that changes sign, in the 1e9 range."""
    price, share = "battery.energy_capex_jpy_per_kwh", "dc.deferrable_share"
    benefit = np.array([[2.0e9, 0.5e9, -1.0e9], [1.0e9, -0.2e9, -2.0e9]])
    size = np.array([[12.0, 4.0, 0.0], [6.0, 0.0, 0.0]])
    return xr.Dataset(
        {
            "net_benefit_jpy_per_year": ((share, price), benefit, {"units": "JPY/yr"}),
            "battery_energy_mwh": ((share, price), size, {"units": "MWh"}),
        },
        coords={price: [20e3, 60e3, 100e3], share: [0.0, 0.25]},
        attrs={"baseline": "battery.energy_mwh=0"},
    )


def test_the_sweep_plot_is_labelled_scaled_and_diverging_around_zero(tmp_path):
    """The heatmap: human axis labels with units, benefit in GJPY/yr, a diverging map centred
    on zero whose colour bar says what the sign means, and the two labelled contours; the line
    at a fixed share names it in the title and the file name."""
    ds = _price_sweep()
    heat = plot_sweep(
        ds,
        x="battery.energy_capex_jpy_per_kwh",
        y="dc.deferrable_share",
        z="net_benefit_jpy_per_year",
    )
    ax, bar = heat.axes
    assert figure_problems(heat) == []
    assert ax.get_xlabel() == "battery energy price (thousand JPY/kWh)"
    assert ax.get_ylabel() == "DC deferrable share of work (–)"
    assert bar.get_ylabel().startswith("net benefit (MJPY/yr)\nblue > 0: better than")
    mesh = ax.collections[0]
    assert mesh.get_cmap().name == "RdBu" and mesh.norm.vcenter == 0.0
    assert float(mesh.get_array().max()) == 2000.0  # 2e9 JPY/yr shown as 2,000 MJPY/yr
    texts = [t.get_text() for t in ax.texts]
    assert "breakeven" in texts and "battery energy = 0" in texts
    plt.close(heat)

    sweep_nc = tmp_path / "sweep.nc"
    ds.to_netcdf(sweep_nc, engine="h5netcdf")
    with saved_figures() as seen:
        target = plot_file(
            sweep_nc,
            "battery.energy_capex_jpy_per_kwh",
            "battery_energy_mwh",
            fixed={"dc.deferrable_share": 0.25},
        )
    assert target.name == "battery_energy_mwh_dc.deferrable_share=0.25.png"
    assert seen == {target.name: []}


def test_a_quantity_of_one_sign_gets_a_sequential_map():
    heat = plot_sweep(
        _price_sweep(),
        x="battery.energy_capex_jpy_per_kwh",
        y="dc.deferrable_share",
        z="battery_energy_mwh",
    )
    assert heat.axes[0].collections[0].get_cmap().name == "viridis"
    assert figure_problems(heat) == []
    plt.close(heat)


def test_the_headroom_and_comparison_plots_are_labelled_with_units(tmp_path):
    """headroom.png (dates in the case's time zone, power in MW, hour of day in h) and the
    comparison's benefit.png (a labelled cell axis), on a two-day cut of the measured data."""
    case = REPO / "cases" / "type2_battery_wins" / "case.toml"
    short = {"horizon.steps": 48}
    with saved_figures() as seen:
        wattbit.headroom_study(case, short).write(tmp_path / "headroom")
        wattbit.compare(
            case, short, strategies=["load_following", "battery_shaped"], breakeven_modes=()
        ).write(tmp_path / "compare")
    assert {"headroom.png", "benefit.png"} <= set(seen)
    assert all(problems == [] for problems in seen.values()), seen


def test_the_survival_plot_is_titled_with_k_horizon_and_protected_share(tmp_path):
    """A two-day cut of the type ③ reference case at K = 2: survival.png passes the rules and
    its title says K, the horizon and the protected share the case sets."""
    case = REPO / "cases" / "type3_substation" / "case.toml"
    cut = {
        "horizon.start": "2025-09-30T12:00:00+09:00",
        "horizon.steps": 48,
        "type3.scenarios": 2,
        "type3.out_of_sample_years": 0,
    }
    study = wattbit.ridethrough(case, cut)
    titles = {}
    with saved_figures() as seen:
        checked = Figure.savefig  # saved_figures' own check, kept under the title reader

        def keep_title(fig: Figure, fname: object, *args: object, **kwargs: object) -> object:
            titles[Path(str(fname)).name] = fig.axes[0].get_title()
            return checked(fig, fname, *args, **kwargs)

        with mock.patch.object(Figure, "savefig", keep_title):
            study.plot(tmp_path / "survival.png")
    assert seen == {"survival.png": []}
    share = wattbit.load_case(case, cut).case.shutdown.protected_share
    assert titles["survival.png"].endswith(
        f"K = 2 scenarios, 48 h horizon, protected share {share:.0%}"
    )
