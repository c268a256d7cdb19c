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

from wattbit.case import Connect, FirmTier
from wattbit.studies.connection import Economics, option_rows, sensitivity

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
