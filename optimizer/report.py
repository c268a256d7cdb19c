"""Writing and printing results: NetCDF, KPI CSV/JSON and a rich table."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd
import xarray as xr
from rich.console import Console
from rich.table import Table

KPI_UNITS = {
    "_mwh_h": "MWh·h",
    "_mwh": "MWh",
    "_mw": "MW",
    "_jpy": "JPY/yr",
    "_h": "h",
    "_fraction": "–",
    "_cycles": "cycles",
}


def kpi_unit(name: str) -> str:
    for suffix, unit in KPI_UNITS.items():
        if name.endswith(suffix):
            return unit
    return ""


def kpi_table(kpis: dict[str, float], title: str) -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("KPI")
    table.add_column("value", justify="right")
    table.add_column("unit")
    for name, value in kpis.items():
        table.add_row(
            name, f"{value:,.3f}" if abs(value) < 1e3 else f"{value:,.0f}", kpi_unit(name)
        )
    return table


def print_kpis(kpis: dict[str, float], title: str, console: Console | None = None) -> None:
    (console or Console()).print(kpi_table(kpis, title))


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: never a half file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_results(results: xr.Dataset, kpis: dict[str, float], out: Path) -> list[Path]:
    """Write ``results.nc``, ``kpis.csv`` and ``kpis.json`` into ``out``; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    nc, csv, js = out / "results.nc", out / "kpis.csv", out / "kpis.json"
    _atomic_write(nc, lambda p: results.to_netcdf(p, engine="h5netcdf"))
    frame = pd.DataFrame(
        {"kpi": list(kpis), "value": list(kpis.values()), "unit": [kpi_unit(k) for k in kpis]}
    )
    _atomic_write(csv, lambda p: frame.to_csv(p, index=False))
    payload = {"case": results.attrs.get("case_name"), "status": results.attrs.get("solver_status")}
    payload["kpis"] = kpis
    _atomic_write(js, lambda p: p.write_text(json.dumps(payload, indent=2)))
    return [nc, csv, js]
