"""A sweep's results: :class:`RecordStore` keeps one JSON record per case (written atomically,
named by the case's hash); :func:`combine` makes one xarray Dataset whose dimensions are the swept
parameters; :func:`write_outputs` writes it as NetCDF and CSV."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from wattbit.economics import add_economics
from wattbit.report import _atomic_write
from wattbit.sweep.spec import Scalar, SweepError, SweepSpec, Task, canonical

# --- the result store --------------------------------------------------------------------------


class OutLock:
    """An exclusive lock on a sweep's ``OUT`` folder (``OUT/.lock``, ``flock``): one sweep writes
    a folder at a time, so none replaces another's ``sweep.nc`` or deletes its temporary records.
    The operating system releases it when the process ends, however it ends (even SIGKILL)."""

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / ".lock"
        self.fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self.path.read_text(encoding="utf-8").strip() or "unknown"
            os.close(self.fd)
            self.fd = None
            raise SweepError(
                f"--out {out}: another sweep (process {holder}) is writing there; wait for it "
                "or give another folder"
            ) from None
        os.ftruncate(self.fd, 0)
        os.write(self.fd, f"{os.getpid()}\n".encode())

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


class RecordStore:
    """``OUT/cases/<key>.json``: one record per case, each written atomically. Open it only
    under the folder's :class:`OutLock`: it deletes the temporary files a killed writer left."""

    def __init__(self, out: Path) -> None:
        self.folder = out / "cases"
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(".*.tmp"):  # left by a writer killed mid-write
            stale.unlink(missing_ok=True)

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def write(self, record: Mapping[str, Any]) -> None:
        text = json.dumps(record, indent=1, allow_nan=True)
        _atomic_write(self.path(record["key"]), lambda p: p.write_text(text, encoding="utf-8"))

    def read(self, key: str) -> dict[str, Any] | None:
        """The record of ``key``, or None if there is none (or it is not a whole record)."""
        try:
            record = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        return record if isinstance(record, dict) and record.get("key") == key else None


# --- combining records into one dataset -------------------------------------------------------

ECONOMICS = ("investment_jpy", "operating_cost_jpy_per_year", "discount_rate")


def _coord(values: list[Scalar]) -> np.ndarray:
    return np.asarray([canonical(v) for v in values])


UNITS = (  # by name suffix, the longest first; KPIs name their unit (docs/guide.md)
    ("npv_jpy", "JPY"),
    ("investment_jpy", "JPY"),
    ("connection_cost_jpy", "JPY"),
    ("lost_margin_while_waiting_jpy", "JPY"),
    ("_jpy_per_year", "JPY/yr"),
    ("_jpy_per_mwh", "JPY/MWh"),  # prices, before "_mwh"
    ("_jpy_per_kwh", "JPY/kWh"),
    ("_mwh_per_year", "MWh/yr"),
    ("_per_year", "1/yr"),
    ("_jpy", "JPY/yr"),
    ("_mwh_h", "MWh·h"),
    ("_mwh", "MWh"),
    ("_mw", "MW"),
    ("_years", "yr"),
    ("_h", "h"),
    ("_s", "s"),
    ("_fraction", "1"),
    ("_share", "1"),
    ("_cycles", "1"),
    ("_rate", "1/yr"),
    ("_gap", "1"),
)


def units(name: str) -> str:
    """The unit of a sweep variable from its name (``.``-prefixed by a study's option or cell):
    annualised costs ``*_jpy`` in JPY/yr, capital and NPV in JPY; ``1`` for counts and ratios."""
    base = name.rsplit(".", 1)[-1]
    return next((unit for suffix, unit in UNITS if base.endswith(suffix)), "1")


def combine(
    spec: SweepSpec,
    tasks: list[Task],
    records: Mapping[str, Mapping[str, Any]],
    analysis_years: float = 15.0,
) -> xr.Dataset:
    """One Dataset over the swept dimensions: every KPI and cost term as a variable (NaN where a
    case failed), ``status``/``message`` per case, and the economics vs ``spec.baseline``."""
    shape = spec.shape
    names: dict[str, None] = {}
    for record in records.values():
        names.update(dict.fromkeys(record.get("kpis", {})))
    if spec.study == "solve":
        names.update(dict.fromkeys(ECONOMICS))
    numeric = {n: np.full(shape, np.nan) for n in [*names, "mip_gap", "wall_s"]}
    status = np.full(shape, "missing", dtype=object)
    message = np.full(shape, "not run", dtype=object)
    for task in tasks:
        record = records.get(task.key)
        if record is None:
            continue
        status[task.index], message[task.index] = record["status"], record["message"]
        for name in ("mip_gap", "wall_s"):
            numeric[name][task.index] = record.get(name) if record.get(name) is not None else np.nan
        if record["status"] in ("ok", "time_limit") and "kpis" in record:
            for name, value in {**record["kpis"], **record.get("economics", {})}.items():
                numeric[name][task.index] = value
    dims = [axis.dim for axis in spec.axes]
    coords = {
        path: (axis.dim, _coord(axis.values(path))) for axis in spec.axes for path in axis.paths
    }
    data = {name: (dims, values, {"units": units(name)}) for name, values in numeric.items()}
    data["status"] = (dims, status.astype(str))
    data["message"] = (dims, message.astype(str))
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        case=str(spec.case),
        study=spec.study,
        fixed=json.dumps({p: canonical(v) for p, v in spec.fixed.items()}),
        zipped=json.dumps([list(a.paths) for a in spec.axes if len(a.paths) > 1]),
    )
    if spec.baseline:
        where = {}
        for path, value in spec.baseline.items():
            axis = spec.axis_of(path)
            where[axis.dim] = axis.values(path).index(value)
        label = ", ".join(f"{p}={v}" for p, v in spec.baseline.items())
        ds = add_economics(ds, where, analysis_years, label)
        ds.attrs.update(baseline=label, analysis_years=analysis_years)
    return ds


def to_frame(ds: xr.Dataset) -> pd.DataFrame:
    """One row per case: the swept parameters, then every variable."""
    flat = ds.expand_dims("_one") if not ds.dims else ds
    frame = flat.to_dataframe().reset_index()
    swept = [str(name) for name in ds.coords if ds[name].dims]
    return frame[swept + [str(name) for name in ds.data_vars]]


def write_outputs(ds: xr.Dataset, out: Path) -> list[Path]:
    """``OUT/sweep.nc`` and ``OUT/sweep.csv``, each written atomically."""
    nc, csv = out / "sweep.nc", out / "sweep.csv"
    _atomic_write(nc, lambda p: ds.to_netcdf(p, engine="h5netcdf"))
    _atomic_write(csv, lambda p: to_frame(ds).to_csv(p, index=False))
    return [nc, csv]
