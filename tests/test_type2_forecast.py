"""Type ② under forecast error: real-time recourse in the committed day, AR(1) forecast errors."""

from __future__ import annotations

import numpy as np
import pytest

from wattbit.strategies.recourse import BatteryLimits, recourse

LOSSLESS = BatteryLimits(
    power_mw=4.0, floor_mwh=0.0, keep_per_step=1.0, charge_efficiency=1.0, discharge_efficiency=1.0
)


def test_recourse_stops_charging_then_discharges_then_sheds():
    """Plan: import 14, 10, 10 MW for a 10 MW load, charging 4 MW in the first hour (4 MWh
    stored before). Realised headroom 12, 5, 3 MW:
    hour 0 — 2 MW short: charging drops to 2 MW, nothing shed (state of charge 6 MWh);
    hour 1 — 5 MW short: discharge 4 MW (its power), shed 1 MW (state of charge 2 MWh);
    hour 2 — 7 MW short: discharge the 2 MWh left, shed 5 MW."""
    done = recourse(
        import_mw=np.array([14.0, 10.0, 10.0]),
        facility_mw=np.full(3, 10.0),
        headroom_mw=np.array([12.0, 5.0, 3.0]),
        contract_mw=20.0,
        dt_h=1.0,
        charge_mw=np.array([4.0, 0.0, 0.0]),
        discharge_mw=np.zeros(3),
        battery=LOSSLESS,
        soc_before_mwh=4.0,
    )
    assert done.charge_mw.tolist() == [2.0, 0.0, 0.0]
    assert done.discharge_mw.tolist() == [0.0, 4.0, 2.0]
    assert done.shed_facility_mw.tolist() == [0.0, 1.0, 5.0]
    assert done.import_mw.tolist() == [12.0, 5.0, 3.0]
    assert done.soc_mwh.tolist() == [6.0, 2.0, 0.0]


def test_a_discharge_the_battery_can_no_longer_make_is_imported_where_room_allows():
    """Plan: discharge 4 MW in hour 2 (import 6 MW). Hour 1 falls 5 MW short, so the battery
    empties itself there (4 MW) and 1 MW is shed; in hour 2 the headroom (20 MW) lets the grid
    bring the 4 MW the battery no longer has: import 10 MW, nothing shed. With 7 MW of headroom in
    hour 2 only 1 MW more can come from the grid and 3 MW is shed."""
    plan = {
        "import_mw": np.array([10.0, 10.0, 6.0]),
        "facility_mw": np.full(3, 10.0),
        "contract_mw": 20.0,
        "dt_h": 1.0,
        "charge_mw": np.zeros(3),
        "discharge_mw": np.array([0.0, 0.0, 4.0]),
        "battery": LOSSLESS,
        "soc_before_mwh": 4.0,
    }
    done = recourse(headroom_mw=np.array([20.0, 5.0, 20.0]), **plan)
    assert done.discharge_mw.tolist() == [0.0, 4.0, 0.0]
    assert done.shed_facility_mw.tolist() == [0.0, 1.0, 0.0]
    assert done.import_mw.tolist() == [10.0, 5.0, 10.0]
    tight = recourse(headroom_mw=np.array([20.0, 5.0, 7.0]), **plan)
    assert tight.shed_facility_mw.tolist() == [0.0, 1.0, 3.0]
    assert tight.import_mw.tolist() == [10.0, 5.0, 7.0]


def test_recourse_with_losses_keeps_the_floor():
    """η = 0.9 each way, 20 % floor of 10 MWh, 4 MWh stored: 2 MWh may leave the battery,
    1.8 MWh reach the bus; a 3 MW shortfall sheds 1.2 MW."""
    battery = BatteryLimits(4.0, 2.0, 1.0, 0.9, 0.9)
    done = recourse(
        np.array([10.0]), np.array([10.0]), np.array([7.0]), 20.0, 1.0,
        np.zeros(1), np.zeros(1), battery, 4.0,
    )  # fmt: skip
    assert done.discharge_mw[0] == pytest.approx(1.8)
    assert done.shed_facility_mw[0] == pytest.approx(1.2)
    assert done.soc_mwh[0] == pytest.approx(2.0)
