"""Helpers to write small cases to a temporary folder and solve them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from wattbit.case import load_case
from wattbit.optimise import Run
from wattbit.strategies import solve_case

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "cases" / "tokyo_substation_dc" / "case.toml"


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def to_toml(case: dict[str, Any]) -> str:
    lines = [f"{k} = {toml_value(v)}" for k, v in case.items() if not isinstance(v, dict)]
    for table, body in case.items():
        if isinstance(body, dict):
            lines.append(f"\n[{table}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in body.items()]
    return "\n".join(lines) + "\n"


def hourly_index(steps: int, start: str = "2025-05-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=steps, freq="h", tz="Asia/Tokyo")


def write_series(path: Path, index: pd.DatetimeIndex, **columns: np.ndarray | float) -> None:
    frame = pd.DataFrame({"timestamp": [t.isoformat() for t in index]})
    for name, values in columns.items():
        frame[name] = np.broadcast_to(np.asarray(values, dtype=float), len(index))
    frame.to_csv(path, index=False)


@pytest.fixture
def make_case(tmp_path: Path) -> Callable[..., Path]:
    """Write ``case.toml`` (from a dict) and ``series.csv`` (from columns) into a temp folder."""

    def make(case: dict[str, Any], index: pd.DatetimeIndex, **columns: Any) -> Path:
        write_series(tmp_path / "series.csv", index, **columns)
        case = {"name": "test", "series": ["series.csv"], **case}
        path = tmp_path / "case.toml"
        path.write_text(to_toml(case))
        return path

    return make


def solve_verified(path: Path, **overrides: Any) -> Run:
    """Solve a case and assert the independent verifier passes (every solved case in the suite)."""
    run = solve_case(load_case(path, overrides or None))
    assert run.ok, run.solution.message
    assert run.verification.ok, run.verification.violations
    assert run.verification.max_violation <= 1e-6
    return run
