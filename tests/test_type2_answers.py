"""Type ② answers a battery developer can defend (issue #11): one meaning of the DC's IT capacity,
delays never longer than asked, `compare` without a battery, sizes without "-0.00".

Hand cases reuse :func:`test_type2.hand_case`: a 10 MW (IT, PUE 1) DC over 48 h whose fixed
pattern is 20 MW except 6 MW at 18–20 h.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from conftest import hourly_index, solve_verified
from figure_rules import figure_problems
from test_type2 import cell, hand_case
from typer.testing import CliRunner

from wattbit.cli import app
from wattbit.formulations.workload_shift import delay_steps
from wattbit.studies.cells import clean_size
from wattbit.sweep.plots import plot_sweep
from wattbit.verify import verify


def test_compare_load_following_alone_writes_its_table(tmp_path):
    """No strategy with a battery: the table still has battery sizes (0), nothing crashes."""
    path = hand_case(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "compare",
            str(path),
            "--strategies",
            "load_following",
            "--modes",
            "type2_fixed",
            "--breakeven-modes",
            "",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "compare.csv")
    assert table["battery_power_mw"].tolist() == [0.0]
    assert table["battery_energy_mwh"].tolist() == [0.0]
    # 24 MWh over 48 h, annualised like the costs (× 8760 / 48)
    assert table["dc_it_unserved_mwh_per_year"].tolist() == pytest.approx([24.0 * 182.5])


def test_sizes_never_print_negative_zero():
    assert f"{clean_size(-0.0):.2f}" == "0.00"
    assert f"{clean_size(-3e-12):.2f}" == "0.00"
    assert clean_size(4.5) == 4.5


@pytest.mark.parametrize("share", [0.2, 0.0])
def test_it_capacity_below_the_desired_load_is_bad_input(make_case, share):
    """The issue's 2-step case: 10 MW of IT load, IT capacity 5 MW. The capacity is the most the
    DC can draw, so the case is rejected (exit 2, one line) whether or not work is deferrable."""
    path = make_case(
        {
            "dc": {"it_mw": 10.0, "deferrable_share": share, "it_capacity_mw": 5.0},
            "grid": {"import_limit_mw": 20.0, "energy_price_jpy_per_mwh": 0.0},
        },
        hourly_index(2),
    )
    for command in ("validate", "solve"):
        result = CliRunner().invoke(app, [command, str(path)])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "dc.it_capacity_mw" in lines[0], result.stderr
        assert "10 MW" in lines[0]


def test_it_capacity_bounds_everything_served(make_case):
    """IT load 10, 10, 6, 6 MW, half deferrable by up to 2 h, capacity 10 MW, headroom 5 MW in
    the first two hours. 10 MWh waits; at steps 2 and 3 only 10 − 3 = 7 MW of room is left for
    it, 14 MWh for the 10 waiting + 6 arriving, so 2 MWh is lost. The model and the verifier
    (inflexible − shed + deferred served ≤ capacity) agree: the solve is verified."""
    path = make_case(
        {
            "dc": {
                "it_mw": "load",
                "deferrable_share": 0.5,
                "max_delay_h": 2.0,
                "it_capacity_mw": 10.0,
            },
            "grid": {"import_limit_mw": "h", "energy_price_jpy_per_mwh": 0.0},
        },
        hourly_index(4),
        load=[10.0, 10.0, 6.0, 6.0],
        h=[5.0, 5.0, 20.0, 20.0],
    )
    run = solve_verified(path)
    r = run.results
    served = r["dc_it_mw"] * 0.5 - r["dc_shed_it_mw"] + r["shift_served_it_mw"]
    assert served.values[2:] == pytest.approx([10.0, 10.0], abs=1e-6)
    assert run.kpis["dc_it_unserved_mwh"] == pytest.approx(2.0, abs=1e-6)


@pytest.mark.parametrize(("hours", "dt", "steps"), [(2.6, 1.0, 2), (3.5, 1.0, 3), (3.0, 0.1, 30)])
def test_delay_rounds_down(hours, dt, steps):
    assert delay_steps(hours, dt) == steps


def test_max_delay_never_exceeded_by_rounding(tmp_path):
    """2.6 h at hourly steps allows 2 steps of waiting (not 3): the same 4 MWh is dropped as with
    2 h (see test_type2.test_deferral_moves_work_within_the_delay)."""
    path = hand_case(tmp_path, deferrable_share=0.5, max_delay_h=2.6, it_capacity_mw=15.0)
    run = cell(path, "load_following", "type2_fixed")
    assert run.kpis["dc_it_unserved_mwh"] == pytest.approx(4.0, abs=1e-6)


def test_plot_marks_where_the_optimal_size_reaches_zero():
    """A sweep over the battery price (and lost-compute value): the optimal size is positive up
    to 30 000 JPY/kWh and 0 from 40 000 (at the lower value), from 50 000 at the higher one."""
    price = "battery.energy_capex_jpy_per_kwh"
    value = "dc.value_of_lost_compute_jpy_per_mwh"
    size = [[5.0, 4.0, 3.0, 0.0, 0.0], [6.0, 5.0, 4.0, 2.0, 0.0]]
    ds = xr.Dataset(
        {
            "battery_energy_mwh": ((value, price), size),
            "net_benefit_jpy_per_year": ((value, price), np.array(size) - 1.0),
        },
        coords={price: [10e3, 20e3, 30e3, 40e3, 50e3], value: [1e5, 2e5]},
    )
    line = plot_sweep(ds, x=price, z="net_benefit_jpy_per_year", sel={value: 1e5})
    spans = [p for p in line.axes[0].patches if "= 0" in p.get_label()]
    assert len(spans) == 1
    # the price axis in thousand JPY/kWh
    assert spans[0].get_x() == 30.0 and spans[0].get_width() == 10.0
    heat = plot_sweep(ds, x=price, y=value, z="net_benefit_jpy_per_year")
    assert "breakeven" in [t.get_text() for t in heat.axes[0].texts]
    legend = heat.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        "breakeven (value = 0)",
        "optimal battery energy = 0",
    ]
    assert figure_problems(line) == [] and figure_problems(heat) == []
    plain = plot_sweep(ds, x=price, y=value, z="net_benefit_jpy_per_year", size=None)
    assert plain.axes[0].get_legend() is None


def test_verifier_holds_served_it_within_capacity(make_case):
    """Tampering: 1 MW more deferred work served at a step where the 10 MW capacity binds is a
    W3 violation of 1 MW (and a site-balance one), not a silent pass."""
    path = make_case(
        {
            "dc": {"it_mw": "load", "deferrable_share": 0.5, "max_delay_h": 2.0},
            "grid": {"import_limit_mw": "h", "energy_price_jpy_per_mwh": 0.0},
        },
        hourly_index(4),
        load=[10.0, 10.0, 6.0, 6.0],
        h=[5.0, 5.0, 20.0, 20.0],
    )
    results = solve_verified(path).results.copy(deep=True)
    results["shift_served_it_mw"].values[2] += 1.0
    violations = verify(results).violations
    assert violations["W3 IT served ≤ IT capacity"] == pytest.approx(1.0)


def test_headroom_instability_is_also_given_per_year():
    """The pattern of the example's first 8 weeks on the rest of the measured year: the
    exceedance is printed over the test period and annualised (× 8760 h / test hours)."""
    from conftest import EXAMPLE

    result = CliRunner().invoke(app, ["headroom", str(EXAMPLE), "--reference-weeks", "8"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    found = re.search(
        r"remaining ([\d,]+) h: it exceeds the real headroom in ([\d,]+) h by ([\d,.]+) MWh .*"
        r"annualised ([\d,]+) h/yr and ([\d,.]+) MWh/yr",
        text,
    )
    assert found, text
    test_h, hours, energy, hours_yr, energy_yr = (float(g.replace(",", "")) for g in found.groups())
    assert hours > 0 and energy > 0
    assert hours_yr == pytest.approx(hours * 8760 / test_h, abs=0.5)
    assert energy_yr == pytest.approx(energy * 8760 / test_h, abs=0.05 + 1e-4 * energy_yr)
