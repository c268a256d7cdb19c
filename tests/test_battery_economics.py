"""The example case cases/battery_developer end to end on a short cut: every service is its own
cost term and KPI, the verifier re-checks headroom and SoC held, bad [market] input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from wattbit.api import load_case, solve_case
from wattbit.errors import CaseError
from wattbit.verify import verify

CASE = Path(__file__).resolve().parent.parent / "cases" / "battery_developer" / "case.toml"
WINTER = {"horizon.start": "2026-01-05T00:00:00+09:00", "horizon.steps": 48}


def test_example_solves_with_every_service_as_its_own_term():
    result = solve_case(CASE, WINTER)
    ds = result.results
    for term in (
        "cost_market_reserve_primary_jpy",
        "cost_market_reserve_tertiary_2_jpy",
        "cost_market_capacity_jpy",
        "cost_grid_export_revenue_jpy",
        "cost_battery_ageing_jpy",
    ):
        assert term in ds and term in result.kpis, term
    checks = verify(ds).violations
    for tag in ("A1", "A2", "A3", "A5", "A6", "A7", "B10"):
        assert any(name.startswith(tag + " ") for name in checks), tag
    assert max(checks.values()) < 1e-6


def test_market_needs_a_battery():
    with pytest.raises(CaseError, match="needs a \\[battery\\]"):
        load_case(CASE, {**WINTER, "battery": None})


def test_reserve_block_must_be_whole_steps():
    with pytest.raises(CaseError, match="block_h"):
        solve_case(CASE, {**WINTER, "market.reserve.primary.block_h": 1.5})


def test_cashflow_command_writes_the_cash_flow(tmp_path):
    """`wattbit cashflow` solves the case and its baseline without the battery, prints NPV and
    IRR, and writes the yearly table (year 0 the investment, then analysis_years rows) and PNG."""
    from typer.testing import CliRunner

    from wattbit.cli import app

    args = ["cashflow", str(CASE), "--out", str(tmp_path), "--format", "json"]
    for key, value in WINTER.items():
        args += ["--set", f"{key}={value if isinstance(value, int) else repr(value)}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    figures = {row["figure"]: row["value"] for row in printed["summary"]}
    written = json.loads((tmp_path / "battery_value.json").read_text())
    assert figures["npv_jpy"] == pytest.approx(written["npv_jpy"])
    assert len(printed["years"]) == 1 + 15
    table = pd.read_csv(tmp_path / "cashflow.csv")
    assert len(table) == 1 + 15
    assert table["investment_jpy"].iloc[0] < 0
    assert (tmp_path / "cashflow.png").exists() and (tmp_path / "battery_value.json").exists()


@pytest.mark.parametrize(
    ("mode", "why"), [("type2_forecast", "one optimisation"), ("type3_n1", "type3_n1")]
)
def test_market_services_need_one_optimisation_of_the_year(mode, why):
    """The rolling horizon realises a plan afterwards (the commitment would not hold) and type ③
    scenarios would each commit differently: both are refused in one line, not half-solved."""
    overrides = {**WINTER, "grid.mode": mode}
    if mode == "type3_n1":
        overrides["type3.margin_mw"] = 10.0
    with pytest.raises(CaseError, match=why):
        solve_case(CASE, overrides)
