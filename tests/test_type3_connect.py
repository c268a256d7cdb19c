"""Connection NPV terms on a two-year toy case solved by hand.

N = 2 years at r = 10 %: AF(1) = 1/1.1, AF(2) = 1/1.1 + 1/1.21. The DC earns a margin of
R = 10 MJPY a year and costs K_DC = 20 MJPY to build, spent when its connection arrives. A firm
connection arrives after 1 year for 4 MJPY and costs C_f = 2 MJPY a year to run; type ③ runs at
once for 1 MJPY at C_3 = 3 MJPY a year, of which the generator and UPS, S = 0.5 MJPY a year, stay
to be paid after a switch to firm (stranded).

* firm (wait): (AF(2) − AF(1)) (10 − 2) − 4/1.1 − 20/1.1
* type ③ now: AF(2) (10 − 3) − 1 − 20
* type ③ now, firm later: AF(1) (10 − 3) + (AF(2) − AF(1)) (10 − 2 − 0.5) − 1 − 4/1.1 − 20
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import hourly_index, to_toml, write_series

from wattbit.case import Connect, FirmTier
from wattbit.studies.connection import Economics, connection_choice, option_rows, sensitivity

AF1 = 1 / 1.1
AF2 = 1 / 1.1 + 1 / 1.21
CONNECT = Connect(
    margin_jpy_per_mwh=1.0,
    dc_capex_jpy=20e6,
    firm_tiers=[FirmTier(lead_time_months=12.0, cost_jpy=4e6)],
    type3_cost_jpy=1e6,
    sensitivity_lead_time_years=[1.0, 0.5],
    sensitivity_margin_factors=[1.0],
)
ECON = Economics(
    capacity_mw=100.0, margin_jpy_per_year=10e6, rate=0.1, years=2.0, dc_capex_jpy=20e6
)
COSTS = {"firm": 2e6, "type3": 3e6, "stranded": 0.5e6}
WAIT = (AF2 - AF1) * 8e6 - 4e6 / 1.1 - 20e6 / 1.1
NOW = AF2 * 7e6 - 1e6 - 20e6
LATER = AF1 * 7e6 + (AF2 - AF1) * 7.5e6 - 1e6 - 4e6 / 1.1 - 20e6


def test_npv_terms_by_hand():
    table = pd.DataFrame(option_rows(CONNECT, ECON, COSTS)).set_index("option")
    assert table.loc["firm (wait)", "npv_jpy"] == pytest.approx(WAIT, rel=1e-12)
    assert table.loc["type ③ now", "npv_jpy"] == pytest.approx(NOW, rel=1e-12)
    assert table.loc["type ③ now, firm later", "npv_jpy"] == pytest.approx(LATER, rel=1e-12)
    assert table.loc["firm (wait)", "lost_margin_while_waiting_jpy"] == pytest.approx(AF1 * 10e6)


def test_sensitivity_rows_repeat_the_table_at_each_lead_time():
    """At the case's 1-year lead time the row is the table's; at 0.5 years waiting costs half a
    year of margin: (AF(2) − AF(0.5)) 8 − (4 + 20)/1.1^0.5, and type ③ then firm switches then."""
    rows = sensitivity(CONNECT, ECON, COSTS).set_index("firm_lead_time_years")
    assert rows.loc[1.0, "best_option"] == "type ③ now"
    assert rows.loc[1.0, "type3_gain_over_waiting_jpy"] == pytest.approx(NOW - WAIT, rel=1e-12)
    af_half = (1 - 1.1**-0.5) / 0.1
    wait = (AF2 - af_half) * 8e6 - 24e6 * 1.1**-0.5
    later = af_half * 7e6 + (AF2 - af_half) * 7.5e6 - 1e6 - 4e6 * 1.1**-0.5 - 20e6
    assert rows.loc[0.5, "type3_gain_over_waiting_jpy"] == pytest.approx(
        max(NOW, later) - wait, rel=1e-12
    )


def test_resized_type2_row_by_hand():
    """A type ② DC re-sized to f = 0.4 of its size earns 0.4 R, builds 0.4 K_DC, and runs at
    its own annual cost (1 MJPY) from year 0: NPV = AF(2) (0.4 · 10 − 1) − 1 − 0.4 · 20 MJPY."""
    connect = CONNECT.model_copy(update={"type2_cost_jpy": 1e6})
    costs = {**COSTS, "type2_dynamic": 50e6, "type2_dynamic_resized": 1e6}
    rows = option_rows(connect, ECON, costs, resized={"type2_dynamic": 0.4})
    table = pd.DataFrame(rows).set_index("option")
    row = table.loc["type ② dynamic now, re-sized"]
    assert row["npv_jpy"] == pytest.approx(AF2 * 3e6 - 1e6 - 8e6, rel=1e-12)
    assert row["annual_margin_jpy"] == pytest.approx(4e6)
    assert table.loc["type ② dynamic now", "npv_jpy"] == pytest.approx(AF2 * -40e6 - 21e6)


def test_resized_type2_solved_by_hand(tmp_path):
    """A flat 10 MW DC (PUE 1) over 48 h under an operating capacity of 20 MW whose other
    customers take 12 MW for a day, then 16: headroom H = 8, then 4 MW. Energy 10 kJPY/MWh, a
    lost MWh 50 kJPY, margin m = 40 kJPY/MWh, DC capex 1 GJPY, r = 10 %, N = 2 years, type ②
    at once for 1 MJPY. α = 182.5, e = 48 α MWh a year per MW, so a MW of size is worth
    v_S = 40k · 48 α − (1e9 / 10) / AF(2) = 292.8 MJPY a year. Fixed pattern (the yearly
    minimum): 4 MW every hour; a MW above 4 would be lost all 48 h (50k · 48 α = 438 MJPY
    > v_S): S = 4. Dynamic: a MW from 4 to 8 is served a day and lost a day
    ((10k + 50k) · 24 α = 262.8 MJPY < v_S), above 8 lost throughout: S = 8. Annual costs
    without the size value: fixed 10k · 192 α = 350.4 MJPY; dynamic (10k · 288 + 50k · 96) α
    = 1,401.6 MJPY."""
    index = hourly_index(48)
    write_series(tmp_path / "series.csv", index, price=10_000.0, base=[12.0] * 24 + [16.0] * 24)
    case = {
        "name": "resize",
        "series": ["series.csv"],
        "economics": {"discount_rate": 0.1},
        "dc": {"it_mw": 10.0, "value_of_lost_compute_jpy_per_mwh": 50_000.0},
        "grid": {
            "mode": "type3_n1",
            "limit_mw": 20.0,
            "base_flow_mw": "base",
            "energy_price_jpy_per_mwh": "price",
        },
        "type3": {"margin_mw": 10.0, "scenarios": 1},
        "connect": {
            "analysis_years": 2.0,
            "margin_jpy_per_mwh": 40_000.0,
            "dc_capex_jpy": 1e9,
            "type2_cost_jpy": 1e6,
        },
    }
    path = tmp_path / "case.toml"
    path.write_text(to_toml(case))
    table = connection_choice(path).table.set_index("option")
    alpha, af2 = 8760 / 48, AF2
    margin = 40_000.0 * 480 * alpha
    for mode, share, cost in (("fixed", 0.4, 10_000 * 192 * alpha), ("dynamic", 0.8, 1.4016e9)):
        row = table.loc[f"type ② {mode} now, re-sized"]
        assert row["annual_cost_jpy"] == pytest.approx(cost, rel=1e-6)
        assert row["annual_margin_jpy"] == pytest.approx(share * margin, rel=1e-9)
        expected = af2 * (share * margin - cost) - 1e6 - share * 1e9
        assert row["npv_jpy"] == pytest.approx(expected, rel=1e-6)
