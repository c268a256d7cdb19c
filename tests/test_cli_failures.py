"""Every failure a clean exit: each row of the failures table of issue #12 through the command
line: its exit code, one ``error:`` line on stderr, no traceback, and the flag or field named."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import EXAMPLE, REPO
from typer.testing import CliRunner, Result

from wattbit.cli import app
from wattbit.network.case import load_network_case

TOWN = REPO / "cases" / "town" / "case.toml"
SHORT = ("--set", "horizon.steps=24")
runner = CliRunner()


def invoke(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def error_line(result: Result, code: int = 2) -> str:
    """The one ``error:`` line of a failed command (exit ``code``, nothing on stdout)."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def copy_case(source: Path, tmp_path: Path) -> Path:
    folder = tmp_path / source.parent.name
    shutil.copytree(source.parent, folder)
    return folder / "case.toml"


def edit_series(case: Path, column: str, row: int, value: object) -> Path:
    """Put ``value`` into ``column`` at CSV data row ``row`` (0-based) of the case's series."""
    csv = case.parent / "series.csv"
    frame = pd.read_csv(csv, dtype={column: object})
    frame.loc[row, column] = value
    frame.to_csv(csv, index=False)
    return case


# --- --out, checked before solving --------------------------------------------------------


@pytest.mark.parametrize("command", ["solve", "network", "sweep"])
@pytest.mark.parametrize("where", ["existing file", "under a file", "the case file"])
def test_a_bad_out_is_refused_before_solving(command: str, where: str, tmp_path: Path):
    case = copy_case(TOWN if command == "network" else EXAMPLE, tmp_path)
    (tmp_path / "file.txt").write_text("mine\n")
    out = {
        "existing file": tmp_path / "file.txt",
        "under a file": tmp_path / "file.txt" / "results",
        "the case file": case,
    }[where]
    sweep = ("--set", "battery.energy_mwh=0,5") if command == "sweep" else ()
    line = error_line(invoke(command, case, *SHORT, *sweep, "--out", out))
    assert line.startswith(f"error: --out: {out}: ")
    expected = {
        "existing file": "is a file, not a folder",
        "under a file": f"{tmp_path / 'file.txt'} is a file, not a folder",
        "the case file": "is the case file, not a folder",
    }[where]
    assert line.endswith(expected)
    assert (tmp_path / "file.txt").read_text() == "mine\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_out_is_refused(tmp_path: Path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    line = error_line(invoke("solve", EXAMPLE, *SHORT, "--out", locked / "results"))
    assert line == f"error: --out: {locked / 'results'}: {locked} is not writable"


# --- solver flags: the case file's own rules ----------------------------------------------------


@pytest.mark.parametrize(
    ("command", "case", "flag", "value", "says"),
    [
        ("solve", EXAMPLE, "--time-limit", "-5", "Input should be greater than 0"),
        ("solve", EXAMPLE, "--time-limit", "0", "Input should be greater than 0"),
        ("solve", EXAMPLE, "--mip-gap", "5", "Input should be less than 1"),
        ("solve", EXAMPLE, "--threads", "0", "Input should be greater than or equal to 1"),
        ("network", TOWN, "--time-limit", "-5", "Input should be greater than 0"),
        ("network", TOWN, "--threads", "0", "Input should be greater than or equal to 1"),
        ("sweep", EXAMPLE, "--time-limit", "0", "Input should be greater than 0"),
        ("compare", EXAMPLE, "--time-limit", "-1", "Input should be greater than 0"),
    ],
)
def test_solver_flags_follow_the_case_files_rules(
    command: str, case: Path, flag: str, value: str, says: str
):
    sweep = ("--set", "battery.energy_mwh=0,5") if command == "sweep" else ()
    line = error_line(invoke(command, case, *SHORT, *sweep, flag, value))
    assert line == f"error: {flag}: {value}: {says}"


def test_threads_beyond_the_cpus_are_capped_with_a_warning():
    """In its own process: HiGHS keeps the first solve's thread count for the whole process."""
    cpus = len(os.sched_getaffinity(0))
    cmd = [sys.executable, "-c", "from wattbit.cli import app; app()", "solve", str(EXAMPLE)]
    done = subprocess.run([*cmd, *SHORT, "--threads", "10000"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"warning: --threads 10000: capped at the {cpus} CPUs" in done.stderr


def test_solves_with_other_thread_counts_in_one_process():
    """HiGHS starts one scheduler per process: a later solve with another thread count restarts
    it instead of ending "Not Set" (a notebook that capped --threads, then solves on one)."""
    code = (
        "from wattbit import api\n"
        f"case = {str(EXAMPLE)!r}\n"
        "for n in (2, 1, 1, 2):\n"
        "    print(api.solve_case(case, {'horizon.steps': 24}, threads=n).status)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["optimal"] * 4


# --- sweep and plot -----------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["notaurl", "tcp://", "http://host:8786/x", "host:port"])
def test_a_scheduler_that_is_not_an_address_is_refused(address: str, tmp_path: Path):
    sweep = ("--set", "battery.energy_mwh=0,5", "--out", tmp_path / "out")
    line = error_line(invoke("sweep", EXAMPLE, *SHORT, *sweep, "--scheduler", address))
    assert line.startswith(f"error: --scheduler {address}: not a scheduler address")
    assert not (tmp_path / "out").exists()


def test_plot_of_a_file_that_is_not_netcdf(tmp_path: Path):
    fake = tmp_path / "sweep.nc"
    fake.write_text("timestamp,x\n")
    line = error_line(invoke("plot", fake, "--x", "a", "--z", "b"))
    assert line.startswith(f"error: {fake}: not a NetCDF file")


# --- names and text as typed --------------------------------------------------------------------


def test_a_name_with_markup_is_printed_literally(tmp_path: Path):
    result = invoke("solve", EXAMPLE, *SHORT, "--set", 'name="x[/] [bold]y"')
    assert result.exit_code == 0, result.output
    assert "x[/] [bold]y — optimal" in result.stdout


@pytest.mark.parametrize("command", ["validate", "solve"])
def test_a_name_with_a_nul_character_is_refused(command: str):
    line = error_line(invoke(command, EXAMPLE, *SHORT, "--set", r'name="a\u0000b"'))
    assert line == f"error: {EXAMPLE}: name: 'a\\x00b' holds a NUL character"


@pytest.mark.parametrize(
    ("assignment", "says"),
    [
        ("dc.utilisation=:fire:", "column ':fire:' not in the series"),
        ("dc.pue=a:b:c", "column 'a:b:c' not in the series"),
    ],
)
def test_input_is_quoted_as_typed(assignment: str, says: str):
    line = error_line(invoke("validate", EXAMPLE, "--set", assignment))
    assert says in line
    assert "🔥" not in line and "🅱" not in line


def test_a_sweep_flag_is_quoted_as_typed(tmp_path: Path):
    line = error_line(invoke("sweep", EXAMPLE, "--set", "x=a:b:c,d", "--out", tmp_path / "o"))
    assert line.startswith("error: --set x=a:b:c,d (at a:b:c): ")


# --- series and magnitudes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "row", "says"),
    [
        ("inf", 5, "infinite value at 2025-04-01T05:00:00+09:00 (row 7)"),
        ("", 5000, "missing value at 2025-10-26T08:00:00+09:00 (row 5002)"),  # past the horizon
        ("ten", 5, "'ten' at 2025-04-01T05:00:00+09:00 (row 7): not a number"),
    ],
)
def test_a_bad_value_in_a_network_series_is_refused_as_in_a_single_site_case(
    value: str, row: int, says: str, tmp_path: Path
):
    town = edit_series(copy_case(TOWN, tmp_path), "north_base_mw", row, value)
    site = edit_series(copy_case(EXAMPLE, tmp_path), "base_flow_mw", row, value)
    for case, column in ((town, "north_base_mw"), (site, "base_flow_mw")):
        command = "network" if case == town else "solve"
        line = error_line(invoke(command, case, *SHORT))
        assert line == f"error: {case.parent / 'series.csv'}: {column}: {says}"


def test_a_duplicated_column_name_is_refused(tmp_path: Path):
    case = copy_case(EXAMPLE, tmp_path)
    csv = case.parent / "series.csv"
    header, *rows = csv.read_text().splitlines(keepends=True)
    csv.write_text(
        header.rstrip("\n") + ",base_flow_mw\n" + "".join(r[:-1] + ",1.0\n" for r in rows)
    )
    line = error_line(invoke("validate", case))
    assert line == f"error: {csv}: base_flow_mw: column name used twice in the header"


@pytest.mark.parametrize(
    ("assignment", "field"),
    [
        ("battery.energy_capex_jpy_per_kwh=1e300", "battery.energy_capex_jpy_per_kwh"),
        ("grid.energy_price_jpy_per_mwh=1e300", "grid.energy_price_jpy_per_mwh"),
        ("dc.value_of_lost_compute_jpy_per_mwh=1e16", "dc.value_of_lost_compute_jpy_per_mwh"),
    ],
)
def test_magnitudes_the_solver_cannot_handle_are_bad_input(assignment: str, field: str):
    line = error_line(invoke("solve", EXAMPLE, *SHORT, "--set", assignment))
    value = float(assignment.partition("=")[2])
    assert line.startswith(f"error: {EXAMPLE}: {field}: value {value:g} above 1e+15 in magnitude")


def test_a_magnitude_in_a_series_names_the_field_and_the_time_stamp(tmp_path: Path):
    case = edit_series(copy_case(EXAMPLE, tmp_path), "spot_price_jpy_per_kwh", 3, 1e300)
    line = error_line(invoke("solve", case, *SHORT))
    assert line.startswith(f"error: {case}: grid.energy_price_jpy_per_mwh: value 1e+303 at ")
    assert "2025-04-01T03:00:00+09:00 (row 5) above 1e+15 in magnitude" in line


# --- every case kind on every command -------------------------------------------------------


def test_validate_takes_a_network_case():
    result = invoke("validate", TOWN, *SHORT)
    assert result.exit_code == 0, result.output
    assert "network 'town', 24 steps of 1 h from 2025-04-01T00:00:00+09:00" in result.stdout


@pytest.mark.parametrize(
    ("command", "case", "says"),
    [
        ("solve", TOWN, "nodes: a network case: run it with `wattbit network`"),
        ("compare", TOWN, "nodes: a network case: run it with `wattbit network`"),
        ("ridethrough", TOWN, "nodes: a network case: run it with `wattbit network`"),
        ("network", EXAMPLE, "a single-site case: run it with `wattbit solve`"),
    ],
)
def test_a_case_given_to_the_wrong_command_names_the_right_one(command: str, case: Path, says: str):
    line = error_line(invoke(command, case, *SHORT))
    assert line.startswith(f"error: {case}: {says}")


def test_network_set_reaches_a_named_entry_and_takes_a_time_limit():
    energy = "batteries.bess_north.energy_mwh"
    loaded = load_network_case(TOWN, {energy: 33.0})
    assert [b.energy_mwh for b in loaded.case.batteries if b.name == "bess_north"] == [33.0]
    result = invoke("network", TOWN, *SHORT, "--set", f"{energy}=33", "--time-limit", "60")
    assert result.exit_code == 0, result.output
    line = error_line(invoke("network", TOWN, "--set", "batteries.bess_south.energy_mwh=3"))
    assert line == f"error: {TOWN}: batteries: no entry named 'bess_south' (names: bess_north)"


def test_every_number_of_a_network_case_within_the_solvers_magnitudes():
    with pytest.raises(Exception, match=r"branches\[0\]\.limit_mw: value 1e\+20 above"):
        load_network_case(TOWN, {"branches.t_north.limit_mw": 1e20})


# --- ridethrough on a short cut -----------------------------------------------------------------

TYPE3 = REPO / "cases" / "type3_substation" / "case.toml"
NO_SAMPLED_FAULTS = (
    "--set", "type3.fault_statistics=[]", "--set", "type3.area_share=0.0",
    "--set", "type3.maintenance=[]", "--set", "type3.out_of_sample_years=0", "--scenarios", "1",
)  # fmt: skip


def test_ridethrough_on_a_short_cut_gives_numbers():
    fault = "[{start = 2025-04-01T10:00:00+09:00, duration_h = 3.0}]"
    result = invoke(
        "ridethrough", TYPE3, *SHORT, *NO_SAMPLED_FAULTS, "--set", f"type3.events={fault}"
    )
    assert result.exit_code == 0, result.output
    survive = next(line for line in result.stdout.splitlines() if line.startswith("P(survive"))
    assert "nan" not in survive and "1 h " in survive
    assert "not estimated" not in result.stdout


def test_ridethrough_says_why_it_has_no_survival_curve():
    """A fault over the whole cut leaves no step for a fault to start from: a clear line, not
    NaN at every point."""
    fault = "[{start = 2025-04-01T00:00:00+09:00, duration_h = 48.0}]"
    result = invoke(
        "ridethrough", TYPE3, *SHORT, *NO_SAMPLED_FAULTS, "--set", f"type3.events={fault}"
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "survival: not estimated: in every scenario its own faults cut the margin" in text
    assert "P(survive" not in text and not re.search(r"\bnan\b", text)  # "maintenance" is fine
