"""The example case on measured data: one week (fast) and the full year (slow, still run in CI)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLE

from wattbit.case import load_case
from wattbit.strategies import solve_case

TOKYO = ZoneInfo("Asia/Tokyo")
# The week with the largest shortfall of the import limit below the DC's load in the series
# (Σ max(1.3·(12.5 + 12.5·u) − (75 − base), 0) ≈ 184 MWh): the battery has work to do.
WEEK_START = datetime(2025, 8, 4, tzinfo=TOKYO)


def _series_on(start: datetime, steps: int | None = None) -> pd.DataFrame:
    """The example's series.csv from ``start`` on (``steps`` rows, or to the end)."""
    frame = pd.read_csv(EXAMPLE.parent / "series.csv")
    stamps = pd.to_datetime(frame.pop("timestamp"), utc=True)
    first = int(np.flatnonzero(stamps == pd.Timestamp(start))[0])
    return frame.iloc[first : None if steps is None else first + steps]


def _check_against_the_case_file(run, series: pd.DataFrame) -> None:
    """Inputs recomputed from the CSV and the case's numbers (idle 12.5, peak 25 MW IT, PUE 1.3,
    substation 75 MW), and the contract: with a positive capacity charge and nothing else priced
    on it, the optimal contract is exactly the peak import."""
    ds, k = run.results, run.kpis
    it = 12.5 + 12.5 * series["dc_utilisation"].to_numpy()
    np.testing.assert_allclose(ds["dc_it_mw"].values, it, rtol=1e-12)
    np.testing.assert_allclose(
        ds["grid_import_limit_mw"].values,
        np.maximum(75.0 - series["base_flow_mw"].to_numpy(), 0.0),
        rtol=1e-12,
    )
    assert k["dc_it_demand_mwh"] == pytest.approx(it.sum(), rel=1e-12)
    assert k["grid_contract_mw"] == pytest.approx(k["grid_peak_import_mw"], abs=1e-6)


def test_one_week_solves_optimal_and_verifies():
    loaded = load_case(EXAMPLE, {"horizon.steps": 168, "horizon.start": WEEK_START})
    run = solve_case(loaded)
    assert run.ok, run.solution.message
    assert run.solution.status == "optimal"
    assert run.verification.ok, run.verification.violations
    assert run.verification.max_violation <= 1e-6
    ds = run.results
    assert ds.sizes["time"] == 168
    first = pd.Timestamp(ds["time"].values[0]).tz_localize("UTC")
    assert first == pd.Timestamp(WEEK_START)
    _check_against_the_case_file(run, _series_on(WEEK_START, 168))
    assert run.kpis["dc_served_fraction"] > 0.99
    assert run.kpis["battery_energy_mwh"] > 1.0
    assert run.kpis["battery_discharge_mwh"] > 0.0


@pytest.mark.slow
def test_full_year_solves_optimal_and_verifies():
    run = solve_case(load_case(EXAMPLE))
    assert run.ok, run.solution.message
    assert run.solution.status == "optimal"
    assert run.verification.ok, run.verification.violations
    assert run.verification.max_violation <= 1e-6
    k = run.kpis
    series = _series_on(datetime(2025, 4, 1, tzinfo=TOKYO))
    assert run.results.sizes["time"] == len(series) == 8351
    _check_against_the_case_file(run, series)
    assert k["dc_served_fraction"] > 0.99
    assert k["battery_energy_mwh"] > 0.0
    assert k["battery_power_mw"] > 0.0
