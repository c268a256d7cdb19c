"""`compare --sensitivity`: the tornado of the battery-shaped answer, by hand.

Hand case (:func:`test_type2.hand_case`): load-following sheds the 24 MWh gap at v, α·v·24 a year;
battery-shaped covers it with 4 MW and 12/η_d MWh, CRF·1000·(4·k_P + 12·c/η_d) a year, while
c < c*(v) = (α·v·24/(CRF·1000) − 4·k_P)·η_d/12, and sheds like load-following above. Energy is
free, so its price level changes nothing.
"""

from __future__ import annotations

import pandas as pd
import pytest
from test_type2 import ALPHA, CRF, ETA_D, POWER_CAPEX, VOLC, hand_case
from typer.testing import CliRunner

from wattbit.cli import app
from wattbit.studies.sensitivity import sensitivity

PRICE = 20_000.0  # the hand case's battery energy price, JPY/kWh


def benefit(v: float, c: float) -> float:
    shed = ALPHA * v * 24
    battery = CRF * 1000 * (4 * POWER_CAPEX + 12 * c / ETA_D)
    return max(shed - battery, 0.0)


def test_tornado_by_hand(tmp_path):
    result = sensitivity(
        hand_case(tmp_path),
        ranges={"lost_compute": (0.5, 1.5), "battery_price": (0.5, 1.5), "energy_price": (0, 2)},
    )
    assert result.base_net_benefit_jpy == pytest.approx(benefit(VOLC, PRICE), rel=1e-9)
    table = result.table().set_index("parameter")
    expected = {
        "lost_compute": (benefit(0.5 * VOLC, PRICE), benefit(1.5 * VOLC, PRICE)),
        "battery_price": (benefit(VOLC, 0.5 * PRICE), benefit(VOLC, 1.5 * PRICE)),
        "energy_price": (benefit(VOLC, PRICE), benefit(VOLC, PRICE)),
    }
    for name, (low, high) in expected.items():
        assert table.loc[name, "net_benefit_low_jpy"] == pytest.approx(low, rel=1e-9, abs=1e-3)
        assert table.loc[name, "net_benefit_high_jpy"] == pytest.approx(high, rel=1e-9, abs=1e-3)
    assert benefit(0.5 * VOLC, PRICE) == 0.0  # at half the value the battery is not built
    assert table.loc["lost_compute", "battery_energy_low_mwh"] == pytest.approx(0.0, abs=1e-6)
    assert table.index[0] == "lost_compute"  # the widest swing first


def test_compare_sensitivity_writes_table_and_png(tmp_path):
    out = tmp_path / "out"
    args = ["compare", str(hand_case(tmp_path)), "--modes", "type2_fixed", "--breakeven-modes", ""]
    flags = ["--sensitivity", "--range-lost-compute", "0.5,2", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, *flags])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sensitivity.csv").set_index("parameter")
    assert table.loc["lost_compute", "high_factor"] == 2.0
    assert table.loc["lost_compute", "net_benefit_high_jpy"] == pytest.approx(
        benefit(2 * VOLC, PRICE), rel=1e-9
    )
    assert (out / "tornado.png").stat().st_size > 10_000
    assert "Sensitivity of the net benefit" in (out / "verdict.txt").read_text()
    bad = CliRunner().invoke(app, [*args, "--sensitivity", "--range-battery-price", "2,1"])
    assert bad.exit_code == 2 and "--range-battery-price" in bad.stderr
