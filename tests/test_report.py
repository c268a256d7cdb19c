"""``wattbit report DIR``: one self-contained HTML page from a result folder.

Result folders of a solve, a network dispatch, a compare and a sweep are written on short cuts of
the bundled measured-data cases. The page must show every KPI with its unit, embed every PNG of
the folder byte for byte, re-run the verifier on a stored ``results.nc`` (a tampered one fails,
exit 7) and name the versions. In headless Chromium (skipped, with the reason, where no
``chromium`` is installed; ``.ci/run`` installs it) every image must load (natural width > 0),
every table must have rows, and the screenshot must not be blank.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from matplotlib import image
from typer.testing import CliRunner

import wattbit
from wattbit.cli import app
from wattbit.cli.report import verify_stored
from wattbit.html_report import build_report, unit_of
from wattbit.sweep.run import plot_file

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "cases" / "tokyo_substation_dc" / "case.toml"
BATTERY_WINS = REPO / "cases" / "type2_battery_wins" / "case.toml"
TOWN = REPO / "cases" / "town" / "case.toml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

runner = CliRunner()


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One result folder per kind, each as its command writes it with --out."""
    root = tmp_path_factory.mktemp("results")
    wattbit.solve_case(EXAMPLE, {"horizon.steps": 48}).write(root / "solve")
    wattbit.solve_network(TOWN, {"horizon.steps": 24}).write(root / "network")
    wattbit.compare(BATTERY_WINS, {"horizon.steps": 24}, modes=["type2_fixed"]).write(
        root / "compare"
    )
    sweep = wattbit.run_sweep(
        BATTERY_WINS,
        {"battery.energy_capex_jpy_per_kwh": [20000.0, 60000.0], "horizon.steps": 24},
        out=root / "sweep",
    )
    sweep.write(root / "sweep")
    plot_file(root / "sweep" / "sweep.nc", x="battery.energy_capex_jpy_per_kwh", z="total_cost_jpy")
    return {kind: root / kind for kind in ("solve", "network", "compare", "sweep")}


def _html(folder: Path) -> str:
    return build_report(folder, verify_stored).render()


def test_units_come_from_the_name_suffix():
    assert unit_of("grid_peak_import_mw") == "MW"
    assert unit_of("battery_energy_mwh") == "MWh"
    assert unit_of("total_cost_jpy") == "JPY/yr"
    assert unit_of("grid_import_mwh_per_year") == "MWh/yr"
    assert unit_of("battery.energy_capex_jpy_per_kwh") == "JPY/kWh"
    assert unit_of("status") == ""


def test_a_solve_report_shows_every_kpi_with_its_unit(folders):
    page = build_report(folders["solve"], verify_stored)
    assert page.kind == "solve"
    assert page.case["case_name"] == "tokyo_substation_dc"
    assert page.solver["solver_status"] == "optimal"
    kpis = json.loads((folders["solve"] / "kpis.json").read_text())["kpis"]
    html = page.render()
    for name in kpis:
        row = re.search(rf"<td>{re.escape(name)}</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", html)
        assert row, f"KPI {name} missing from the page"
        assert row[2] == unit_of(name), name
    cost = re.search(r"<td>total_cost_jpy</td>\s*<td>([^<]*)</td>", html)[1]
    assert float(cost.replace(",", "")) == pytest.approx(kpis["total_cost_jpy"], abs=0.5)


@pytest.mark.parametrize("kind", ["solve", "network", "compare", "sweep"])
def test_every_png_of_the_folder_is_embedded_byte_for_byte(folders, kind):
    html = _html(folders[kind])
    pngs = sorted(folders[kind].glob("*.png"))
    assert pngs, f"the {kind} folder has no figure to embed"
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert [base64.b64decode(e) for e in embedded] == [p.read_bytes() for p in pngs]
    assert 'src="http' not in html and "<link " not in html, "the page must stand alone"


@pytest.mark.parametrize(
    ("kind", "checks"), [("solve", "checks re-run"), ("network", "checks re-run")]
)
def test_the_verifier_is_rerun_on_the_stored_results(folders, kind, checks):
    page = build_report(folders[kind], verify_stored)
    assert page.check.ok is True
    assert checks in page.check.summary
    assert page.check.worst, "the page lists the checks with the largest violations"


def test_a_study_report_says_what_was_verified(folders):
    compare = build_report(folders["compare"], verify_stored)
    assert compare.kind == "compare" and compare.check.ok is None
    assert compare.name == "type2_battery_wins"
    assert compare.case["description"].startswith("15 MW IT DC")
    assert "verdict" not in compare.case, "a long verdict is shown once, from verdict.txt"
    assert "verdict.txt" in compare.texts
    sweep = build_report(folders["sweep"], verify_stored)
    assert sweep.kind == "sweep" and sweep.check.ok is True
    assert "2 ok" in sweep.check.summary
    assert sweep.case["swept battery.energy_capex_jpy_per_kwh"] == "2 values: 20,000, 60,000"


def test_versions_are_named(folders):
    page = build_report(folders["solve"], verify_stored)
    assert page.versions["wattbit"] == wattbit.__version__
    assert {"python", "highspy", "pyomo", "xarray"} <= set(page.versions)


def test_the_command_writes_the_page(folders, tmp_path):
    target = tmp_path / "solve.html"
    result = runner.invoke(app, ["report", str(folders["solve"]), "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert "verifier ok" in result.output
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_a_tampered_result_fails_the_verifier(folders, tmp_path):
    folder = tmp_path / "tampered"
    shutil.copytree(folders["solve"], folder)
    with xr.open_dataset(folder / "results.nc", engine="h5netcdf") as ds:
        ds = ds.load()
    ds["grid_import_mw"] = ds["grid_import_mw"] * 1.05
    ds.to_netcdf(folder / "results.nc", engine="h5netcdf")
    result = runner.invoke(app, ["report", str(folder)])
    assert result.exit_code == 7, result.output
    assert "violation" in (folder / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("bad", ["missing", "empty"])
def test_a_folder_without_results_is_bad_input(tmp_path, bad):
    folder = tmp_path / bad
    if bad == "empty":
        folder.mkdir()
    result = runner.invoke(app, ["report", str(folder)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(folder.name) in lines[0], result.output
    assert "Traceback" not in result.output


# --- rendered in a browser ----------------------------------------------------------------------

PROBE = """<script>
window.addEventListener("load", () => {
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({
    images: [...document.images].map((i) => (i.complete ? i.naturalWidth : 0)),
    tables: [...document.querySelectorAll("table")].map((t) => t.rows.length),
  });
  document.body.appendChild(out);
});
</script></body>"""


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
@pytest.mark.parametrize("kind", ["solve", "compare", "sweep"])
def test_the_page_renders_in_chromium(folders, kind, tmp_path):
    page = build_report(folders[kind], verify_stored)
    probed = tmp_path / "probed.html"
    probed.write_text(page.render().replace("</body>", PROBE), encoding="utf-8")
    dom = _chromium("--virtual-time-budget=10000", "--dump-dom", probed.as_uri()).stdout
    found = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)[1])
    assert len(found["images"]) == len(page.figures) > 0
    assert all(width > 0 for width in found["images"]), f"an image did not load: {found}"
    assert len(found["tables"]) >= len(page.tables) and all(n > 1 for n in found["tables"])

    shot = tmp_path / "shot.png"
    _chromium("--window-size=1200,1600", f"--screenshot={shot}", probed.as_uri())
    pixels = image.imread(shot)[..., :3]
    assert float(np.std(pixels)) > 0.02, "the screenshot is blank"


def test_version_is_the_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"wattbit {wattbit.__version__}"


def test_log_shows_the_highs_log_on_stderr_only(monkeypatch):
    from wattbit.solver_setup import LOG_ENV

    monkeypatch.setenv(LOG_ENV, "0")  # restored after the test: the switch sets it for the process
    args = ["solve", str(EXAMPLE), "--set", "horizon.steps=24"]
    quiet = runner.invoke(app, args)
    loud = runner.invoke(app, ["--log", *args])
    assert quiet.exit_code == loud.exit_code == 0, loud.output
    assert "Objective value" not in quiet.output
    assert "Objective value" in loud.stderr and "Objective value" not in loud.stdout
