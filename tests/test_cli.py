"""The ``wattbit`` command line, through typer's test runner on :data:`wattbit.cli.app`."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import xarray as xr
from conftest import EXAMPLE, hourly_index
from typer.testing import CliRunner

from wattbit import optimise
from wattbit.cli import app
from wattbit.verify import verify

runner = CliRunner()

# Two days of the example's tightest week (see test_example.py): the battery is needed.
WINDOW = ["--set", "horizon.start=2025-08-04T00:00:00+09:00", "--set", "horizon.steps=48"]


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("cli") / "out"
    result = runner.invoke(app, ["solve", str(EXAMPLE), *WINDOW, "--out", str(out)])
    return result, out


def test_solve_writes_every_output(solved):
    result, out = solved
    assert result.exit_code == 0, result.output
    assert "verifier: max violation" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "dispatch.png",
        "kpis.csv",
        "kpis.json",
        "results.nc",
    ]
    png = (out / "dispatch.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 10_000


def test_results_netcdf_round_trips_and_still_verifies(solved):
    """results.nc holds inputs, every variable, every cost term and the run's attributes; read
    back from disk it still passes the verifier (nothing it needs is lost on the way)."""
    _, out = solved
    with xr.open_dataset(out / "results.nc", engine="h5netcdf") as ds:
        ds = ds.load()
    assert ds.sizes["time"] == 48
    for name in (
        "dc_it_mw",
        "grid_import_limit_mw",
        "grid_import_mw",
        "pv_generation_mw",
        "battery_charge_mw",
        "battery_discharge_mw",
        "battery_soc_mwh",
        "battery_energy_mwh",
        "cost_grid_energy_jpy",
        "cost_battery_capex_jpy",
        "total_cost_jpy",
    ):
        assert name in ds, name
    assert ds["grid_import_mw"].attrs["units"] == "MW"
    attrs = ds.attrs
    assert attrs["case_name"] == "tokyo_substation_dc"
    assert attrs["solver_status"] == "optimal"
    assert attrs["battery_exclusive_mode"] == "auto"
    assert attrs["dt_h"] == 1.0
    assert attrs["verify_max_violation"] <= 1e-6
    assert attrs["objective_jpy"] == pytest.approx(float(ds["total_cost_jpy"]), rel=1e-9)
    assert verify(ds).ok, verify(ds).violations


def test_kpi_csv_and_json_agree_with_the_dataset(solved):
    _, out = solved
    payload = json.loads((out / "kpis.json").read_text())
    assert payload["case"] == "tokyo_substation_dc"
    assert payload["status"] == "optimal"
    kpis = payload["kpis"]
    table = pd.read_csv(out / "kpis.csv")
    assert list(table.columns) == ["kpi", "value", "unit"]
    assert dict(zip(table["kpi"], table["value"], strict=True)) == pytest.approx(kpis, rel=1e-12)
    units = dict(zip(table["kpi"], table["unit"], strict=True))
    assert units["total_cost_jpy"] == "JPY/yr"
    assert units["battery_energy_mwh"] == "MWh"
    with xr.open_dataset(out / "results.nc", engine="h5netcdf") as ds:
        assert kpis["total_cost_jpy"] == pytest.approx(float(ds["total_cost_jpy"]), rel=1e-12)
        assert kpis["battery_energy_mwh"] == pytest.approx(float(ds["battery_energy_mwh"]))
    assert kpis["horizon_h"] == 48.0
    assert kpis["battery_energy_mwh"] > 1.0


def test_validate_prints_ok():
    result = runner.invoke(app, ["validate", str(EXAMPLE), *WINDOW])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())  # rich wraps at the runner's 80 columns
    assert text.startswith("ok ")
    assert "48 steps of 1 h" in text
    assert "components: dc, pv, battery, grid" in text
    start = re.search(r" from (\S+);", text)
    assert start, text
    assert pd.Timestamp(start[1]) == pd.Timestamp("2025-08-04T00:00:00+09:00")


def _sizes(tmp_path, *assignments: str) -> dict[str, float]:
    out = tmp_path / "-".join(a.replace("=", "_") for a in assignments)
    sets = [arg for a in assignments for arg in ("--set", a)]
    result = runner.invoke(
        app, ["solve", str(EXAMPLE), *WINDOW, *sets, "--out", str(out), "--no-plot"]
    )
    assert result.exit_code == 0, result.output
    assert not (out / "dispatch.png").exists()
    return json.loads((out / "kpis.json").read_text())["kpis"]


def test_set_overrides_change_the_sizing_in_the_expected_direction(tmp_path):
    """Cheaper battery energy (10 000 instead of 40 000 JPY/kWh) buys a strictly larger battery
    (arbitrage now pays on top of covering the headroom gap); a ceiling on the energy size set
    with --set is obeyed exactly when it binds."""
    base = _sizes(tmp_path)
    cheap = _sizes(tmp_path, "battery.energy_capex_jpy_per_kwh=10000")
    assert cheap["battery_energy_mwh"] > base["battery_energy_mwh"] + 1.0
    assert cheap["cost_battery_capex_jpy"] < base["cost_battery_capex_jpy"]
    capped = _sizes(tmp_path, "battery.energy_mwh={ max = 20.0 }")
    assert capped["battery_energy_mwh"] == pytest.approx(20.0, abs=1e-6)
    assert capped["total_cost_jpy"] > base["total_cost_jpy"]


def test_infeasible_case_exits_3_naming_families_and_step(make_case):
    """A fixed 10 MWh battery with the fixed SoC rule at 50 % and 1 %/h standing loss, no PV, no
    IT load and an import limit of 0: it loses energy it can never recharge, so its terminal
    SoC cannot reach the initial 5 MWh: every step up to the last can hold, the last cannot
    (its 23:00 time stamp, in the case's own time zone)."""
    case = {
        "dc": {"it_mw": 0.0},
        "grid": {"import_limit_mw": 0.0, "energy_price_jpy_per_mwh": 1000.0},
        "battery": {
            "power_mw": 5.0,
            "energy_mwh": 10.0,
            "standing_loss_per_h": 0.01,
            "soc_rule": "fixed",
            "initial_soc_fraction": 0.5,
        },
    }
    path = make_case(case, hourly_index(24), unused=0.0)
    result = runner.invoke(app, ["solve", str(path)])
    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: ")
    assert str(path) in line
    assert "infeasible" in line
    assert "the minimum end state of the battery (B6)" in line
    assert "the energy balance of the battery (B5)" in line
    assert line.endswith("cannot all hold at 2025-05-01 23:00+09:00")


def test_unconverged_exclusivity_exits_6(make_case, monkeypatch):
    """With no exclusivity round allowed, a case whose LP burns energy (see
    test_exclusivity.py) is left with simultaneous flows: the run must not pass as solved."""
    monkeypatch.setattr(optimise, "MAX_EXCLUSIVITY_ROUNDS", 0)
    case = {
        "dc": {"it_mw": 1.0},
        "grid": {"import_limit_mw": 10.0, "energy_price_jpy_per_mwh": "price"},
        "battery": {
            "power_mw": 2.0,
            "energy_mwh": 1.0,
            "charge_efficiency": 1.0,
            "discharge_efficiency": 0.5,
        },
    }
    path = make_case(case, hourly_index(4), price=[-10_000.0, 20_000.0, 20_000.0, 20_000.0])
    result = runner.invoke(app, ["solve", str(path)])
    assert result.exit_code == 6, result.output
    assert "exclusivity rounds did not converge" in " ".join(result.stderr.split())
