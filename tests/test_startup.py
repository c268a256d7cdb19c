"""The command line starts without the solver stack (issue #13, goal 6): ``wattbit --help`` and
the start of every command import typer only; Pyomo, HiGHS, matplotlib, Dask, xarray, pandas,
pydantic and rich (at the first line a command prints) are imported inside the commands that
need them. Times are measured by
``benchmarks/startup.py`` (no timed tests); this test checks what is imported, in a fresh
interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pyomo", "highspy", "matplotlib", "dask", "scipy", "xarray", "pandas", "pydantic", "rich")


def _imported(code: str) -> list[str]:
    """The heavy libraries in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "code",
    [
        "import wattbit.cli.app",
        "import wattbit",
        "import wattbit.modes",
        # the help text of every command, rendered (click's plain formatter, no rich markdown)
        "from wattbit.cli.app import app\n"
        "try:\n    app(args=['--help'], prog_name='wattbit')\nexcept SystemExit:\n    pass",
    ],
)
def test_the_command_line_starts_without_the_solver_stack(code: str) -> None:
    assert _imported(code) == []


def test_a_command_s_help_imports_no_solver_stack() -> None:
    """``wattbit compare --help`` (which lists the modes and strategies) needs pydantic only:
    typer coerces a command's parameters through it."""
    code = (
        "from wattbit.cli.app import app\n"
        "try:\n    app(args=['compare', '--help'], prog_name='wattbit')\nexcept SystemExit:\n    pass"
    )
    assert _imported(code) == ["pydantic"]


def test_the_modes_are_the_case_schema_s() -> None:
    """The light list the help text shows is the one the case schema validates against."""
    from typing import get_args

    from wattbit.case import MODES, Grid
    from wattbit.modes import MODES as LIGHT

    assert MODES is LIGHT
    assert get_args(Grid.model_fields["mode"].annotation) == LIGHT


@pytest.mark.parametrize("case", ["tokyo_substation_dc", "town"])
def test_validate_imports_no_solver(case: str) -> None:
    """A whole ``wattbit validate CASE`` (single-site and network) checks the case and builds its
    inputs without Pyomo or HiGHS: the helpers the inputs use (capital recovery factor, the
    market's data classes) import Pyomo only where a model is built. (pandas, pydantic, xarray
    and, through xarray, Dask and SciPy it does need.)"""
    path = Path(__file__).resolve().parent.parent / "cases" / case / "case.toml"
    code = (
        "from wattbit.cli.app import app\n"
        f"try:\n    app(args=['validate', {str(path)!r}], prog_name='wattbit')\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code"
    )
    imported = _imported(code)
    assert "pandas" in imported  # it did read the case
    assert "pyomo" not in imported and "highspy" not in imported
