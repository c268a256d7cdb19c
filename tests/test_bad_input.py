"""Bad input through the command line: each malformed case gives exit code 2 and one line
``error: FILE: FIELD: message`` on stderr, naming the file and the field, and no traceback.

Every case starts from one small valid case (checked by ``test_base_case_is_valid``) and breaks
exactly one thing in it.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import hourly_index, to_toml, write_series
from typer.testing import CliRunner

from wattbit.cli import app

STEPS = 48
START = "2025-05-01T00:00:00+09:00"
BASE: dict[str, Any] = {
    "horizon": {"start": START, "steps": 24},
    "dc": {"it_mw": "load", "pue": 1.2},
    "grid": {"import_limit_mw": "headroom", "energy_price_jpy_per_mwh": "price"},
    "pv": {"capacity_mw": {"max": 5.0}, "availability": "pv"},
    "battery": {"power_mw": {"max": 10.0}, "energy_mwh": {"max": 40.0}},
}


def base_columns(index: pd.DatetimeIndex) -> dict[str, np.ndarray | float]:
    hour = np.asarray(index.hour)
    return {
        "load": 10.0,
        "headroom": 20.0,
        "price": np.where(hour < 12, 10_000.0, 30_000.0),
        "pv": np.where((hour >= 6) & (hour < 18), 0.6, 0.0),
        "util": 0.5,
    }


def one_off(value: float, at: int = 5, other: float = 10.0) -> np.ndarray:
    """A column equal to ``other`` except ``value`` at step ``at`` (inside the horizon)."""
    return np.where(np.arange(STEPS) == at, value, other)


# --- ways to break a case -----------------------------------------------------------------------


def set_(**changes: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or, with ``None``, delete) case entries; ``battery__power_mw`` is battery.power_mw."""

    def edit(case: dict[str, Any]) -> None:
        for key, value in changes.items():
            *tables, last = key.split("__")
            node = case
            for table in tables:
                node = node[table]
            if value is None:
                del node[last]
            else:
                node[last] = value

    return edit


def replace_in(name: str, old: str, new: str) -> Callable[[Path], None]:
    """Replace text in a written file; fails if ``old`` is absent (so the break really happens)."""

    def edit(folder: Path) -> None:
        text = (folder / name).read_text()
        assert old in text, f"{old!r} not in {name}"
        (folder / name).write_text(text.replace(old, new, 1))

    return edit


def overwrite(name: str, content: bytes) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        (folder / name).write_bytes(content)

    return write


def second_file(index: pd.DatetimeIndex, **columns: Any) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        write_series(folder / "more.csv", index, **columns)

    return write


def with_more(case: dict[str, Any]) -> None:
    case["series"] = ["series.csv", "more.csv"]


@dataclass(frozen=True)
class Bad:
    """One malformation and the error line it must give."""

    file: str  # where the error is, relative to the case folder ("--set" for the option)
    field: str | None  # the field the line names, None for whole-file errors
    says: str  # a fragment of the message
    case: Callable[[dict[str, Any]], None] | None = None
    columns: dict[str, Any] = field(default_factory=dict)
    index: pd.DatetimeIndex | None = None
    files: Callable[[Path], None] | None = None
    args: tuple[str, ...] = ()
    command: str = "validate"
    case_file: str = "case.toml"


NAIVE = pd.date_range("2025-05-01", periods=STEPS, freq="h")
UTC_WALL_CLOCK = pd.date_range("2025-05-01", periods=STEPS, freq="h", tz="UTC")

BAD: dict[str, Bad] = {
    # the case file itself
    "case-file-missing": Bad("missing.toml", None, "case file not found", case_file="missing.toml"),
    "not-toml": Bad(
        "case.toml", None, "not valid TOML", files=replace_in("case.toml", "[dc]", "[dc")
    ),
    "not-utf8": Bad(
        "case.toml", None, "not a UTF-8 text file", files=overwrite("case.toml", b"\xff\xfe[dc]")
    ),
    # schema: required and unknown keys
    "missing-dc": Bad("case.toml", "dc", "required field is missing", case=set_(dc=None)),
    "missing-grid": Bad("case.toml", "grid", "required field is missing", case=set_(grid=None)),
    "missing-name": Bad(
        "case.toml",
        "name",
        "required field is missing",
        files=replace_in("case.toml", 'name = "test"', ""),
    ),
    "missing-price": Bad(
        "case.toml",
        "grid.energy_price_jpy_per_mwh",
        "required field is missing",
        case=set_(grid__energy_price_jpy_per_mwh=None),
    ),
    "missing-range-max": Bad(
        "case.toml",
        "battery.power_mw.max",
        "required field is missing",
        case=set_(battery__power_mw={"min": 1.0}),
    ),
    "unknown-top-level-key": Bad("case.toml", "colour", "unknown field", case=set_(colour="red")),
    "unknown-key-in-table": Bad(
        "case.toml", "battery.colour", "unknown field", case=set_(battery__colour="red")
    ),
    "unknown-key-in-range": Bad(
        "case.toml",
        "pv.capacity_mw.maxi",
        "unknown field (did you mean 'max'?)",
        case=set_(pv__capacity_mw={"maxi": 5.0}),
    ),
    "wrong-unit-suffix": Bad(
        "case.toml",
        "battery.power_kw",
        "did you mean 'power_mw'? units are part of field names",
        case=set_(battery__power_kw=10_000.0, battery__power_mw=None),
    ),
    # schema: values
    "negative-size": Bad(
        "case.toml",
        "battery.energy_mwh",
        "greater than or equal to 0",
        case=set_(battery__energy_mwh=-5.0),
    ),
    "negative-range-max": Bad(
        "case.toml",
        "battery.energy_mwh.max",
        "greater than or equal to 0",
        case=set_(battery__energy_mwh={"max": -5.0}),
    ),
    "range-min-above-max": Bad(
        "case.toml",
        "battery.power_mw",
        "min (20.0) exceeds max (10.0)",
        case=set_(battery__power_mw={"min": 20.0, "max": 10.0}),
    ),
    "efficiency-zero": Bad(
        "case.toml",
        "battery.charge_efficiency",
        "greater than 0",
        case=set_(battery__charge_efficiency=0.0),
    ),
    "efficiency-above-one": Bad(
        "case.toml",
        "battery.discharge_efficiency",
        "less than or equal to 1",
        case=set_(battery__discharge_efficiency=1.5),
    ),
    "nan-in-toml": Bad(
        "case.toml",
        "dc.pue",
        "finite number",
        files=replace_in("case.toml", "pue = 1.2", "pue = nan"),
    ),
    "inf-in-toml": Bad(
        "case.toml",
        "pv.capacity_mw",
        "finite number",
        files=replace_in("case.toml", "capacity_mw = { max = 5.0 }", "capacity_mw = inf"),
    ),
    "inf-in-range": Bad(
        "case.toml",
        "pv.capacity_mw.max",
        "finite number",
        files=replace_in("case.toml", "capacity_mw = { max = 5.0 }", "capacity_mw = { max = inf }"),
    ),
    "nan-scale": Bad(
        "case.toml",
        "dc.it_mw.scale",
        "finite number",
        files=replace_in("case.toml", 'it_mw = "load"', 'it_mw = { column = "load", scale = nan }'),
    ),
    "boolean-as-number": Bad(
        "case.toml",
        "dc.pue",
        "expected a number, a column name or a table { column = … }, got True",
        case=set_(dc__pue=True),
    ),
    "text-as-capacity": Bad(
        "case.toml",
        "battery.power_mw",
        "expected a number or a range { min = …, max = … }, got 'big'",
        case=set_(battery__power_mw="big"),
    ),
    "value-for-table": Bad("case.toml", "dc", "expected a table, got 5.0", case=set_(dc=5.0)),
    "unknown-choice": Bad(
        "case.toml",
        "battery.soc_rule",
        "'cyclic' or 'fixed'",
        case=set_(battery__soc_rule="weekly"),
    ),
    # schema: consistency between fields
    "it-mw-and-utilisation": Bad(
        "case.toml",
        "dc",
        "not both",
        case=set_(dc__utilisation="util", dc__idle_it_mw=3.0, dc__peak_it_mw=10.0),
    ),
    "neither-it-mw-nor-utilisation": Bad(
        "case.toml", "dc", "give it_mw, or utilisation", case=set_(dc__it_mw=None)
    ),
    "idle-above-peak": Bad(
        "case.toml",
        "dc",
        "idle_it_mw exceeds peak_it_mw",
        case=set_(dc__it_mw=None, dc__utilisation="util", dc__idle_it_mw=12.0, dc__peak_it_mw=10.0),
    ),
    "import-limit-and-limit": Bad(
        "case.toml",
        "grid",
        "give import_limit_mw or limit_mw with base_flow_mw, not both",
        case=set_(grid__limit_mw=50.0, grid__base_flow_mw=5.0),
    ),
    "no-import-limit": Bad(
        "case.toml",
        "grid",
        "give import_limit_mw, or limit_mw",
        case=set_(grid__import_limit_mw=None),
    ),
    "soc-min-above-max": Bad(
        "case.toml",
        "battery",
        "soc_min_fraction exceeds soc_max_fraction",
        case=set_(battery__soc_min_fraction=0.8, battery__soc_max_fraction=0.2),
    ),
    # horizon
    "start-without-offset": Bad(
        "case.toml",
        "horizon.start",
        "needs a UTC offset",
        case=set_(horizon__start="2025-05-01T00:00:00"),
    ),
    "end-before-start": Bad(
        "case.toml",
        "horizon",
        "end must be after start",
        case=set_(horizon__end="2025-04-30T00:00:00+09:00", horizon__steps=None),
    ),
    "end-and-steps": Bad(
        "case.toml",
        "horizon",
        "give end or steps, not both",
        case=set_(horizon__end="2025-05-02T00:00:00+09:00"),
    ),
    "steps-zero": Bad("case.toml", "horizon.steps", "greater than 0", case=set_(horizon__steps=0)),
    "more-steps-than-series": Bad(
        "case.toml",
        "horizon.steps",
        "100 steps asked, the series has 48",
        case=set_(horizon__steps=100),
    ),
    "horizon-selects-nothing": Bad(
        "case.toml",
        "horizon",
        "selects no time step",
        case=set_(horizon__start="2026-05-01T00:00:00+09:00", horizon__steps=None),
    ),
    "horizon-single-step": Bad(
        "case.toml", "horizon", "single time step", case=set_(horizon__steps=1)
    ),
    "start-between-steps": Bad(
        "case.toml",
        "horizon.start",
        "is not a timestamp of the series",
        case=set_(horizon__start="2025-05-01T00:30:00+09:00"),
    ),
    "unknown-timezone": Bad(
        "case.toml",
        "horizon.timezone",
        "unknown timezone 'Asia/Tokio'",
        case=set_(horizon__timezone="Asia/Tokio"),
    ),
    "timezone-is-a-region": Bad(
        "case.toml",
        "horizon.timezone",
        "unknown timezone 'Asia'",
        case=set_(horizon__timezone="Asia"),
    ),
    # series files
    "no-series-file": Bad("case.toml", "series", "no series file given", case=set_(series=[])),
    "series-file-missing": Bad(
        "case.toml",
        "series[1]",
        "file not found: nope.csv",
        case=set_(series=["series.csv", "nope.csv"]),
    ),
    "series-file-empty": Bad(
        "series.csv", None, "not a readable CSV", files=overwrite("series.csv", b"")
    ),
    "no-timestamp-column": Bad(
        "series.csv",
        "timestamp",
        "column missing",
        files=replace_in("series.csv", "timestamp", "time"),
    ),
    "timestamp-without-offset": Bad(
        "series.csv", "timestamp", "timezone offset missing in '2025-05-01T00:00:00'", index=NAIVE
    ),
    "unreadable-timestamp": Bad(
        "series.csv",
        "timestamp",
        "unreadable timestamp '2025-05-01T33:00:00+09:00' at row 5",
        files=replace_in("series.csv", "2025-05-01T03:00:00+09:00", "2025-05-01T33:00:00+09:00"),
    ),
    "timestamps-go-back": Bad(
        "series.csv",
        "timestamp",
        "row 3 ('2025-05-01T00:00:00+09:00') goes back in time",
        index=hourly_index(STEPS)[[1, 0, *range(2, STEPS)]],
    ),
    "timestamp-repeats": Bad(
        "series.csv",
        "timestamp",
        "row 3 ('2025-05-01T00:00:00+09:00') repeats",
        index=hourly_index(STEPS)[[0, 0, *range(2, STEPS)]],
    ),
    "irregular-step": Bad(
        "series.csv",
        "timestamp",
        "time step changes at row 12 ('2025-05-01T11:00:00+09:00')",
        index=hourly_index(STEPS + 1).delete(10),
    ),
    "step-above-one-hour": Bad(
        "series.csv",
        "timestamp",
        "step of 2 h",
        index=pd.date_range("2025-05-01", periods=STEPS, freq="2h", tz="Asia/Tokyo"),
    ),
    "step-not-dividing-an-hour": Bad(
        "series.csv",
        "timestamp",
        "step of 0.75 h",
        index=pd.date_range("2025-05-01", periods=STEPS, freq="45min", tz="Asia/Tokyo"),
    ),
    "series-length-mismatch": Bad(
        "more.csv",
        "timestamp",
        "40 rows here, 48 in series.csv",
        case=with_more,
        files=second_file(hourly_index(40), other=1.0),
    ),
    "series-timezone-mismatch": Bad(
        "more.csv",
        "timestamp",
        "row 2 is 2025-05-01T00:00:00+00:00, in series.csv 2025-05-01T00:00:00+09:00",
        case=with_more,
        files=second_file(UTC_WALL_CLOCK, other=1.0),
    ),
    "column-in-two-files": Bad(
        "more.csv",
        "load",
        "column also in",
        case=with_more,
        files=second_file(hourly_index(STEPS), load=1.0),
    ),
    "referenced-column-missing": Bad(
        "case.toml", "dc.it_mw", "column 'lod' not in the series", case=set_(dc__it_mw="lod")
    ),
    "nan-in-column": Bad(
        "series.csv",
        "load",
        "missing value at 2025-05-01T05:00:00+09:00 (row 7)",
        columns={"load": one_off(np.nan)},
    ),
    "inf-in-column": Bad(
        "series.csv",
        "price",
        "infinite value at 2025-05-01T05:00:00+09:00 (row 7)",
        columns={"price": one_off(np.inf)},
    ),
    "text-in-column": Bad(
        "series.csv",
        "load",
        "'ten' at 2025-05-01T00:00:00+09:00 (row 2): not a number",
        files=replace_in("series.csv", "+09:00,10.0,", "+09:00,ten,"),
    ),
    "availability-above-one": Bad(
        "case.toml",
        "pv.availability",
        "value 1.5 at 2025-05-01T05:00:00+09:00 (row 7) outside [0, 1]",
        columns={"pv": one_off(1.5, other=0.5)},
    ),
    "utilisation-below-zero": Bad(
        "case.toml",
        "dc.utilisation",
        "value -0.1 at 2025-05-01T05:00:00+09:00 (row 7)",
        case=set_(dc__it_mw=None, dc__utilisation="util", dc__idle_it_mw=3.0, dc__peak_it_mw=10.0),
        columns={"util": one_off(-0.1, other=0.5)},
    ),
    "pue-below-one": Bad("case.toml", "dc.pue", "value 0.9 outside", case=set_(dc__pue=0.9)),
    "column-name-like-markup": Bad(
        "case.toml",
        "dc.it_mw",
        "column 'load[/]' not in the series",
        case=set_(dc__it_mw="load[/]"),
    ),
    # --set
    "set-without-equals": Bad(
        "--set", "battery.power_mw", "expected PATH=VALUE", args=("--set", "battery.power_mw")
    ),
    "set-empty-path": Bad("--set", "=5", "expected PATH=VALUE", args=("--set", "=5")),
    "set-empty-path-part": Bad(
        "--set", "battery..power_mw=5", "expected PATH=VALUE", args=("--set", "battery..power_mw=5")
    ),
    "set-unknown-field": Bad(
        "case.toml",
        "battery.power_kw",
        "did you mean 'power_mw'",
        args=("--set", "battery.power_kw=5"),
    ),
    "set-through-a-value": Bad(
        "case.toml", "name", "is a value, not a table", args=("--set", "name.x=5")
    ),
    "set-bad-value": Bad(
        "case.toml",
        "battery.energy_mwh",
        "expected a number or a range { min = …, max = … }, got 'abc'",
        args=("--set", "battery.energy_mwh=abc"),
    ),
    # solve stops at the same errors, before building a model
    "solve-missing-price": Bad(
        "case.toml",
        "grid.energy_price_jpy_per_mwh",
        "required field is missing",
        case=set_(grid__energy_price_jpy_per_mwh=None),
        command="solve",
    ),
    "solve-inf-in-column": Bad(
        "series.csv",
        "price",
        "infinite value at",
        columns={"price": one_off(-np.inf)},
        command="solve",
    ),
    "solve-horizon-single-step": Bad(
        "case.toml",
        "horizon",
        "single time step",
        args=("--set", "horizon.steps=1"),
        command="solve",
    ),
    "solve-set-negative-size": Bad(
        "case.toml",
        "battery.energy_mwh",
        "greater than or equal to 0",
        args=("--set", "battery.energy_mwh=-1"),
        command="solve",
    ),
}


def write_case(folder: Path, bad: Bad | None = None) -> Path:
    """The base case in ``folder``, broken as ``bad`` says; returns the path to pass the CLI."""
    case = {"name": "test", "series": ["series.csv"], **copy.deepcopy(BASE)}
    index = hourly_index(STEPS)
    columns: dict[str, Any] = base_columns(index)
    if bad is not None:
        if bad.case is not None:
            bad.case(case)
        index = bad.index if bad.index is not None else index
        columns = {**base_columns(index), **bad.columns}
    write_series(folder / "series.csv", index, **columns)
    (folder / "case.toml").write_text(to_toml(case))
    if bad is not None and bad.files is not None:
        bad.files(folder)
    return folder / (bad.case_file if bad is not None else "case.toml")


def error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{stderr}"
    return lines[0]


def test_base_case_is_valid(tmp_path):
    result = CliRunner().invoke(app, ["validate", str(write_case(tmp_path))])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert "24 steps of 1 h" in " ".join(result.stdout.split())


def test_enough_distinct_malformations():
    assert len(BAD) >= 24
    assert len({(b.file, b.field, b.says) for b in BAD.values()}) >= 24


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_gives_one_line_and_exit_code_2(tmp_path, name):
    bad = BAD[name]
    path = write_case(tmp_path, bad)
    result = CliRunner().invoke(app, [bad.command, str(path), *bad.args])

    assert isinstance(result.exception, SystemExit), result.exc_info
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    line = error_line(result.stderr)
    where = bad.file if bad.file == "--set" else str(tmp_path / bad.file)
    prefix = f"error: {where}: " + (f"{bad.field}: " if bad.field is not None else "")
    assert line.startswith(prefix), line
    assert bad.says in line[len(prefix) :], line
    if bad.field is None:  # a whole-file error must not pretend to name a field
        assert not line[len(prefix) :].startswith(": ")


def wattbit_script() -> Path:
    script = Path(sys.executable).with_name("wattbit")
    if not script.is_file():
        pytest.skip("the wattbit console script is not installed beside this Python")
    return script


def test_console_script_prints_no_traceback(tmp_path):
    """The installed ``wattbit`` command, on a real process: one line on stderr, exit code 2.
    (A region such as "Asia" as timezone once escaped as an IsADirectoryError traceback.)"""
    path = write_case(tmp_path, BAD["timezone-is-a-region"])
    proc = subprocess.run(
        [str(wattbit_script()), "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    line = error_line(proc.stderr)
    assert line == (
        f"error: {path}: horizon.timezone: unknown timezone 'Asia' (an IANA name, e.g. Asia/Tokyo)"
    )
