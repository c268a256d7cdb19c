"""The two breakeven questions of `wattbit compare`, each recovered from its closed form.

The hand case (:func:`test_type2.hand_case`): a 10 MW (IT, PUE 1) DC over 48 h whose fixed
pattern is 6 MW at 18–20 h and 20 MW otherwise; half the IT work may wait 3 h within 15 MW of IT
capacity at c_b = 10 000 JPY/MWh/h; lost compute v = 300 000 JPY/MWh; energy is free.
α = 8760/48; per MW or MWh the battery costs CRF·1000·k_P and CRF·1000·c a year.

* Load-following defers 4 MW for 3 h a day: backlog 4, 8, 12, 7, 2 MWh, 33 MWh·h a day, so
  cost_LF = α·c_b·66.
* Battery-shaped covers the 4 MW gap for 3 h (12/η_d MWh) or sheds it, all or nothing:
  size zero at c_BS = (α·v·24/(CRF·1000) − 4·k_P)·η_d/12, and it beats load-following only while
  CRF·1000·(4·k_P + 12·c/η_d) < α·c_b·66: c_vs = (α·c_b·66/(CRF·1000) − 4·k_P)·η_d/12.
* Both: a first MWh discharged at 18 h serves deferred work one hour sooner and shortens the
  backlog of the five hours 18–22 by 1 MWh (at 19 h four, at 20 h three), so the first battery
  pays at 18 h only while CRF·1000·(k_P + c/η_d) < α·c_b·2·5:
  c_both = (10·α·c_b/(CRF·1000) − k_P)·η_d (the other hour sets give less, since
  α·c_b/(CRF·1000) > k_P).
"""

from __future__ import annotations

import json

import pytest
from test_type2 import ALPHA, CRF, ETA_D, POWER_CAPEX, cell, hand_case
from typer.testing import CliRunner

from wattbit.cli import app
from wattbit.studies.breakeven import PriceSolves, bisect_price, size_zero, vs_load_following

VOLC = 300_000.0
WAIT = 10_000.0
DC = {
    "deferrable_share": 0.5,
    "max_delay_h": 3.0,
    "it_capacity_mw": 15.0,
    "deferral_cost_jpy_per_mwh_h": WAIT,
    "value_of_lost_compute_jpy_per_mwh": VOLC,
}
A = CRF * 1000.0
C_VS = (ALPHA * WAIT * 66 / A - 4 * POWER_CAPEX) * ETA_D / 12
C_BS = (ALPHA * VOLC * 24 / A - 4 * POWER_CAPEX) * ETA_D / 12
C_BOTH = (10 * ALPHA * WAIT / A - POWER_CAPEX) * ETA_D


def test_bisection_finds_a_step():
    calls = []

    def step(c: float) -> float:
        calls.append(c)
        return 1.0 if c < 1234.5 else -1.0

    estimate, half, _, ends = bisect_price(step, 1000.0, 1e-6)
    assert abs(estimate - 1234.5) <= half <= 1e-6 * 1234.5 * 2
    assert calls[:2] == [1000.0, 2000.0]  # from the start outward; positive there, so at 0 too
    assert 0.0 not in calls
    assert [sign for _, sign in ends] == [True, False]
    assert ends[0][0] < 1234.5 <= ends[1][0]
    assert bisect_price(lambda c: -1.0, 1000.0, 1e-3)[0] is None


def test_the_three_breakevens_by_hand(tmp_path):
    path = hand_case(tmp_path, **DC)
    baseline = cell(path, "load_following", "type2_fixed")
    assert baseline.kpis["total_cost_jpy"] == pytest.approx(ALPHA * WAIT * 66, rel=1e-9)
    solves = PriceSolves(path)
    vs = vs_load_following(solves, "type2_fixed", tolerance=1e-5)
    bs = size_zero(solves, "battery_shaped", "type2_fixed", tolerance=1e-5)
    both = size_zero(solves, "both", "type2_fixed", tolerance=1e-5)
    assert vs.cost_jpy_per_kwh == pytest.approx(C_VS, rel=1e-4)
    assert bs.cost_jpy_per_kwh == pytest.approx(C_BS, rel=1e-4)
    assert both.cost_jpy_per_kwh == pytest.approx(C_BOTH, rel=1e-4)
    assert C_VS < C_BOTH < C_BS  # three different answers to three questions
    for b in (vs, bs, both):
        assert b.tolerance_jpy_per_kwh <= 1e-5 * b.cost_jpy_per_kwh
    price = "battery.energy_capex_jpy_per_kwh"
    below = cell(path, "both", "type2_fixed", **{price: 0.99 * C_BOTH})
    above = cell(path, "both", "type2_fixed", **{price: 1.01 * C_BOTH})
    assert below.kpis["battery_energy_mwh"] > 1e-3
    assert above.kpis["battery_energy_mwh"] == pytest.approx(0.0, abs=1e-6)


def test_compare_names_both_breakevens(tmp_path):
    """The verdict and compare.json say which question each breakeven answers."""
    path = hand_case(tmp_path, **DC)
    out = tmp_path / "out"
    args = ["compare", str(path), "--modes", "type2_fixed", "--breakeven-tol", "1e-3"]
    result = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = json.loads((out / "compare.json").read_text())["breakevens"]
    found = {(r["question"], r["strategy"]): r for r in records}
    assert set(found) == {
        ("vs_load_following", "battery_shaped"),
        ("size_zero", "battery_shaped"),
        ("size_zero", "both"),
    }
    for (question, strategy), expected in (
        (("vs_load_following", "battery_shaped"), C_VS),
        (("size_zero", "battery_shaped"), C_BS),
        (("size_zero", "both"), C_BOTH),
    ):
        record = found[(question, strategy)]
        assert record["battery_energy_cost_jpy_per_kwh"] == pytest.approx(expected, rel=2e-3)
        assert record["mode"] == "type2_fixed" and record["meaning"]
    verdict = (out / "verdict.txt").read_text()
    assert "battery_shaped vs load_following under type2_fixed" in verdict
    assert "optimal both battery = 0 under type2_fixed" in verdict
    assert (out / "breakeven.png").stat().st_size > 10_000
