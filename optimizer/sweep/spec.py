"""A sweep's definition and its cases: :func:`parse_spec` reads ``--set``/``--zip``/``--mode``
flags or a sweep TOML file into a :class:`SweepSpec`; :func:`generate` makes one :class:`Task` per
point of its grid, every case checked for its study before any solve."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from wattbit.errors import CaseError
from wattbit.sweep.studies import STUDIES, precheck

Scalar = bool | int | float | str | datetime | date | clock_time
MAX_POINTS = 1_000_000


class SweepError(Exception):
    """A bad sweep definition; the message names the offending flag or field (CLI: exit 2)."""


# --- the sweep's definition ----------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """One dimension of the sweep: one path, or several zipped paths that move together."""

    paths: tuple[str, ...]
    points: tuple[tuple[Scalar, ...], ...]  # one tuple of values (one per path) per point

    @property
    def dim(self) -> str:
        return "+".join(self.paths)

    def values(self, path: str) -> list[Scalar]:
        i = self.paths.index(path)
        return [point[i] for point in self.points]


@dataclass(frozen=True)
class SweepSpec:
    case: Path
    axes: tuple[Axis, ...]
    fixed: dict[str, Scalar] = field(default_factory=dict)
    baseline: dict[str, Scalar] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # path → the flag that gave it
    study: str = "solve"  # what each point runs (wattbit.sweep.studies.STUDIES)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(axis.points) for axis in self.axes)

    def axis_of(self, path: str) -> Axis | None:
        return next((axis for axis in self.axes if path in axis.paths), None)


def parse_scalar(text: str) -> Scalar:
    """A TOML scalar (``5``, ``2.5e4``, ``true``, ``"a,b"``, a datetime); else the bare string."""
    text = text.strip()
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    if isinstance(value, dict | list):
        raise ValueError(f"'{text}' is not a scalar (a sweep value is a number, string or date)")
    return value


def parse_range(text: str) -> list[int | float] | None:
    """``start:stop:step`` with the stop included (``0:100:25`` → 0, 25, 50, 75, 100); decimal
    steps are exact (``0:0.3:0.1`` → 0.0, 0.1, 0.2, 0.3). None when ``text`` is not a range."""
    parts = text.split(":")
    if len(parts) != 3:
        return None
    numbers = [parse_scalar(p) for p in parts]
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        return None
    try:
        start, stop, step = (Decimal(p.strip().replace("_", "")) for p in parts)
    except InvalidOperation:
        start, stop, step = (Decimal(repr(n)) for n in numbers)
    if not all(d.is_finite() for d in (start, stop, step)):
        raise ValueError("range bounds must be finite")
    if step == 0:
        raise ValueError("step 0")
    if (stop - start) / step < 0:
        raise ValueError(f"empty range ({parts[0]} to {parts[1]} by {parts[2]})")
    count = int((stop - start) / step) + 1
    if count > MAX_POINTS:
        raise ValueError(f"{count} values, more than {MAX_POINTS}")
    as_int = all(isinstance(n, int) for n in numbers)
    return [int(start + i * step) if as_int else float(start + i * step) for i in range(count)]


_LIST_COMMA = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)')  # a comma outside "double quotes"


def parse_values(text: str) -> list[Scalar]:
    """The values of ``--set PATH=…``: a range ``start:stop:step`` or a list ``v1,v2,…``."""
    if not text.strip():
        raise ValueError("no value given")
    as_range = parse_range(text)
    if as_range is not None:
        return as_range
    items = _LIST_COMMA.split(text)
    if any(not item.strip() for item in items):
        raise ValueError("an empty value in the list")
    if any(item.strip()[0] in "[{" for item in items):
        raise ValueError("sweep values are scalars (numbers, strings, dates), not tables or arrays")
    return [parse_scalar(item) for item in items]


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


def _spec_file_values(value: Any) -> list[Scalar]:
    if isinstance(value, list):
        if any(isinstance(v, dict | list) for v in value):
            raise ValueError("sweep values are scalars")
        return value
    if isinstance(value, str):
        return parse_range(value) or [value]
    return [value]


SPEC_KEYS = {"case", "study", "set", "zip", "mode", "baseline"}


def read_spec_file(path: Path) -> dict[str, Any]:
    """A sweep file: ``case``, ``[set]`` (path = [values] or "start:stop:step"), ``zip``
    (lists of paths), ``mode`` (list) and ``[baseline]`` (path = value)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SweepError(f"--spec {path}: file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SweepError(f"--spec {path}: not valid TOML ({exc})") from None
    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:
        raise SweepError(f"--spec {path}: unknown key '{unknown[0]}' (known: {sorted(SPEC_KEYS)})")
    shapes = {"case": str, "study": str, "set": dict, "baseline": dict, "mode": list, "zip": list}
    for key, kind in shapes.items():
        if key in raw and not isinstance(raw[key], kind):
            raise SweepError(f"--spec {path}: {key} must be a {kind.__name__}")
    if not all(isinstance(group, list) for group in raw.get("zip", [])):
        raise SweepError(f"--spec {path}: zip must be a list of lists of paths")
    if "case" in raw:
        raw["case"] = path.parent / raw["case"]
    return raw


def parse_spec(
    case: Path | None,
    sets: Iterable[str] = (),
    zips: Iterable[str] = (),
    modes: str | None = None,
    baseline: Iterable[str] = (),
    spec_file: Path | None = None,
    study: str | None = None,
) -> SweepSpec:
    """Build a :class:`SweepSpec` from CLI flags and/or a sweep file; raise :class:`SweepError`.

    A path with a single value is a fixed override, not a dimension. ``study`` (or ``study`` in
    the file; default ``solve``) is what each point runs.
    """
    file = read_spec_file(spec_file) if spec_file else {}
    study = study or file.get("study", "solve")
    if study not in STUDIES:
        flag = "--study" if "study" not in file else f"--spec {spec_file}: study"
        raise SweepError(f"{flag} {study}: choose one of {', '.join(STUDIES)}")
    case = case or file.get("case")
    if case is None:
        raise SweepError("no case given: pass CASE or set 'case' in the --spec file")
    values: dict[str, list[Scalar]] = {}
    sources: dict[str, str] = {}

    def add(flag: str, path: str, vals: list[Scalar]) -> None:
        if not path or any(not part.strip() for part in path.split(".")):
            raise SweepError(f"{flag}: '{path}' is not a dotted path (e.g. battery.energy_mwh)")
        if path in values:
            raise SweepError(f"{flag}: {path} is also given by {sources[path]}")
        if not vals:
            raise SweepError(f"{flag}: no value given")
        values[path], sources[path] = vals, flag

    where = f"--spec {spec_file}"
    for path, raw in _flatten(file.get("set", {})).items():
        try:
            add(f"{where}: set.{path}", path, _spec_file_values(raw))
        except ValueError as exc:
            raise SweepError(f"{where}: set.{path}: {exc}") from None
    for text in sets:
        path, sep, rhs = text.partition("=")
        if not sep:
            raise SweepError(f"--set {text}: expected PATH=VALUES")
        try:
            add(f"--set {text}", path.strip(), parse_values(rhs))
        except ValueError as exc:
            raise SweepError(f"--set {text}: {exc}") from None
    mode_list = [m.strip() for m in modes.split(",")] if modes else file.get("mode", [])
    if mode_list:
        add(f"--mode {modes}" if modes else f"{where}: mode", "grid.mode", list(mode_list))

    zip_groups = [[p.strip() for p in z.split(",")] for z in zips] + list(file.get("zip", []))
    axes = _axes(values, zip_groups)
    fixed = {
        a.paths[i]: a.points[0][i] for a in axes if len(a.points) == 1 for i in range(len(a.paths))
    }
    axes = tuple(a for a in axes if len(a.points) > 1)
    spec = SweepSpec(case=Path(case), axes=axes, fixed=fixed, sources=sources, study=study)
    if math.prod(spec.shape) > MAX_POINTS:
        raise SweepError(f"{math.prod(spec.shape)} cases, more than {MAX_POINTS}")
    base = _flatten(file.get("baseline", {}))
    for text in baseline:
        path, sep, rhs = text.partition("=")
        if not sep:
            raise SweepError(f"--baseline {text}: expected PATH=VALUE")
        base[path.strip()] = parse_scalar(rhs)
    if base and study != "solve":
        flag = "--baseline " + ", ".join(f"{p}={v}" for p, v in base.items())
        raise SweepError(f"{flag}: net benefit, NPV and payback are for --study solve")
    return dataclasses.replace(spec, baseline=_check_baseline(spec, base))


def _axes(values: dict[str, list[Scalar]], zip_groups: list[list[str]]) -> tuple[Axis, ...]:
    zipped: dict[str, list[str]] = {}
    for group in zip_groups:
        flag = "--zip " + ",".join(group)
        if len(group) < 2:
            raise SweepError(f"{flag}: name two or more swept paths")
        for path in group:
            if path not in values:
                raise SweepError(f"{flag}: {path} is not swept (give it with --set)")
            if path in zipped:
                raise SweepError(f"{flag}: {path} is already in --zip {','.join(zipped[path])}")
            zipped[path] = group
        lengths = {p: len(values[p]) for p in group}
        if len(set(lengths.values())) > 1:
            counts = ", ".join(f"{p} has {n}" for p, n in lengths.items())
            raise SweepError(f"{flag}: zipped paths need equally many values ({counts})")
    axes: list[Axis] = []
    for path in values:
        group = zipped.get(path, [path])
        if group[0] != path:
            continue  # a zipped group becomes one axis, at the place of its first path
        points = tuple(zip(*(values[p] for p in group), strict=True))
        axes.append(Axis(paths=tuple(group), points=points))
    return tuple(axes)


def _check_baseline(spec: SweepSpec, base: Mapping[str, Scalar]) -> dict[str, Scalar]:
    for path, value in base.items():
        axis = spec.axis_of(path)
        if axis is None:
            raise SweepError(f"--baseline {path}={value}: {path} is not a swept path")
        if value not in axis.values(path):
            known = ", ".join(str(v) for v in axis.values(path))
            raise SweepError(f"--baseline {path}={value}: not a value of the sweep ({known})")
    return dict(base)


# --- generation: one task per point, each validated --------------------------------------


@dataclass(frozen=True)
class Task:
    """One case to solve: the base case file, its overrides and where it sits in the grid."""

    key: str
    case: str
    overrides: dict[str, Scalar]
    index: tuple[int, ...]
    time_limit_s: float | None = None
    study: str = "solve"


def canonical(value: Any) -> Any:
    """A value as JSON and NetCDF keep it: dates and times as ISO 8601 text."""
    return value.isoformat() if isinstance(value, datetime | date | clock_time) else value


def case_fingerprint(case: Path) -> str:
    """Hash of the case file and the series files it names (their content, not their dates)."""
    digest = hashlib.sha256(case.read_bytes())
    raw = tomllib.loads(case.read_text(encoding="utf-8"))
    for name in raw.get("series", []):
        series = case.parent / name
        if series.is_file():
            digest.update(hashlib.sha256(series.read_bytes()).digest())
    return digest.hexdigest()


def case_key(fingerprint: str, overrides: Mapping[str, Scalar], study: str = "solve") -> str:
    """The record name of a case: a hash of its canonical overrides, the case's fingerprint and
    (for a study other than ``solve``) the study."""
    canon = {path: canonical(v) for path, v in overrides.items()}
    point: dict[str, Any] = {"case": fingerprint, "overrides": canon}
    if study != "solve":
        point["study"] = study
    text = json.dumps(point, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _point_error(spec: SweepSpec, overrides: Mapping[str, Scalar], exc: CaseError) -> str:
    culprit = next(
        (p for p in overrides if exc.field == p or exc.field.startswith(p + ".")),
        next((p for p in overrides if p.startswith(exc.field + ".") and exc.field), None),
    )
    if culprit is not None:
        at = f" (at {overrides[culprit]})" if spec.axis_of(culprit) else ""
        return f"{spec.sources[culprit]}{at}: {exc}"
    point = ", ".join(f"{p}={v}" for p, v in overrides.items())
    return f"case with {point or 'no override'}: {exc}"


def generate(
    spec: SweepSpec,
    time_limit_s: float | None = None,
    on_case: Callable[[], None] | None = None,
) -> list[Task]:
    """Every case of the sweep, each checked with :func:`~wattbit.sweep.studies.precheck`; :class:`SweepError` names
    the first bad one. ``on_case()`` is called after each validation (for progress)."""
    if not spec.case.is_file():
        raise SweepError(f"{spec.case}: case file not found")
    fingerprint = case_fingerprint(spec.case)
    tasks = []
    for index in itertools.product(*(range(n) for n in spec.shape)):
        overrides: dict[str, Scalar] = dict(spec.fixed)
        for axis, i in zip(spec.axes, index, strict=True):
            overrides.update(zip(axis.paths, axis.points[i], strict=True))
        try:
            precheck(spec.study, spec.case, overrides)
        except CaseError as exc:
            raise SweepError(_point_error(spec, overrides, exc)) from None
        key = case_key(fingerprint, overrides, spec.study)
        case = str(spec.case.resolve())
        tasks.append(Task(key, case, overrides, index, time_limit_s, spec.study))
        if on_case is not None:
            on_case()
    return tasks
