"""One self-contained HTML page from a result folder (``wattbit report DIR``).

Any folder a command writes with ``--out`` — solve, network, compare, ridethrough, connect, sweep —
becomes ``report.html``: the case summarised, the solver status, the verifier's result, every table
of the folder with units in its headers, every PNG embedded (base64, so the page needs no other
file), the text verdicts, and the versions of the software that rendered it. The page reads only
the folder; a stored result Dataset (``results.nc``) is checked again by the verifier the caller
passes (the single-site, stochastic or network one, chosen by the Dataset's dimensions), so the
report states what the stored numbers satisfy, not what a log once said.
"""

from __future__ import annotations

import base64
import json
import math
import platform
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import xarray as xr

from wattbit.errors import CaseError
from wattbit.report import kpi_unit
from wattbit.verify import Verification

MAX_ROWS = 60
"""Rows of a table shown in the page; the CSV in the folder has them all."""

VERSIONED = ("wattbit", "pyomo", "highspy", "numpy", "pandas", "xarray", "matplotlib")

# The file that marks each kind of result folder, first match wins.
KINDS: tuple[tuple[str, str], ...] = (
    ("sweep.nc", "sweep"),
    ("compare.json", "compare"),
    ("connect.csv", "connect"),
    ("ride_through.json", "ridethrough"),
    ("results.nc", "solve"),
)

# Units of the table columns whose names kpi_unit cannot read (annualised energies, prices).
EXTRA_UNITS = {
    "_mwh_per_year": "MWh/yr",
    "_jpy_per_kwh": "JPY/kWh",
    "_jpy_per_mwh": "JPY/MWh",
    "_jpy_per_year": "JPY/yr",
    "_years": "yr",
    "_share": "–",
}

Verifier = Callable[[xr.Dataset], Verification]


def unit_of(name: str) -> str:
    """The unit a column or KPI name carries in its suffix (``_mw`` → MW), else ``""``."""
    for suffix, unit in EXTRA_UNITS.items():
        if name.endswith(suffix):
            return unit
    return kpi_unit(name)


@dataclass
class Table:
    title: str
    file: str
    frame: pd.DataFrame
    rows: int

    @property
    def shown(self) -> int:
        return min(self.rows, MAX_ROWS)

    def html(self) -> str:
        """The table as HTML, numbers right-aligned with thousands separators."""
        frame = self.frame.head(MAX_ROWS).copy()
        if list(frame.columns) != ["kpi", "value", "unit"]:
            frame.columns = [_header(c) for c in frame.columns]
        return frame.to_html(
            index=False, border=0, classes="data", na_rep="–", float_format=_number
        )


@dataclass
class Figure:
    title: str
    file: str
    png_base64: str


@dataclass
class Check:
    """The verifier's result on a stored Dataset, or why there is none."""

    ok: bool | None
    summary: str
    worst: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Report:
    folder: Path
    kind: str
    case: dict[str, str]
    solver: dict[str, str]
    check: Check
    tables: list[Table]
    figures: list[Figure]
    texts: dict[str, str]
    versions: dict[str, str]

    @property
    def name(self) -> str:
        """The case's name, else its folder's (``cases/town/case.toml`` → ``town``)."""
        if "case_name" in self.case:
            return self.case["case_name"]
        case_file = self.case.get("case_file") or self.case.get("case")
        return Path(case_file).parent.name if case_file else self.folder.name

    def render(self) -> str:
        env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
        return env.from_string(TEMPLATE).render(
            r=self, generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        )

    def write(self, path: Path | None = None) -> Path:
        """Write the page (default ``<folder>/report.html``); return its path."""
        path = path or self.folder / "report.html"
        path.write_text(self.render(), encoding="utf-8")
        return path


def _number(value: float) -> str:
    if math.isnan(value):
        return "–"
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.3f}"


def _header(column: object) -> str:
    name = str(column)
    unit = unit_of(name)
    return f"{name} ({unit})" if unit and unit != "–" else name


def kind_of(folder: Path) -> str:
    """The kind of result in ``folder`` from the files it holds; a bad folder is a CaseError."""
    if not folder.is_dir():
        raise CaseError(
            str(folder), "", "not a folder (give the --out folder of a wattbit command)"
        )
    for marker, kind in KINDS:
        if (folder / marker).exists():
            if kind == "solve" and _is_network(folder / marker):
                return "network"
            return kind
    if any(folder.glob("*.csv")) or any(folder.glob("*.png")):
        return "result"
    raise CaseError(str(folder), "", "no wattbit results in it (no results.nc, *.csv or *.png)")


def _is_network(results_nc: Path) -> bool:
    with xr.open_dataset(results_nc, engine="h5netcdf") as ds:
        return "node" in ds.dims


def _attrs_text(attrs: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    return {n: _scalar_text(attrs[n]) for n in names if n in attrs}


def _scalar_text(value: Any) -> str:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return _number(float(value))
    return str(value)


def _dataset_summary(ds: xr.Dataset) -> dict[str, str]:
    summary = _attrs_text(
        ds.attrs, ("case_name", "case_file", "grid_mode", "mode", "flow_model", "timezone")
    )
    if "time" in ds.coords and ds.sizes.get("time"):
        tz = str(ds.attrs.get("timezone", "UTC"))
        t = pd.DatetimeIndex(ds["time"].values).tz_localize("UTC").tz_convert(tz)
        step = ds.attrs.get("dt_h")
        summary["horizon"] = f"{t[0]:%Y-%m-%d %H:%M} to {t[-1]:%Y-%m-%d %H:%M} ({tz})"
        summary["steps"] = f"{len(t)} × {step:g} h" if step is not None else str(len(t))
    for dim in ("node", "branch", "dc", "battery", "pv", "ev"):
        if dim in ds.dims:
            summary[f"{dim}s"] = str(ds.sizes[dim])
    return summary


def _solver(attrs: dict[str, Any]) -> dict[str, str]:
    return _attrs_text(
        attrs,
        (
            "solver_status",
            "solver_message",
            "objective_jpy",
            "mip_gap",
            "battery_exclusivity_binaries",
            "battery_exclusivity_rounds",
        ),
    )


def _check(ds: xr.Dataset, verify: Verifier | None) -> Check:
    if verify is None:
        return Check(None, "no verifier given for this result")
    ver = verify(ds)
    worst = sorted(ver.violations.items(), key=lambda kv: -kv[1])[:8]
    verdict = "passed" if ver.ok else f"FAILED at {ver.worst}"
    summary = (
        f"{verdict}: {len(ver.violations)} checks re-run on results.nc, "
        f"largest violation {ver.max_violation:.2e}"
    )
    return Check(ver.ok, summary, worst)


STUDY_CHECK = Check(
    None,
    "each solve of this study passed the verifier when it ran (a study stops with exit code 7 "
    "on a violation); the folder stores tables, not the solved Datasets, so none is re-checked",
)


def _tables(folder: Path) -> list[Table]:
    tables = []
    for path in sorted(folder.glob("*.csv")):
        frame = pd.read_csv(path)
        tables.append(Table(_title(path), path.name, frame, len(frame)))
    kpis = [t for t in tables if t.file == "kpis.csv"]
    return kpis + [t for t in tables if t.file != "kpis.csv"]


def _title(path: Path) -> str:
    """``ride_through_cost.csv`` → "Ride through cost"; ``kpis.csv`` → "KPIs"."""
    if path.stem == "kpis":
        return "KPIs"
    words = path.stem.replace("_", " ")
    return words[:1].upper() + words[1:]


def _figures(folder: Path) -> list[Figure]:
    figures = []
    for path in sorted(folder.glob("*.png")):
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        figures.append(Figure(_title(path), path.name, encoded))
    return figures


def _json_summary(folder: Path) -> dict[str, str]:
    """The scalar fields at the top of the folder's JSON files (lists are in the CSVs)."""
    summary: dict[str, str] = {}
    for path in sorted(folder.glob("*.json")):
        if path.name == "kpis.json":
            continue
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise CaseError(str(path), "", f"not JSON ({err.msg}, line {err.lineno})") from None
        if isinstance(payload, dict):
            for key, value in payload.items():
                # long texts (a verdict) are shown from their .txt file
                short = not isinstance(value, str) or len(value) <= 160
                if isinstance(value, str | int | float | bool) and short:
                    summary[key] = _scalar_text(value)
    return summary


def _case_description(case_file: str | None) -> dict[str, str]:
    """The case file's ``description``, where the file is still at the path the result names
    (relative paths from the folder the report is written in, as the command ran)."""
    if not case_file or not Path(case_file).is_file():
        return {}
    try:
        raw = tomllib.loads(Path(case_file).read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return {}
    return {"description": str(raw["description"])} if "description" in raw else {}


def versions() -> dict[str, str]:
    """The versions of Python and the libraries that rendered the report."""
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def build_report(folder: Path, verify: Verifier | None = None) -> Report:
    """Read ``folder`` into a :class:`Report`; ``verify`` re-checks a stored ``results.nc``
    (None: not re-checked, and the page says so)."""
    folder = Path(folder)
    kind = kind_of(folder)
    case: dict[str, str] = {}
    solver: dict[str, str] = {}
    check = STUDY_CHECK
    stored = folder / ("sweep.nc" if kind == "sweep" else "results.nc")
    if stored.exists() and kind != "sweep":
        with xr.open_dataset(stored, engine="h5netcdf") as ds:
            ds.load()
        case, solver = _dataset_summary(ds), _solver(ds.attrs)
        check = _check(ds, verify)
    elif kind == "sweep":
        case, check = _sweep_summary(stored)
    case.update(_json_summary(folder))
    case.update(_case_description(case.get("case_file") or case.get("case")))
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))}
    return Report(
        folder, kind, case, solver, check, _tables(folder), _figures(folder), texts, versions()
    )


def _sweep_summary(path: Path) -> tuple[dict[str, str], Check]:
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        summary = {
            k: _scalar_text(v) for k, v in ds.attrs.items() if isinstance(v, str | int | float)
        }
        for dim in ds.dims:
            values = ", ".join(_scalar_text(v) for v in ds[dim].values[:12]) if dim in ds else ""
            summary[f"swept {dim}"] = f"{ds.sizes[dim]} values: {values}"
        status = pd.Series(ds["status"].values.ravel()) if "status" in ds else None
    if status is None:
        return summary, Check(None, "sweep.nc holds no status per point")
    counts = ", ".join(f"{n} {name}" for name, n in status.value_counts().items())
    text = f"points by status: {counts}; each point was checked by the verifier when it was solved"
    return summary, Check(bool((status == "ok").all()), text)


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>wattbit report — {{ r.name }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table.data, table.kv { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
table.data th, table.data td, table.kv th, table.kv td { padding: 3px 8px; border-bottom: 1px solid #eee; }
table.data td { text-align: right; font-variant-numeric: tabular-nums; }
table.data td:first-child { text-align: left; } div.wide { overflow-x: auto; }
table.kv th { text-align: left; font-weight: normal; color: #555; }
.ok { color: #1a7f37; font-weight: bold; } .bad { color: #c00; font-weight: bold; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
pre { background: #f6f6f6; padding: 0.8em; white-space: pre-wrap; }
.note { color: #666; font-size: 0.85em; }
</style></head><body>
<h1>wattbit report: {{ r.name }}</h1>
<p class="note">{{ r.kind }} result from folder <code>{{ r.folder.name }}</code>; rendered {{ generated }}.</p>

<h2 id="case">Case</h2>
<table class="kv">{% for k, v in r.case.items() %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>

<h2 id="solver">Solver and verifier</h2>
{% if r.solver %}<table class="kv">{% for k, v in r.solver.items() %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>{% endif %}
<p id="verifier">Verifier:
{% if r.check.ok is true %}<span class="ok">ok</span>{% elif r.check.ok is false %}<span class="bad">violation</span>{% endif %}
{{ r.check.summary }}.</p>
{% if r.check.worst %}<table class="data"><tr><th>check (largest violations)</th><th>violation</th></tr>
{% for name, v in r.check.worst %}<tr><td style="text-align:left">{{ name }}</td><td>{{ '%.2e' % v }}</td></tr>{% endfor %}</table>{% endif %}

{% for name, text in r.texts.items() %}<h2>{{ name }}</h2><pre>{{ text }}</pre>{% endfor %}

{% for t in r.tables %}<h2>{{ t.title }}</h2>
<p class="note">from <code>{{ t.file }}</code>{% if t.rows > t.shown %}; first {{ t.shown }} of {{ t.rows }} rows{% endif %}; units in the column headers (JPY/yr are annualised).</p>
<div class="wide">{{ t.html() | safe }}</div>{% endfor %}

{% if r.figures %}<h2 id="figures">Figures</h2>{% endif %}
{% for f in r.figures %}<figure><img alt="{{ f.title }}" src="data:image/png;base64,{{ f.png_base64 }}">
<figcaption>{{ f.title }} (<code>{{ f.file }}</code>)</figcaption></figure>{% endfor %}

<h2 id="versions">Versions</h2>
<p class="note">of the software that rendered this page (the run's own are in its folder's files, where stored).</p>
<table class="kv">{% for k, v in r.versions.items() %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}</table>
</body></html>
"""
