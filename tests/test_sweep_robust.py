"""A sweep's folder is its own: a lock keeps a second sweep out (and from deleting the first's
temporary records); SIGTERM stops a sweep as Ctrl-C does; each distinct case is solved once;
every KPI in ``sweep.nc`` carries its unit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
import xarray as xr
from conftest import EXAMPLE
from typer.testing import CliRunner

from wattbit.cli import app
from wattbit.sweep.engine import local_cluster
from wattbit.sweep.store import OutLock, units

STEPS = ("--set", "horizon.steps=24")
ENERGY = "battery.energy_mwh"
runner = CliRunner()


def sweep(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, ["sweep", *map(str, args)])
    return result.exit_code, result.output


def open_sweep(out: Path) -> xr.Dataset:
    with xr.open_dataset(out / "sweep.nc", engine="h5netcdf") as ds:
        return ds.load()


def test_a_second_sweep_on_a_locked_out_is_refused_and_deletes_nothing(tmp_path: Path):
    lock = OutLock(tmp_path)  # as a running sweep holds it
    cases = tmp_path / "cases"
    cases.mkdir()
    writing = cases / ".0123.json.abc.tmp"  # the running sweep's record being written
    writing.write_text("{")
    try:
        code, output = sweep(EXAMPLE, *STEPS, "--set", f"{ENERGY}=0,5", "--out", tmp_path)
        assert code == 2, output
        assert f"--out {tmp_path}: another sweep (process {os.getpid()}) is writing" in output
        assert writing.exists()
        assert not (tmp_path / "sweep.nc").exists()
    finally:
        lock.release()
    code, output = sweep(EXAMPLE, *STEPS, "--set", f"{ENERGY}=0,5", "--out", tmp_path)
    assert code == 0, output  # released: the folder is usable again
    assert not writing.exists()  # now no one writes it: a leftover, cleaned
    OutLock(tmp_path).release()  # and the finished sweep released it too


def test_sigterm_stops_a_sweep_like_ctrl_c_and_it_resumes(tmp_path: Path):
    sets = [*STEPS, "--set", "battery.energy_capex_jpy_per_kwh=10000:120000:10000"]  # 12 cases
    cmd = [sys.executable, "-c", "from wattbit.cli import app; app()", "sweep", str(EXAMPLE)]
    cmd += [*sets, "--jobs", "1", "--out", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cases = tmp_path / "cases"
    deadline = time.monotonic() + 300
    while len(list(cases.glob("*.json"))) < 2 and proc.poll() is None:
        assert time.monotonic() < deadline, "no record written"
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr
    kept = list(cases.glob("*.json"))
    assert f"terminated: {len(kept)} of 12 records kept" in stderr
    assert "run again with --resume" in stderr
    assert not (tmp_path / "sweep.nc").exists()
    assert all(json.loads(p.read_text())["status"] == "ok" for p in kept)
    code, output = sweep(EXAMPLE, *sets, "--jobs", "1", "--out", tmp_path, "--resume")
    assert code == 0, output
    assert f"reused {len(kept)} (--resume)" in output
    assert (open_sweep(tmp_path)["status"] == "ok").all()


def test_the_same_case_at_two_points_is_solved_once(tmp_path: Path):
    """The baseline value given twice (and any repeated point) shares one record and one solve."""
    code, output = sweep(
        EXAMPLE, *STEPS, "--set", f"{ENERGY}=0,5,0", "--baseline", f"{ENERGY}=0",
        "--jobs", "1", "--out", tmp_path,
    )  # fmt: skip
    assert code == 0, output
    assert "solved 2 in" in output
    assert len(list((tmp_path / "cases").glob("*.json"))) == 2
    ds = open_sweep(tmp_path)
    total = ds["total_cost_jpy"].values
    assert total[0] == total[2] and total[0] != total[1]
    assert ds["net_benefit_jpy_per_year"].values[2] == 0.0


def test_every_numeric_variable_of_sweep_nc_has_its_unit(tmp_path: Path):
    code, output = sweep(EXAMPLE, *STEPS, "--set", f"{ENERGY}=0,5", "--out", tmp_path)
    assert code == 0, output
    ds = open_sweep(tmp_path)
    numeric = [str(v) for v in ds.data_vars if ds[v].dtype.kind == "f"]
    assert len(numeric) > 20
    assert {v: ds[v].attrs["units"] for v in numeric} == {v: units(v) for v in numeric}
    expected = {
        "total_cost_jpy": "JPY/yr",
        "cost_battery_capex_jpy": "JPY/yr",
        "investment_jpy": "JPY",
        "operating_cost_jpy_per_year": "JPY/yr",
        "dc_it_demand_mwh": "MWh",
        "battery_energy_mwh": "MWh",
        "battery_power_mw": "MW",
        "wall_s": "s",
        "mip_gap": "1",
    }
    assert {v: ds[v].attrs["units"] for v in expected} == expected


def test_dask_local_listens_on_loopback_only_and_serves_no_http_route():
    cluster = local_cluster(1)
    try:
        me = psutil.Process(os.getpid())
        listening = [
            conn.laddr.ip
            for proc in (me, *me.children(recursive=True))
            for conn in proc.net_connections(kind="inet")
            if conn.status == psutil.CONN_LISTEN
        ]
        assert listening and set(listening) == {"127.0.0.1"}, listening
        assert cluster.scheduler.address.startswith("tcp://127.0.0.1:")
        port = cluster.scheduler.http_server.port
        for path in ("/health", "/status", "/metrics", "/info/main/workers.html"):
            with pytest.raises(urllib.error.HTTPError, match="404"):
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30)
    finally:
        cluster.close()
