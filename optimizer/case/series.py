"""The case's time series: CSV files read, checked and cached, then cut to the horizon."""

from __future__ import annotations

import csv
import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd

from wattbit.case.fields import SeriesColumn
from wattbit.case.schema import Horizon
from wattbit.errors import CaseError


class Stamps(tuple):
    """A series file's own time stamps (text as written), kept in ``DataFrame.attrs`` for messages.

    pandas deep-copies a frame's ``attrs`` at every operation (each column taken, each slice):
    a plain tuple of a year's stamps was copied hundreds of times per case loaded (measured:
    ~0.25 s of every ``load_case`` + ``build_inputs``, and a third of a warm breakeven step's
    profile). The stamps never change, so a copy is the same object."""

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, object]) -> Stamps:
        return self


def read_series(case_path: Path, files: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """The case's series files side by side on one tz-aware index; bad files raise
    :class:`CaseError` naming the file and column."""
    frames: list[pd.DataFrame] = []
    source: dict[str, str] = {}
    for i, name in enumerate(files):
        path = case_path.parent / name
        where = str(path)
        if not path.is_file():
            raise CaseError(str(case_path), f"series[{i}]", f"file not found: {name}")
        stat = path.stat()
        df = _read_series_file(where, stat.st_mtime_ns, stat.st_size).copy()
        for column in df.columns:
            if column in source:
                raise CaseError(where, column, f"column also in {source[column]}")
            source[column] = where
        if frames and not frames[0].index.equals(df.index):
            first = frames[0].index
            if len(df) != len(first):
                differ = f"{len(df)} rows here, {len(first)} in {files[0]}"
            else:
                pos = int(np.argmax(first != df.index))
                differ = (
                    f"row {pos + 2} is {stamp_at(df, pos).split()[0]}, "
                    f"in {files[0]} {stamp_at(frames[0], pos).split()[0]} (check the UTC offsets)"
                )
            raise CaseError(where, "timestamp", f"{differ}: series files must share timestamps")
        frames.append(df)
    full = pd.concat(frames, axis=1)
    full.attrs["stamps"] = frames[0].attrs["stamps"]
    return full, source


MAX_MAGNITUDE = 1e15
"""The largest absolute value a number of a case may take. HiGHS reads 1e20 as infinite, and
costs are scaled on their way into the model (a capex per kWh by 1000, then annualised):
measured on the example case (24 steps, the check lifted), a price or battery energy capex of
1e17 still solves, 1e19 ends with HiGHS status "Not Set". 1e15 keeps a margin of 100 below
what solved; no real price, capex or size comes near it."""
TOO_LARGE = f"above {MAX_MAGNITUDE:g} in magnitude: more than the solver handles (use other units)"


def check_quantity(
    file: str,
    field: str,
    value: float | str | SeriesColumn,
    full: pd.DataFrame,
    source: dict[str, str],
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> None:
    """A quantity field (a number, or a column of the series scaled and offset) checked on the
    whole series, not only the horizon: the column exists and holds finite numbers of a
    magnitude the solver handles, and the values lie within ``bounds``. Problems in a column
    name the series file, the column, the file's own time stamp and the CSV row; problems of
    the value name ``file`` and ``field`` (the case file's dotted path)."""
    lo, hi = bounds
    stamped = False  # a number is the same at every step: its messages give no time stamp
    if isinstance(value, float | int):
        values = np.array([float(value)])
    else:
        column = value if isinstance(value, str) else value.column
        if column not in full.columns:
            known = ", ".join(full.columns) or "no series files given"
            raise CaseError(file, field, f"column '{column}' not in the series ({known})")
        raw, where = full[column], source[column]
        if not pd.api.types.is_numeric_dtype(raw):
            text = raw[pd.to_numeric(raw, errors="coerce").isna() & raw.notna()]
            pos = full.index.get_loc(text.index[0]) if len(text) else None
            what = f"'{text.iloc[0]}' at {stamp_at(full, pos)}" if pos is not None else "values"
            raise CaseError(where, column, f"{what}: not a number")
        numbers = raw.to_numpy(dtype=float)
        for bad, what in ((np.isnan(numbers), "missing"), (np.isinf(numbers), "infinite")):
            if bad.any():
                raise CaseError(where, column, f"{what} value at {stamp_at(full, bad.argmax())}")
        ref = SeriesColumn(column=value) if isinstance(value, str) else value
        values, stamped = numbers * ref.scale + ref.offset, True
    if not values.size:
        return

    def at(pos: int) -> str:
        return f" at {stamp_at(full, pos)}" if stamped else ""

    if np.abs(values).max() > MAX_MAGNITUDE:
        pos = int(np.abs(values).argmax())
        raise CaseError(file, field, f"value {values[pos]:g}{at(pos)} {TOO_LARGE}")
    if values.min() < lo - 1e-12 or values.max() > hi + 1e-12:
        pos = int(values.argmin() if values.min() < lo - 1e-12 else values.argmax())
        raise CaseError(file, field, f"value {values[pos]:g}{at(pos)} outside [{lo:g}, {hi:g}]")


def stamp_at(series: pd.DataFrame, position: int) -> str:
    """The time stamp at ``position`` of a whole series as its CSV file writes it, with the CSV
    row (the header is row 1), for messages a user can find in the file."""
    stamps = series.attrs.get("stamps") or ()
    text = stamps[position] if position < len(stamps) else series.index[position].isoformat()
    return f"{text} (row {position + 2})"


@functools.lru_cache(maxsize=32)
def _read_series_file(where: str, mtime_ns: int, size: int) -> pd.DataFrame:
    """One series CSV, parsed and checked; cached by path, modification time and size, so a
    sweep validating thousands of cases of one case file parses its series once."""
    try:
        df = pd.read_csv(where)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CaseError(where, "", f"not a readable CSV ({str(exc).splitlines()[0]})") from exc
    with open(where, encoding="utf-8", newline="") as file:  # pandas renames a repeat to "x.1"
        header = next(csv.reader(file), [])
    repeated = next((name for i, name in enumerate(header) if name in header[:i]), None)
    if repeated is not None:
        raise CaseError(where, repeated, "column name used twice in the header")
    if "timestamp" not in df.columns:
        raise CaseError(where, "timestamp", "column missing (first column must be timestamp)")
    stamps = df.pop("timestamp").astype(str)
    if not stamps.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True).all():
        bad = stamps[~stamps.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True)].iloc[0]
        raise CaseError(where, "timestamp", f"timezone offset missing in '{bad}'")
    try:
        index = pd.DatetimeIndex(pd.to_datetime(stamps, utc=True))
    except (ValueError, TypeError) as exc:
        # pandas' message spans several lines; name the first bad stamp and its CSV row.
        nat = pd.to_datetime(stamps, utc=True, errors="coerce").isna().to_numpy()
        what = f"'{stamps.iloc[nat.argmax()]}' at row {nat.argmax() + 2}" if nat.any() else ""
        hint = "use ISO 8601 with a UTC offset, e.g. 2025-05-01T00:00:00+09:00"
        detail = what or str(exc).splitlines()[0]
        raise CaseError(where, "timestamp", f"unreadable timestamp {detail} ({hint})") from None
    if not index.is_monotonic_increasing or index.has_duplicates:
        pos = int(np.argmax(np.diff(index.asi8) <= 0)) + 1
        kind = "repeats" if index[pos] == index[pos - 1] else "goes back in time"
        raise CaseError(
            where,
            "timestamp",
            f"not strictly increasing: row {pos + 2} ('{stamps.iloc[pos]}') {kind}",
        )
    if len(index) < 2:
        raise CaseError(where, "timestamp", f"{len(index)} row(s): at least two time steps needed")
    steps = np.diff(index.asi8)
    if not np.all(steps == steps[0]):
        pos = int(np.argmax(steps != steps[0])) + 1
        raise CaseError(
            where,
            "timestamp",
            f"time step changes at row {pos + 2} ('{stamps.iloc[pos]}'): steps must be regular",
        )
    dt_h = pd.Timedelta(index[1] - index[0]).total_seconds() / 3600.0
    if dt_h > 1.0 or abs(1.0 / dt_h - round(1.0 / dt_h)) > 1e-9:
        raise CaseError(
            where, "timestamp", f"step of {dt_h:g} h: the step must divide 1 h (1 h, 30 min, …)"
        )
    df.index = index
    df.attrs["stamps"] = Stamps(stamps)
    return df


def cut_horizon(series: pd.DataFrame, horizon: Horizon, file: str) -> pd.DataFrame:
    """The rows of ``series`` in ``horizon``; a horizon that selects fewer than two steps, or
    starts between timestamps, raises :class:`CaseError`. The steps are checked per file in
    :func:`read_series`."""
    cut = series
    if horizon.start is not None:
        cut = cut[cut.index >= pd.Timestamp(horizon.start)]
    if horizon.end is not None:
        cut = cut[cut.index < pd.Timestamp(horizon.end)]
    if horizon.steps is not None:
        if horizon.steps > len(cut):
            raise CaseError(
                file, "horizon.steps", f"{horizon.steps} steps asked, the series has {len(cut)}"
            )
        cut = cut.iloc[: horizon.steps]
    if len(cut) == 0:
        raise CaseError(file, "horizon", "selects no time step of the series")
    if len(cut) == 1:
        raise CaseError(file, "horizon", "selects a single time step: at least two are needed")
    if horizon.start is not None and cut.index[0] != pd.Timestamp(horizon.start):
        raise CaseError(file, "horizon.start", "is not a timestamp of the series")
    return cut
