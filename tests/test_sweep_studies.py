"""``wattbit sweep --study``: every point runs the study its command runs, so a point of the
sweep equals the single run of the same overrides exactly, and what a study would refuse only at
solve time is refused before the first solve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xarray as xr
from conftest import EXAMPLE, REPO
from typer.testing import CliRunner

from wattbit import api
from wattbit.cli import app
from wattbit.sweep.studies import slug

TOWN = REPO / "cases" / "town" / "case.toml"
TYPE3 = REPO / "cases" / "type3_substation" / "case.toml"
# A week that holds the end of the autumn maintenance window; K = 2 without fresh years.
TYPE3_WEEK = {
    "horizon.start": "2025-12-28T00:00:00+09:00",
    "horizon.steps": 168,
    "type3.out_of_sample_years": 0,
    "type3.scenarios": 2,
}
runner = CliRunner()


def sweep(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, ["sweep", *map(str, args)])
    return result.exit_code, result.output


def fixed(overrides: dict) -> list[str]:
    return [a for path, v in overrides.items() for a in ("--set", f"{path}={v}")]


def open_sweep(out: Path) -> xr.Dataset:
    with xr.open_dataset(out / "sweep.nc", engine="h5netcdf") as ds:
        return ds.load()


def test_a_network_sweep_equals_its_single_runs(tmp_path: Path):
    energy = "batteries.bess_north.energy_mwh"  # a named entry of a network case
    args = ["--set", "horizon.steps=24", "--set", f"{energy}=20.0,40.0", "--jobs", "2"]
    code, output = sweep(TOWN, "--study", "network", *args, "--out", tmp_path)
    assert code == 0, output
    ds = open_sweep(tmp_path)
    assert ds.attrs["study"] == "network"
    for value in (20.0, 40.0):
        single = api.solve_network(TOWN, {"horizon.steps": 24, energy: value})
        point = ds.sel({energy: value})
        assert str(point["status"].values) == "ok"
        assert single.kpis, "no KPI to compare"
        for name, kpi in single.kpis.items():
            assert float(point[name]) == kpi, (value, name)
    assert all(ds[name].attrs["units"] for name in ds.data_vars if ds[name].dtype.kind == "f")
    assert ds["total_cost_jpy"].attrs["units"] == "JPY/yr"
    assert ds["upstream_peak_import_mw"].attrs["units"] == "MW"


def test_a_ridethrough_sweep_equals_its_single_runs(tmp_path: Path):
    code, output = sweep(
        TYPE3, "--study", "ridethrough", *fixed(TYPE3_WEEK), "--set", "type3.seed=1,2",
        "--jobs", "2", "--out", tmp_path,
    )  # fmt: skip
    assert code == 0, output
    ds = open_sweep(tmp_path)
    for seed in (1, 2):
        study = api.ridethrough(TYPE3, {**TYPE3_WEEK, "type3.seed": seed})
        point = ds.sel({"type3.seed": seed})
        assert str(point["status"].values) == "ok"
        for name, kpi in study.kpis.items():
            assert float(point[name]) == kpi, (seed, name)
        assert float(point["ride_through_cost_jpy_per_year"]) == study.cost_jpy_per_year
        unserved = study.survival.expected_unserved_mwh_per_year
        assert float(point["expected_unserved_it_mwh_per_year"]) == unserved
    assert ds["ride_through_cost_jpy_per_year"].attrs["units"] == "JPY/yr"


@pytest.mark.parametrize(
    ("case", "args", "says"),
    [
        # K = 4 scenarios under a single-site solve: refused before any solve, not at solve time
        (TYPE3, ["--set", "horizon.steps=24", "--set", "dc.pue=1.2,1.25"], "type3.scenarios: 4 "),
        (TYPE3, ["--study", "connect", "--set", "horizon.steps=24,48"], "type3.maintenance[0]"),
        (TYPE3, ["--set", "type3.scenarios=1", "--set", "horizon.steps=24,48"], "maintenance[0]"),
        (TOWN, ["--set", "horizon.steps=24,48"], "run it with `wattbit network`"),
        (TOWN, ["--study", "solve", "--set", "horizon.steps=24,48"], "--study network"),
        (TYPE3, ["--study", "network", "--set", "horizon.steps=24,48"], "`wattbit solve`"),
        (TOWN, ["--study", "nonsense", "--set", "horizon.steps=24,48"], "--study nonsense"),
        (
            TOWN,
            [
                "--study",
                "network",
                "--set",
                "horizon.steps=24,48",
                "--baseline",
                "horizon.steps=24",
            ],
            "--baseline horizon.steps=24: net benefit, NPV and payback are for --study solve",
        ),
    ],
)
def test_a_point_its_study_would_refuse_stops_the_sweep_before_solving(
    case: Path, args: list[str], says: str, tmp_path: Path
):
    result = runner.invoke(app, ["sweep", str(case), *args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert says in lines[0]
    assert not list((tmp_path / "out").glob("cases/*.json"))


def test_a_study_failure_is_a_record_not_a_crash(tmp_path: Path):
    """A ridethrough whose solve fails (an unreachable fixed end state) is recorded with the
    status of its exit code; the sweep goes on and exits non-zero."""
    overrides = {**TYPE3_WEEK, "battery.soc_rule": "fixed", "battery.standing_loss_per_h": 0.01}
    overrides |= {"battery.power_mw": 0.0, "battery.energy_mwh": 10.0}
    code, output = sweep(
        TYPE3, "--study", "ridethrough", *fixed(overrides), "--set", "type3.seed=1,2",
        "--jobs", "1", "--out", tmp_path,
    )  # fmt: skip
    records = [json.loads(p.read_text()) for p in (tmp_path / "cases").glob("*.json")]
    assert [r["status"] for r in records] == ["infeasible", "infeasible"], records
    assert code == 1, output
    assert "2 of 2 cases failed" in output


def test_a_connect_sweep_equals_its_single_runs(tmp_path: Path):
    day = {
        "horizon.start": "2025-12-31T00:00:00+09:00",  # the last day of the maintenance window
        "horizon.steps": 24,
        "type3.scenarios": 1,
        "type3.out_of_sample_years": 0,
    }
    margin = "connect.margin_jpy_per_mwh"
    code, output = sweep(
        TYPE3, "--study", "connect", *fixed(day), "--set", f"{margin}=20000.0,40000.0",
        "--jobs", "2", "--out", tmp_path,
    )  # fmt: skip
    assert code == 0, output
    ds = open_sweep(tmp_path)
    for value in (20000.0, 40000.0):
        table = api.connect(TYPE3, {**day, margin: value}).table
        point = ds.sel({margin: value})
        for _, row in table.iterrows():
            name = slug(row["option"])
            assert float(point[f"{name}.npv_jpy"]) == row["npv_jpy"], (value, name)
            assert float(point[f"{name}.annual_cost_jpy"]) == row["annual_cost_jpy"]
        assert float(point["best_npv_jpy"]) == table["npv_jpy"].max()
    assert ds["firm_wait.npv_jpy"].attrs["units"] == "JPY"
    assert ds["firm_wait.annual_cost_jpy"].attrs["units"] == "JPY/yr"


def test_a_compare_sweep_equals_its_single_runs(tmp_path: Path):
    capex = "battery.energy_capex_jpy_per_kwh"
    code, output = sweep(
        EXAMPLE, "--study", "compare", "--set", "horizon.steps=24",
        "--set", f"{capex}=20000.0,60000.0", "--jobs", "2", "--out", tmp_path,
    )  # fmt: skip
    assert code == 0, output
    ds = open_sweep(tmp_path)
    for value in (20000.0, 60000.0):
        comparison = api.compare(EXAMPLE, {"horizon.steps": 24, capex: value}, breakeven_modes=())
        point = ds.sel({capex: value})
        frame = comparison.table()
        assert len(frame) == 12  # 3 strategies × 4 modes
        # cells are re-solved warm (wattbit.warm): equal to 1e-9 relative, sizes to 1e-6
        for _, row in frame.iterrows():
            cell = f"{row['strategy']}.{row['mode']}"
            total = float(point[f"{cell}.total_cost_jpy"])
            assert total == pytest.approx(row["total_cost_jpy"], rel=1e-9), cell
            energy = float(point[f"{cell}.battery_energy_mwh"])
            assert energy == pytest.approx(row["battery_energy_mwh"], abs=1e-6), cell
