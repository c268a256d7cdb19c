"""The Python API (:mod:`wattbit.api`): docs/api.md's worked example runs as written, and each of
its results equals the command line's on the same case and overrides, files included."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr
from conftest import REPO, toml_value
from typer.testing import CliRunner

import wattbit
from wattbit import api
from wattbit.cli import app
from wattbit.errors import CaseError, SolveError
from wattbit.sweep.spec import SweepError, parse_spec

API_DOC = REPO / "docs" / "api.md"
runner = CliRunner()


def doc_code() -> str:
    """The ```python blocks of docs/api.md, in order."""
    return "\n".join(re.findall(r"```python\n(.*?)```", API_DOC.read_text(), flags=re.S))


def flags(overrides: dict) -> list[str]:
    """An overrides dict as the command line's ``--set PATH=VALUE`` flags (values as TOML)."""
    return [arg for path, v in overrides.items() for arg in ("--set", f"{path}={toml_value(v)}")]


def cli(*args: str) -> None:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """docs/api.md run from a folder that sees the repository's cases (its report goes there)."""
    here = tmp_path_factory.mktemp("api_doc")
    (here / "cases").symlink_to(REPO / "cases")
    namespace: dict = {"__name__": "api_doc"}
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(here)
        exec(compile(doc_code(), str(API_DOC), "exec"), namespace)
    return namespace, here


def test_the_doc_has_each_step_of_the_example():
    code = doc_code()
    for call in ("wattbit.load_case(", "wattbit.solve_case(", "wattbit.compare(", ".write("):
        assert call in code, call
    assert "wattbit.ridethrough(" in code


def test_solve_equals_wattbit_solve(example, tmp_path):
    ns, here = example
    result = ns["result"]
    out = tmp_path / "cli"
    cli("solve", REPO / ns["case"], *flags(ns["fixed_battery"]), "--out", out)
    from_cli = json.loads((out / "kpis.json").read_text())["kpis"]
    assert result.kpis["total_cost_jpy"] == pytest.approx(from_cli["total_cost_jpy"], rel=1e-9)
    assert float(result.results["battery_energy_mwh"]) == pytest.approx(20.0)
    assert result.results.sizes["time"] == 168
    written = here / "report" / "solve"
    assert sorted(p.name for p in written.iterdir()) == sorted(p.name for p in out.iterdir())
    assert json.loads((written / "kpis.json").read_text())["kpis"] == pytest.approx(from_cli)
    with xr.open_dataset(written / "results.nc", engine="h5netcdf") as ds:
        assert float(ds["total_cost_jpy"]) == pytest.approx(from_cli["total_cost_jpy"], rel=1e-9)


def test_compare_equals_wattbit_compare(example, tmp_path):
    ns, here = example
    out = tmp_path / "cli"
    cli(
        "compare",
        REPO / ns["case"],
        *flags(ns["two_days"]),
        "--modes",
        "type2_fixed,type2_dynamic",
        "--breakeven-modes",
        "",
        "--out",
        out,
    )
    written = here / "report" / "compare"
    assert sorted(p.name for p in written.iterdir()) == sorted(p.name for p in out.iterdir())
    from_cli = pd.read_csv(out / "compare.csv")
    assert len(from_cli) == 6  # 3 strategies × 2 modes
    pd.testing.assert_frame_equal(pd.read_csv(written / "compare.csv"), from_cli, rtol=1e-9)
    assert (written / "verdict.txt").read_text() == (out / "verdict.txt").read_text()
    assert ns["comparison"].verdict() + "\n" == (out / "verdict.txt").read_text()


def test_ridethrough_equals_wattbit_ridethrough(example, tmp_path):
    ns, here = example
    rt = ns["rt"]
    out = tmp_path / "cli"
    cli(
        "ridethrough",
        REPO / ns["t3_case"],
        *flags(ns["faulty_week"]),
        "--out",
        out,
    )
    summary = json.loads((out / "ride_through.json").read_text())
    assert rt.cost_jpy_per_year == pytest.approx(
        summary["ride_through_cost_jpy_per_year"], rel=1e-9
    )
    assert rt.kpis["scenarios"] == 2
    # The week must see a fault, or the example shows nothing to ride through.
    assert float(rt.results["event_steps"].sum()) > 0
    written = here / "report" / "ridethrough"
    assert sorted(p.name for p in written.iterdir()) == sorted(p.name for p in out.iterdir())
    for name in ("ride_through_cost.csv", "survival.csv"):
        pd.testing.assert_frame_equal(
            pd.read_csv(written / name), pd.read_csv(out / name), rtol=1e-9
        )


def test_network_equals_wattbit_network(tmp_path):
    town = REPO / "cases" / "town" / "case.toml"
    day = ["--set", "horizon.start=2026-01-19T00:00:00+09:00", "--set", "horizon.steps=24"]
    result = wattbit.solve_network(
        town, {"horizon.start": "2026-01-19T00:00:00+09:00", "horizon.steps": 24}, mode="merchant"
    )
    out = tmp_path / "cli"
    cli("network", town, "--mode", "merchant", *day, "--out", out)
    from_cli = json.loads((out / "kpis.json").read_text())["kpis"]
    assert result.verification.ok and result.results.sizes["time"] == 24
    assert result.kpis == pytest.approx(from_cli, rel=1e-9, abs=1e-6)
    written = result.write(tmp_path / "api")
    assert sorted(p.name for p in written) == sorted(p.name for p in out.iterdir())


def test_import_wattbit_loads_no_solver_stack():
    code = (
        "import sys, wattbit\n"
        "heavy = [m for m in ('pyomo', 'highspy', 'xarray', 'matplotlib', 'wattbit.api') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert callable(wattbit.solve_case) and 'wattbit.api' in sys.modules\n"
        "assert 'pyomo' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_the_command_line_loads_no_solver_stack():
    """``wattbit --help`` imports the commands, not what they call (Pyomo, HiGHS, xarray, …)."""
    code = (
        "import sys\n"
        "from wattbit.cli import app\n"
        "heavy = [m for m in ('pyomo', 'highspy', 'xarray', 'matplotlib', 'scipy', 'dask') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_every_exported_name_is_the_api_s():
    for name in wattbit.__all__:
        if name != "__version__":
            assert getattr(wattbit, name) is getattr(api, name), name
    with pytest.raises(AttributeError):
        _ = wattbit.no_such_call


def test_errors_carry_the_cli_exit_codes(make_case):
    with pytest.raises(CaseError) as bad:
        wattbit.solve_case(REPO / "cases/tokyo_substation_dc/case.toml", {"grid.mode": "type9"})
    assert bad.value.exit_code == 2 and "grid.mode" in str(bad.value)
    loaded = wattbit.load_case(REPO / "cases/tokyo_substation_dc/case.toml")
    with pytest.raises(ValueError, match="load_case"):
        wattbit.solve_case(loaded, {"horizon.steps": 24})
    # test_cli's infeasible case: a fixed end SoC that standing losses make unreachable.
    from conftest import hourly_index

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
    with pytest.raises(SolveError) as infeasible:
        wattbit.solve_case(make_case(case, hourly_index(24), unused=0.0))
    assert infeasible.value.exit_code == 3 and "infeasible" in str(infeasible.value)


def test_sweep_values_read_as_the_cli_s_flags():
    case = REPO / "cases/tokyo_substation_dc/case.toml"
    from_api = wattbit.sweep_spec(
        case,
        {
            "horizon.steps": 48,
            "battery.energy_capex_jpy_per_kwh": [20_000, 40_000.0],
            "battery.power_mw": "0:10:5",
            "battery.exclusive": ["auto", "never"],
            "pv.capacity_mw": [0.0, 1.0],
        },
        zipped=[["battery.energy_capex_jpy_per_kwh", "pv.capacity_mw"]],
        modes=["type2_fixed", "firm"],
        baseline={"battery.power_mw": 0},
    )
    from_cli = parse_spec(
        case,
        [
            "horizon.steps=48",
            "battery.energy_capex_jpy_per_kwh=20000,40000.0",
            "battery.power_mw=0:10:5",
            'battery.exclusive="auto","never"',
            "pv.capacity_mw=0.0,1.0",
        ],
        ["battery.energy_capex_jpy_per_kwh,pv.capacity_mw"],
        "type2_fixed,firm",
        ["battery.power_mw=0"],
    )
    assert from_api.axes == from_cli.axes and from_api.shape == (2, 3, 2, 2)
    assert from_api.fixed == from_cli.fixed == {"horizon.steps": 48}
    assert from_api.baseline == from_cli.baseline
    with pytest.raises(SweepError, match="zip"):
        wattbit.sweep_spec(case, {"battery.power_mw": [1, 2]}, zipped=[["battery.power_mw"]])
