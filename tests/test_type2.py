"""Type ② headroom: fixed pattern vs dynamic use, load-following vs battery-shaped, breakeven.

The hand case: a 10 MW (IT, PUE 1) DC over 48 h whose headroom is 20 MW except hours 18–20, when
it is 6 MW on day 1 and 8 MW on day 2. The fixed pattern (per-hour minimum) is 20 MW except 6 MW
at 18–20. α = 8760 / 48 = 182.5.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import hourly_index, solve_verified, to_toml, write_series
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from wattbit.case import load_case
from wattbit.cli import app
from wattbit.formulations.common import capital_recovery_factor
from wattbit.headroom import operating_pattern
from wattbit.inputs import build_inputs
from wattbit.strategies import solve
from wattbit.studies.breakeven import PriceSolves, vs_load_following
from wattbit.studies.compare import apply_strategy, compare

ALPHA = 8760 / 48
VOLC = 10_000.0
POWER_CAPEX = 10_000.0  # JPY/kW
ETA_D = 0.9
CRF = capital_recovery_factor(0.05, 15)


def hand_case(tmp_path, **dc):
    index = hourly_index(48)
    evening = (index.hour >= 18) & (index.hour < 21)
    h = np.where(evening, np.where(index.day == 1, 6.0, 8.0), 20.0)
    write_series(tmp_path / "series.csv", index, h=h)
    case = {
        "name": "hand",
        "series": ["series.csv"],
        "dc": {"it_mw": 10.0, "value_of_lost_compute_jpy_per_mwh": VOLC, **dc},
        "grid": {"import_limit_mw": "h", "energy_price_jpy_per_mwh": 0.0, "mode": "type2_fixed"},
        "battery": {
            "power_mw": {"max": 50.0},
            "energy_mwh": {"max": 500.0},
            "charge_efficiency": 0.95,
            "discharge_efficiency": ETA_D,
            "power_capex_jpy_per_kw": POWER_CAPEX,
            "energy_capex_jpy_per_kwh": 20_000.0,
        },
    }
    path = tmp_path / "case.toml"
    path.write_text(to_toml(case))
    return path


def cell(path, strategy, mode, **overrides):
    loaded = load_case(path, {"grid.mode": mode, **overrides})
    run = solve(apply_strategy(build_inputs(loaded), strategy, loaded.file), _options())
    assert run.ok and run.verification.ok, run.verification.violations
    return run


def _options():
    from wattbit.solve import SolverOptions

    return SolverOptions()


def test_pattern_is_per_hour_minimum_with_margin_and_quantile(tmp_path):
    path = hand_case(tmp_path)
    pattern = operating_pattern(load_case(path)).to_numpy()
    evening = np.r_[18:21, 42:45]
    assert pattern[evening] == pytest.approx(6.0)
    assert np.delete(pattern, evening) == pytest.approx(20.0)
    margin = operating_pattern(load_case(path, {"grid.pattern.margin_mw": 1.0})).to_numpy()
    assert margin[evening] == pytest.approx(5.0)
    share = operating_pattern(load_case(path, {"grid.pattern.margin_fraction": 0.5})).to_numpy()
    assert share[evening] == pytest.approx(3.0)
    median = operating_pattern(load_case(path, {"grid.pattern.quantile": 0.5})).to_numpy()
    assert median[evening] == pytest.approx(7.0)  # the median of 6 and 8
    monthly = operating_pattern(load_case(path, {"grid.pattern.period": "month"})).to_numpy()
    assert monthly == pytest.approx(pattern)


def test_load_following_sheds_the_gap(tmp_path):
    """No battery, nothing deferrable: under the pattern 4 MW × 3 h × 2 days = 24 MWh is shed;
    under the true headroom 4·3 + 2·3 = 18 MWh."""
    path = hand_case(tmp_path)
    fixed = cell(path, "load_following", "type2_fixed")
    assert fixed.kpis["dc_it_unserved_mwh"] == pytest.approx(24.0, abs=1e-6)
    assert fixed.kpis["total_cost_jpy"] == pytest.approx(ALPHA * VOLC * 24.0, rel=1e-9)
    dynamic = cell(path, "load_following", "type2_dynamic")
    assert dynamic.kpis["dc_it_unserved_mwh"] == pytest.approx(18.0, abs=1e-6)


def test_battery_shaped_covers_the_gap(tmp_path):
    """The battery needs 4 MW and 4·3/η_d MWh; nothing is shed; cost = capex."""
    path = hand_case(tmp_path)
    run = cell(path, "battery_shaped", "type2_fixed")
    assert run.kpis["battery_power_mw"] == pytest.approx(4.0, abs=1e-6)
    assert run.kpis["battery_energy_mwh"] == pytest.approx(12.0 / ETA_D, abs=1e-6)
    assert run.kpis["dc_it_unserved_mwh"] == pytest.approx(0.0, abs=1e-6)
    capex = CRF * 1000 * (POWER_CAPEX * 4.0 + 20_000.0 * 12.0 / ETA_D)
    assert run.kpis["total_cost_jpy"] == pytest.approx(capex, rel=1e-9)


def test_breakeven_battery_cost_by_hand(tmp_path):
    """Sizes are all-or-nothing here (shed and battery cost both scale with the gap covered), so
    battery-shaped stops paying when CRF·1000·(k_P·4 + c·12/η_d) = α·v·24:
    c* = (α·v·24 / (CRF·1000) − 4·k_P) · η_d / 12."""
    path = hand_case(tmp_path)
    expected = (ALPHA * VOLC * 24 / (CRF * 1000) - 4 * POWER_CAPEX) * ETA_D / 12
    result = vs_load_following(PriceSolves(path), "type2_fixed", tolerance=1e-5)
    assert result.cost_jpy_per_kwh == pytest.approx(expected, rel=1e-4)
    assert result.tolerance_jpy_per_kwh <= 1e-4 * expected
    below = cell(
        path,
        "battery_shaped",
        "type2_fixed",
        **{"battery.energy_capex_jpy_per_kwh": 0.99 * expected},
    )
    above = cell(
        path,
        "battery_shaped",
        "type2_fixed",
        **{"battery.energy_capex_jpy_per_kwh": 1.01 * expected},
    )
    assert below.kpis["battery_energy_mwh"] == pytest.approx(12.0 / ETA_D, abs=1e-6)
    assert above.kpis["battery_energy_mwh"] == pytest.approx(0.0, abs=1e-6)


def test_deferral_moves_work_within_the_delay(tmp_path):
    """Half the load may wait 3 h; IT capacity 15 MW. Under the pattern only 1 MW of the 5 MW
    deferrable arrivals fits at 18–20, so the backlog is 4, 8, 12 MWh, then 7 and 2 as 10 MW of
    room clears it: 33 MWh·h a day, nothing shed. With a 2 h limit the backlog may hold only the
    last two hours' arrivals (10 MWh), so 2 MWh a day is dropped."""
    path = hand_case(
        tmp_path,
        deferrable_share=0.5,
        max_delay_h=3.0,
        it_capacity_mw=15.0,
        deferral_cost_jpy_per_mwh_h=100.0,
    )
    run = cell(path, "load_following", "type2_fixed")
    assert run.kpis["dc_it_unserved_mwh"] == pytest.approx(0.0, abs=1e-6)
    assert run.kpis["cost_shift_deferral_jpy"] == pytest.approx(ALPHA * 100.0 * 66.0, rel=1e-9)
    assert run.results["shift_backlog_mwh"].values[18:23] == pytest.approx(
        [4, 8, 12, 7, 2], abs=1e-6
    )
    short = cell(path, "load_following", "type2_fixed", **{"dc.max_delay_h": 2.0})
    assert short.kpis["dc_it_unserved_mwh"] == pytest.approx(4.0, abs=1e-6)


SERIES = np.genfromtxt(
    __import__("conftest").REPO / "cases" / "tokyo_substation_dc" / "series.csv",
    delimiter=",",
    names=True,
    dtype=None,
    encoding="utf-8",
)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@example(start=7919, power=5.960464477539063e-08, hours=2.0)  # recourse empties it on day 1
@given(
    start=st.integers(0, len(SERIES) - 100),
    power=st.floats(0.0, 10.0),
    hours=st.floats(0.5, 6.0),
)
def test_mode_ordering_with_identical_assets(tmp_path, start, power, hours):
    """With the same (fixed) battery: dynamic ≤ fixed ≤ firm at the pattern's lowest hour, and the
    realised forecast operation ≥ perfect foresight. Real base flows from the example case."""
    part = SERIES[start : start + 72]
    index = hourly_index(72, start="2025-06-01")
    write_series(
        tmp_path / "series.csv",
        index,
        base=part["base_flow_mw"],
        price=part["spot_price_jpy_per_kwh"] * 1000 + 8000,
    )
    case = {
        "name": "ordering",
        "series": ["series.csv"],
        "dc": {"it_mw": 25.0, "pue": 1.2, "value_of_lost_compute_jpy_per_mwh": 300_000.0},
        "grid": {
            "limit_mw": 60.0,
            "base_flow_mw": "base",
            "energy_price_jpy_per_mwh": "price",
            "forecast": {"method": "noisy", "error_std_fraction": 0.2, "seed": 3},
        },
        "battery": {"power_mw": power, "energy_mwh": power * hours},
    }
    path = tmp_path / "case.toml"
    path.write_text(to_toml(case))
    cost = {}
    for mode in ("type2_dynamic", "type2_fixed", "firm", "type2_forecast"):
        cost[mode] = solve_verified(path, **{"grid.mode": mode}).kpis["total_cost_jpy"]
    rel = 1e-7 * cost["firm"]
    assert cost["type2_dynamic"] <= cost["type2_fixed"] + rel
    assert cost["type2_fixed"] <= cost["firm"] + rel
    assert cost["type2_forecast"] >= cost["type2_dynamic"] - rel


def test_compare_end_to_end_on_the_example(tmp_path):
    """`wattbit compare` on a week of the example writes the table, verdict and three PNGs."""
    from conftest import EXAMPLE

    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "compare",
            str(EXAMPLE),
            "--set",
            "horizon.steps=168",
            "--set",
            "horizon.start=2026-01-12T00:00:00+09:00",
            "--set",
            "dc.deferrable_share=0.2",
            "--set",
            "dc.max_delay_h=4",
            "--breakeven-tol",
            "0.05",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    for name in (
        "compare.csv",
        "benefit_by_term.csv",
        "verdict.txt",
        "compare.json",
        "week.png",
        "benefit.png",
        "breakeven.png",
    ):
        assert (out / name).stat().st_size > 0, name
    verdict = (out / "verdict.txt").read_text()
    assert "Under the fixed pattern, battery-shaped use" in verdict
    assert "Breakeven" in verdict
    import pandas as pd

    table = pd.read_csv(out / "compare.csv")
    assert len(table) == 12
    baseline = table[(table.strategy == "load_following") & (table["mode"] == "type2_fixed")]
    assert float(baseline["net_benefit_jpy"].iloc[0]) == 0.0


def test_compare_result_matches_single_solves(tmp_path):
    path = hand_case(tmp_path)
    comparison = compare(path, modes=("type2_fixed", "type2_dynamic"), breakeven_modes=())
    assert comparison.cell("load_following", "type2_fixed").total == pytest.approx(
        ALPHA * VOLC * 24.0
    )
    benefit = comparison.benefit_by_term().set_index(["strategy", "mode"])
    row = benefit.loc[("battery_shaped", "type2_fixed")]
    assert row["cost_dc_lost_compute_jpy"] == pytest.approx(ALPHA * VOLC * 24.0)
    assert row["net_benefit_jpy"] == pytest.approx(
        row[[c for c in benefit.columns if c.startswith("cost_")]].sum()
    )


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["compare", "{case}", "--strategies", "battery_only"], "battery_only"),
        (["compare", "{case}", "--modes", "type9"], "type9"),
        (["compare", "{case}", "--set", "battery.power_mw=0"], "battery.power_mw"),
        (["solve", "{case}", "--set", 'grid.mode="type9"'], "grid.mode"),
        (["validate", "{case}", "--set", "grid.pattern.margin_mw=7"], "grid.pattern.margin_mw"),
    ],
)
def test_type2_bad_input(tmp_path, args, field):
    path = hand_case(tmp_path)
    result = CliRunner().invoke(app, [a.replace("{case}", str(path)) for a in args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], result.stderr


@pytest.mark.parametrize(("steps", "message"), [(47, "47 steps"), (49, "49 steps")])
def test_forecast_file_must_cover_the_horizon(tmp_path, steps, message):
    path = hand_case(tmp_path)
    write_series(tmp_path / "fc.csv", hourly_index(steps), fc=10.0)
    result = CliRunner().invoke(
        app,
        [
            "validate",
            str(path),
            "--set",
            'grid.mode="type2_forecast"',
            "--set",
            'grid.forecast.method="series"',
            "--set",
            'grid.forecast.file="fc.csv"',
            "--set",
            'grid.forecast.column="fc"',
        ],
    )
    assert result.exit_code == 2, result.output
    assert "fc.csv" in result.stderr and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("value", "size"), [(20e6, 20.0), (5e6, 8.0)])
def test_dc_size_as_a_decision(make_case, value, size):
    """How large a DC can connect: a flat profile, headroom 8 MW for 3 h a day and 20 MW
    otherwise, PUE 1, lost compute at 10 000 JPY/MWh. Each MW above 8 is shed 3 h a day,
    365·3·10 000 = 10.95 MJPY/yr: a size worth 20 MJPY/MW-yr grows to 20 MW (above 20 it would
    be shed all day, 87.6 MJPY), one worth 5 MJPY stops at 8 MW."""
    index = hourly_index(24)
    h = np.where((index.hour >= 18) & (index.hour < 21), 8.0, 20.0)
    case = {
        "dc": {
            "it_mw": 1.0,
            "size_mw": {"max": 30.0},
            "value_of_size_jpy_per_mw_year": value,
            "value_of_lost_compute_jpy_per_mwh": 10_000.0,
        },
        "grid": {"import_limit_mw": "h", "energy_price_jpy_per_mwh": 0.0},
    }
    run = solve_verified(make_case(case, index, h=h))
    assert run.kpis["dc_size_mw"] == pytest.approx(size, abs=1e-6)
    shed = 365 * 3 * 10_000.0 * (size - 8.0)
    assert run.kpis["total_cost_jpy"] == pytest.approx(shed - value * size, rel=1e-9)
