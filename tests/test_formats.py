"""``--format csv|json``: every command that prints a table writes it to stdout in a form a
program can read — nothing else on stdout (messages, files written and timings on stderr) — with
the raw values in base units, equal to the files the same run writes with ``--out``."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from wattbit.cli import app
from wattbit.cli.common import Column, Format, Output

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "cases" / "tokyo_substation_dc" / "case.toml"
BATTERY_WINS = REPO / "cases" / "type2_battery_wins" / "case.toml"
TOWN = REPO / "cases" / "town" / "case.toml"
TYPE3 = REPO / "cases" / "type3_substation" / "case.toml"
DAY = ["--set", "horizon.steps=24"]
TYPE3_CUT = [
    *("--set", "horizon.start=2025-09-30T12:00:00+09:00", "--set", "horizon.steps=48"),
    *("--set", "type3.out_of_sample_years=0", "--scenarios", "2"),
]

runner = CliRunner()


def _run(*args: object) -> tuple[str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def _csv_blocks(text: str) -> dict[str, list[dict[str, str]]]:
    """CSV stdout as {table: rows}: blocks apart by an empty line, each named by a '# name'
    line when there are several."""
    blocks = {}
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        name = lines.pop(0).removeprefix("# ") if lines[0].startswith("# ") else "only"
        blocks[name] = list(csv.DictReader(io.StringIO("\n".join(lines))))
    return blocks


def test_solve_kpis_as_json_and_csv_equal_the_written_kpis(tmp_path):
    stdout, stderr = _run("solve", EXAMPLE, *DAY, "--format", "json", "--out", tmp_path)
    shown = json.loads(stdout)
    written = json.loads((tmp_path / "kpis.json").read_text())["kpis"]
    assert {r["kpi"]: r["value"] for r in shown["kpis"]} == pytest.approx(written, rel=1e-12)
    assert shown["notes"][0].startswith("verifier: max violation") and "ok" in shown["notes"][0]
    assert "wrote" in stderr and "time:" in stderr
    stdout, _ = _run("solve", EXAMPLE, *DAY, "--format", "csv")
    rows = _csv_blocks(stdout)["only"]
    assert [r["kpi"] for r in rows] == list(written)
    cost = next(float(r["value"]) for r in rows if r["kpi"] == "total_cost_jpy")
    assert cost == pytest.approx(written["total_cost_jpy"], rel=1e-12)


def test_network_kpis_as_json(tmp_path):
    stdout, _ = _run("network", TOWN, *DAY, "--format", "json", "--out", tmp_path, "--no-plot")
    shown = {r["kpi"]: r["value"] for r in json.loads(stdout)["kpis"]}
    written = json.loads((tmp_path / "kpis.json").read_text())["kpis"]
    assert shown == pytest.approx(written, rel=1e-12)


def test_headroom_tables_as_csv():
    stdout, _ = _run("headroom", EXAMPLE, "--format", "csv")
    blocks = _csv_blocks(stdout)
    assert set(blocks) == {"potential", "by_hour"}
    assert [r["hour"] for r in blocks["by_hour"]] == [str(h) for h in range(24)]
    real = float(blocks["potential"][0]["energy_mwh_per_year"])
    assert real > float(blocks["potential"][1]["energy_mwh_per_year"]) > 0  # H(t) ≥ pattern


def test_compare_cells_as_json_equal_compare_csv(tmp_path):
    args = ["compare", BATTERY_WINS, *DAY, "--modes", "type2_fixed,type2_dynamic"]
    stdout, _ = _run(*args, "--breakeven-modes", "", "--format", "json", "--out", tmp_path)
    shown = pd.DataFrame(json.loads(stdout)["cells"])
    written = pd.read_csv(tmp_path / "compare.csv")
    assert list(shown["strategy"]) == list(written["strategy"])  # full names, not the short ones
    for column in ("total_cost_jpy", "net_benefit_jpy", "battery_energy_mwh"):
        assert shown[column].tolist() == pytest.approx(written[column].tolist(), rel=1e-12)
    assert any("battery-shaped" in note for note in json.loads(stdout)["notes"])  # the verdict


def test_ridethrough_and_connect_as_json(tmp_path):
    stdout, _ = _run("ridethrough", TYPE3, *TYPE3_CUT, "--format", "json", "--out", tmp_path)
    shown = json.loads(stdout)
    costs = pd.read_csv(tmp_path / "ride_through_cost.csv")
    assert [r["term"] for r in shown["costs"]] == costs["term"].tolist()
    total = next(r for r in shown["costs"] if r["term"] == "total_cost_jpy")
    expected = costs.set_index("term").loc["total_cost_jpy", "ride_through_jpy_per_year"]
    assert total["ride_through_jpy_per_year"] == pytest.approx(expected, rel=1e-12)
    assert {r["kind"] for r in shown["carried_by"]} == {"fault", "maintenance"}
    assert shown["survival"][0]["duration_h"] == 1.0
    stdout, _ = _run("connect", TYPE3, *TYPE3_CUT, "--format", "csv", "--out", tmp_path / "c")
    blocks = _csv_blocks(stdout)
    written = pd.read_csv(tmp_path / "c" / "connect.csv")
    assert [r["option"] for r in blocks["options"]] == written["option"].tolist()
    npv = [float(r["npv_jpy"]) for r in blocks["options"]]
    assert npv == pytest.approx(written["npv_jpy"].tolist(), rel=1e-12)


def test_sweep_summary_as_csv(tmp_path):
    args = ["sweep", EXAMPLE, *DAY, "--set", "battery.energy_capex_jpy_per_kwh=20000,40000"]
    stdout, stderr = _run(*args, "--jobs", "1", "--out", tmp_path, "--format", "csv")
    assert _csv_blocks(stdout)["only"] == [{"status": "ok", "cases": "2"}]
    assert "wrote" in stderr


def test_output_writes_nan_as_null_and_empty():
    """A missing value is null in JSON and an empty field in CSV, never the invalid NaN."""
    columns = (Column("name", "name", left=True), Column("value_mw", "MW", "{:.1f}"))
    rows = [{"name": "a", "value_mw": math.nan}, {"name": "b", "value_mw": 2.0}]
    for fmt, expected in ((Format.json, None), (Format.csv, "")):
        out = Output(fmt)
        out.table("t", "title", columns, rows)
        assert out.tables["t"][0]["value_mw"] is None
        buffer = io.StringIO()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stdout", buffer)
            out.emit()
        text = buffer.getvalue()
        first = json.loads(text)["t"][0] if fmt is Format.json else _csv_blocks(text)["only"][0]
        assert first["value_mw"] == expected


@pytest.mark.parametrize(
    "args",
    [
        ["solve", EXAMPLE, *DAY],
        ["headroom", EXAMPLE],
        ["compare", BATTERY_WINS, *DAY, "--breakeven-modes", ""],
    ],
    ids=["solve", "headroom", "compare"],
)
def test_tables_fit_80_columns(args):
    """At 80 columns every table line fits and no number is folded onto a second line: each
    row of the compare table holds its 8 cells (a folded number would leave a stub row)."""
    result = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    if args[0] == "compare":
        short = {"load-follow", "batt-shaped", "both"}  # the strategies' short names
        rows = [line.split() for line in lines if line.split()[:1] and line.split()[0] in short]
        assert len(rows) == 12 and all(len(cells) == 8 for cells in rows), rows
