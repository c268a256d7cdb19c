"""Sweeps: spec parsing, equality with separate solves, failures, kill-and-resume, Dask, bad input,
economics and plots. Every case is a 24-step horizon of the example case."""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import EXAMPLE
from figure_rules import figure_problems
from typer.testing import CliRunner

from wattbit.case import load_case
from wattbit.cli import app
from wattbit.economics import add_economics, annuity_factor
from wattbit.strategies import solve_case
from wattbit.sweep.engine import Engine, execute
from wattbit.sweep.plots import plot_sweep
from wattbit.sweep.spec import generate, parse_spec, parse_values
from wattbit.sweep.store import combine, to_frame

STEPS = "horizon.steps=24"
CAPEX = "battery.energy_capex_jpy_per_kwh"
GRID_3X3 = [
    "--set",
    STEPS,
    "--set",
    f"{CAPEX}=20000:60000:20000",
    "--set",
    "battery.energy_mwh=0,5,10",
]
POWER_ENERGY = ["battery.power_mw=0.0,5.0", "battery.energy_mwh=0.0,20.0"]
runner = CliRunner()


def sweep(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, ["sweep", *map(str, args)])
    return result.exit_code, result.output


def open_sweep(out: Path) -> xr.Dataset:
    with xr.open_dataset(out / "sweep.nc", engine="h5netcdf") as ds:
        return ds.load()


def records(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((out / "cases").glob("*.json"))]


@pytest.fixture(scope="module")
def grid_3x3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("grid") / "jobs1"
    code, output = sweep(EXAMPLE, *GRID_3X3, "--jobs", "1", "--out", out)
    assert code == 0, output
    return out


# --- values of --set --------------------------------------------------------------------------


def test_ranges_include_stop_and_keep_decimal_steps_exact():
    assert parse_values("0:100:25") == [0, 25, 50, 75, 100]
    assert parse_values("0:0.3:0.1") == [0.0, 0.1, 0.2, 0.3]
    assert parse_values("10:0:-5") == [10, 5, 0]
    assert parse_values("1e3:3e3:1e3") == [1000.0, 2000.0, 3000.0]


def test_lists_are_toml_scalars_with_bare_strings():
    assert parse_values("firm,type2_fixed") == ["firm", "type2_fixed"]
    assert parse_values('"a,b", 2, true') == ["a,b", 2, True]
    assert parse_values('"a,b",c') == ["a,b", "c"]
    with pytest.raises(ValueError, match="an empty value"):
        parse_values("1,,2")
    with pytest.raises(ValueError, match="not tables"):
        parse_values("{min = 0, max = 5}")
    start = parse_values("2025-05-05T00:00:00+09:00,2025-05-12T00:00:00+09:00")
    assert [d.isoformat() for d in start] == [
        "2025-05-05T00:00:00+09:00",
        "2025-05-12T00:00:00+09:00",
    ]


def test_a_spec_file_gives_the_same_sweep_as_flags(tmp_path: Path):
    spec_file = tmp_path / "sweep.toml"
    spec_file.write_text(
        f'case = "{EXAMPLE}"\n'
        'mode = ["firm"]\n'
        'zip = [["battery.power_mw", "battery.energy_mwh"]]\n'
        "[set]\n"
        "horizon.steps = 24\n"
        'battery.energy_capex_jpy_per_kwh = "20000:60000:20000"\n'
        "battery.power_mw = [0.0, 5.0]\n"
        "battery.energy_mwh = [0.0, 20.0]\n"
        "[baseline]\n"
        "battery.energy_mwh = 0.0\n"
    )
    from_file = parse_spec(None, spec_file=spec_file)
    from_flags = parse_spec(
        EXAMPLE,
        sets=[STEPS, f"{CAPEX}=20000:60000:20000", *POWER_ENERGY],
        zips=["battery.power_mw,battery.energy_mwh"],
        modes="firm",
        baseline=["battery.energy_mwh=0.0"],
    )
    assert from_file.axes == from_flags.axes
    assert from_file.fixed == from_flags.fixed == {"horizon.steps": 24, "grid.mode": "firm"}
    assert from_file.baseline == from_flags.baseline == {"battery.energy_mwh": 0.0}
    assert [a.dim for a in from_file.axes] == [CAPEX, "battery.power_mw+battery.energy_mwh"]


def test_zipped_paths_share_a_dimension_and_failures_are_nan():
    spec = parse_spec(
        EXAMPLE,
        sets=[STEPS, f"{CAPEX}=1,2", *POWER_ENERGY],
        zips=["battery.power_mw,battery.energy_mwh"],
    )
    tasks = generate(spec)
    assert [t.index for t in tasks] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert len({t.key for t in tasks}) == 4
    records = {
        t.key: {"status": "ok", "message": "optimal", "kpis": {"total_cost_jpy": float(i)}}
        | {"economics": {}, "mip_gap": 0.0, "wall_s": 1.0}
        for i, t in enumerate(tasks)
    }
    records[tasks[3].key] = {"status": "error", "message": "boom"}
    ds = combine(spec, tasks, records)
    zipped = "battery.power_mw+battery.energy_mwh"
    assert ds["total_cost_jpy"].dims == (CAPEX, zipped)
    assert ds["battery.energy_mwh"].dims == (zipped,)
    assert ds["battery.energy_mwh"].values.tolist() == [0.0, 20.0]
    assert ds["total_cost_jpy"].values[0].tolist() == [0.0, 1.0]
    assert ds["total_cost_jpy"].values[1, 0] == 2.0
    assert np.isnan(ds["total_cost_jpy"].values[1, 1])
    assert ds["status"].values.tolist() == [["ok", "ok"], ["ok", "error"]]
    frame = to_frame(ds)
    assert list(frame.columns[:3]) == [CAPEX, "battery.power_mw", "battery.energy_mwh"]
    assert len(frame) == 4


# --- acceptance -------------------------------------------------------------------------------


def test_3x3_sweep_equals_nine_separate_solves(grid_3x3: Path):
    """The sweep's worker re-solves its cost and bound changes on one kept LP (warm: another
    basis, so the last digits may differ from a solve of its own); every KPI agrees to 1e-9
    relative, 1e-6 absolute (solver noise on a zero)."""
    ds = open_sweep(grid_3x3)
    assert ds.sizes == {CAPEX: 3, "battery.energy_mwh": 3}
    assert json.loads(ds.attrs["fixed"]) == {"horizon.steps": 24}
    assert (ds["status"] == "ok").all()
    for capex in (20000, 40000, 60000):
        for energy in (0, 5, 10):
            overrides = {"horizon.steps": 24, CAPEX: capex, "battery.energy_mwh": energy}
            run = solve_case(load_case(EXAMPLE, overrides))
            point = ds.sel({CAPEX: capex, "battery.energy_mwh": energy})
            for name, value in run.kpis.items():
                assert float(point[name]) == pytest.approx(value, rel=1e-9, abs=1e-6), (
                    overrides,
                    name,
                )
    assert len(records(grid_3x3)) == 9
    assert len((grid_3x3 / "sweep.csv").read_text().splitlines()) == 1 + 9


def test_infeasible_case_is_marked_and_the_others_intact(tmp_path: Path):
    fixed = {
        "horizon.steps": 24,
        "battery.power_mw": 5.0,
        "battery.energy_mwh": 10.0,
        "battery.soc_rule": "fixed",
        "dc.idle_it_mw": 0.0,
        "dc.peak_it_mw": 0.0,
        "grid.base_flow_mw": 0.0,
        "pv.capacity_mw": 0.0,
    }
    sets = [a for path, v in fixed.items() for a in ("--set", f"{path}={v}")]
    sets += ["--set", "grid.limit_mw=0.0,10.0", "--set", "battery.standing_loss_per_h=0.0,0.01"]
    code, output = sweep(EXAMPLE, *sets, "--jobs", "2", "--out", tmp_path)
    assert code == 1, output  # a failed case makes the sweep fail, with the count
    assert "error: 1 of 4 cases failed (listed above)" in output
    ds = open_sweep(tmp_path)
    bad = {"grid.limit_mw": 0.0, "battery.standing_loss_per_h": 0.01}
    assert str(ds["status"].sel(bad).values) == "infeasible"
    reason = solve_case(load_case(EXAMPLE, {**fixed, **bad})).solution.message
    assert str(ds["message"].sel(bad).values) == reason
    assert "the energy balance of the battery (B5)" in reason
    assert np.isnan(float(ds["total_cost_jpy"].sel(bad)))
    assert int((ds["status"] == "ok").sum()) == 3
    for limit, loss in [(0.0, 0.0), (10.0, 0.0), (10.0, 0.01)]:
        point = {"grid.limit_mw": limit, "battery.standing_loss_per_h": loss}
        run = solve_case(load_case(EXAMPLE, {**fixed, **point}))
        assert float(ds["total_cost_jpy"].sel(point)) == run.kpis["total_cost_jpy"]
    assert f"infeasible grid.limit_mw=0.0, battery.standing_loss_per_h=0.01: {reason}" in output


def test_sigkill_then_resume_runs_every_case_exactly_once(tmp_path: Path):
    sets = ["--set", STEPS, "--set", f"{CAPEX}=10000:120000:10000"]  # 12 cases
    cmd = [sys.executable, "-c", "from wattbit.cli import app; app()", "sweep", str(EXAMPLE)]
    cmd += [*sets, "--jobs", "1", "--out", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cases = tmp_path / "cases"
    deadline = time.monotonic() + 120
    while len(list(cases.glob("*.json"))) < 3 and proc.poll() is None:
        assert time.monotonic() < deadline, "no record written"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in cases.glob("*.json")}
    assert 3 <= len(before) < 12, "the kill came too late to test a resume"
    assert not (tmp_path / "sweep.nc").exists()
    torn = sorted(before)[0]  # a record cut short, as a non-atomic writer could leave it
    (cases / torn).write_text('{"key": "')
    (cases / f".{torn}.abc.tmp").write_text("{")  # a temp file left by a kill mid-write

    code, output = sweep(EXAMPLE, *sets, "--jobs", "1", "--out", tmp_path, "--resume")
    assert code == 0, output
    assert f"reused {len(before) - 1} (--resume)" in output
    assert sorted(p.name for p in cases.iterdir()) == sorted(p.name for p in cases.glob("*.json"))
    after = records(tmp_path)
    assert len(after) == 12
    assert len({r["key"] for r in after}) == 12
    assert all(r["status"] == "ok" for r in after)
    for name, mtime in before.items():
        if name != torn:
            assert (cases / name).stat().st_mtime_ns == mtime, f"{name} was solved twice"
    ds = open_sweep(tmp_path)
    assert ds.sizes == {CAPEX: 12}
    assert (ds["status"] == "ok").all()


def test_dask_local_cluster_gives_the_same_dataset_as_one_job(grid_3x3: Path, tmp_path: Path):
    code, output = sweep(EXAMPLE, *GRID_3X3, "--dask-local", "2", "--out", tmp_path)
    assert code == 0, output
    assert "dask LocalCluster, 2 workers" in output
    dask_ds, local = open_sweep(tmp_path), open_sweep(grid_3x3)
    # each worker re-solves its group's cases warm, from its own sequence of bases: the numbers
    # agree to 1e-9 relative and 1e-6 absolute (solver noise on a zero: 1e-13 MWh of flow in
    # an empty battery costs 4e-9 JPY), everything else is identical
    dask_ds, local = dask_ds.drop_vars("wall_s"), local.drop_vars("wall_s")
    xr.testing.assert_allclose(dask_ds, local, rtol=1e-9, atol=1e-6)
    assert dask_ds.attrs == local.attrs


def test_a_case_whose_process_dies_is_an_error_and_the_others_go_on():
    spec = parse_spec(EXAMPLE, sets=["horizon.steps=168", "battery.energy_mwh=0,5"])
    tasks = generate(spec)

    def kill_first_child() -> None:
        deadline = time.monotonic() + 60
        while not mp.active_children() and time.monotonic() < deadline:
            time.sleep(0.001)
        for child in mp.active_children():
            child.kill()

    killer = threading.Thread(target=kill_first_child)
    killer.start()
    got = {r["key"]: r for r in execute(tasks, Engine(jobs=1))}
    killer.join()
    first, second = got[tasks[0].key], got[tasks[1].key]
    assert (first["status"], first["message"]) == ("error", "worker process died (exit code -9)")
    assert second["status"] == "ok"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "battery.energy_mwhh=0,5"], "--set battery.energy_mwhh=0,5 (at 0): "),
        (["--set", "battery.energy_mwh=10:0:5"], "--set battery.energy_mwh=10:0:5: empty range"),
        (["--set", "battery.energy_mwh=0:10:0"], "--set battery.energy_mwh=0:10:0: step 0"),
        (
            [
                *("--set", "battery.energy_mwh=0,5", "--set", "battery.power_mw=1,2,3"),
                "--zip",
                "battery.energy_mwh,battery.power_mw",
            ],
            "--zip battery.energy_mwh,battery.power_mw: zipped paths need equally many values "
            "(battery.energy_mwh has 2, battery.power_mw has 3)",
        ),
        (["--set", "battery.energy_mwh=0,-5"], "--set battery.energy_mwh=0,-5 (at -5): "),
        (["--mode", "firm,nonsense"], "--mode firm,nonsense (at nonsense): "),
        (["--set", "battery.energy_mwh=0,5", "--baseline", "battery.energy_mwh=7"], "not a value"),
    ],
)
def test_bad_input_is_one_line_with_exit_2(args: list[str], expected: str, tmp_path: Path):
    code, output = sweep(EXAMPLE, "--set", STEPS, *args, "--out", tmp_path)
    assert code == 2
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in output
    assert not (tmp_path / "cases").exists()


def test_unknown_path_names_the_field():
    _, output = sweep(EXAMPLE, "--set", STEPS, "--set", "battery.energy_mwhh=0,5")
    assert "battery.energy_mwhh: unknown field (did you mean 'energy_mwh'?" in output


# --- economics and plots --------------------------------------------------------------------


def test_npv_and_payback_against_the_baseline_point():
    """Battery 0 (baseline) vs 10 MWh: 1 MJPY/yr cheaper in total; 5 MJPY invested; operating
    cost 1.6 MJPY/yr lower. At r = 5 % over 15 years NPV = 1 MJPY × AF; payback = 5/1.6 years."""
    dim = "battery.energy_mwh"
    ds = xr.Dataset(
        {
            "total_cost_jpy": (dim, [10e6, 9e6]),
            "investment_jpy": (dim, [0.0, 5e6]),
            "operating_cost_jpy_per_year": (dim, [10e6, 8.4e6]),
            "discount_rate": (dim, [0.05, 0.05]),
        },
        coords={dim: [0.0, 10.0]},
    )
    out = add_economics(ds, {dim: 0}, 15.0, f"{dim}=0")
    af = (1 - 1.05**-15) / 0.05
    assert out["net_benefit_jpy_per_year"].values.tolist() == [0.0, 1e6]
    assert out["npv_jpy"].values[1] == pytest.approx(1e6 * af, rel=1e-12)
    assert out["simple_payback_years"].values[1] == pytest.approx(5e6 / 1.6e6, rel=1e-12)
    assert math.isnan(out["simple_payback_years"].values[0])
    assert annuity_factor(0.0, 15) == 15.0


def test_economics_variables_from_a_real_sweep(grid_3x3: Path, tmp_path: Path):
    out = tmp_path / "econ"
    args = [*GRID_3X3, "--baseline", "battery.energy_mwh=0", "--jobs", "2", "--out", out]
    code, output = sweep(EXAMPLE, *args)
    assert code == 0, output
    ds = open_sweep(out)
    assert ds.attrs["baseline"] == "battery.energy_mwh=0"
    benefit = ds["net_benefit_jpy_per_year"]
    cost = ds["total_cost_jpy"]
    np.testing.assert_array_equal(
        benefit.values, (cost.isel({"battery.energy_mwh": 0}) - cost).values
    )
    assert (benefit.sel({"battery.energy_mwh": 0}) == 0).all()


def test_plots_line_and_heatmap_with_breakeven(grid_3x3: Path, tmp_path: Path):
    ds = open_sweep(grid_3x3)
    ds["margin"] = ds["total_cost_jpy"] - float(ds["total_cost_jpy"].median())  # changes sign
    ds["margin"].attrs["units"] = "JPY/yr"
    fig = plot_sweep(ds, x=CAPEX, y="battery.energy_mwh", z="margin")
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "breakeven" in labels
    line = plot_sweep(ds, x="battery.energy_mwh", z="total_cost_jpy", sel={CAPEX: 40000})
    cost = ds["total_cost_jpy"].sel({CAPEX: 40000}).values
    scale = 1e9 if abs(cost).max() >= 1e10 else 1e6  # shown in MJPY/yr (GJPY/yr from 1e10)
    np.testing.assert_allclose(line.axes[0].get_lines()[0].get_ydata(), cost / scale, rtol=1e-12)
    assert line.axes[0].get_ylabel() == f"total cost ({'G' if scale == 1e9 else 'M'}JPY/yr)"
    assert "battery energy price = 40 thousand JPY/kWh" in line.axes[0].get_title()
    assert figure_problems(fig) == [] and figure_problems(line) == []
    png = tmp_path / "heat.png"
    args = ["plot", str(grid_3x3 / "sweep.nc"), "--x", CAPEX, "--y", "battery.energy_mwh"]
    result = runner.invoke(app, [*args, "--z", "total_cost_jpy", "--out", str(png)])
    assert result.exit_code == 0, result.output
    assert png.stat().st_size > 10_000
    result = runner.invoke(
        app, ["plot", str(grid_3x3 / "sweep.nc"), "--x", CAPEX, "--z", "total_cost_jpy"]
    )
    assert result.exit_code == 2
    assert "the sweep also varies battery.energy_mwh" in result.output
