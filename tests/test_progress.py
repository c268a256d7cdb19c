"""Progress on stderr: a study reports its steps through the hook of :mod:`wattbit.progress`;
the command line draws them as a rich bar on a terminal, one dim line per step otherwise, and
nothing with ``wattbit --quiet``; stdout stays the result alone."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from wattbit.cli import app, common

REPO = Path(__file__).resolve().parent.parent
CASE = REPO / "cases" / "type2_battery_wins" / "case.toml"
COMPARE = [
    *("compare", str(CASE), "--set", "horizon.steps=24"),
    *("--modes", "type2_fixed,firm", "--strategies", "load_following,battery_shaped"),
    *("--breakeven-modes", "", "--format", "json"),
]

runner = CliRunner()


def test_compare_reports_each_cell_counted_on_stderr():
    """Not a terminal: one line per cell, 'k/n' counted, on stderr; stdout is the JSON alone."""
    result = runner.invoke(app, COMPARE)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("solving")]
    assert lines == [
        "solving load_following × type2_fixed (1/4)",
        "solving battery_shaped × type2_fixed (2/4)",
        "solving load_following × firm (3/4)",
        "solving battery_shaped × firm (4/4)",
    ]
    assert len(json.loads(result.stdout)["cells"]) == 4


def test_quiet_silences_progress_of_its_own_call_only(monkeypatch):
    """``--quiet`` holds for the command it is given to; the next call of the app in the same
    process (a notebook's, a test's) reports progress again."""
    monkeypatch.delenv(common.QUIET_ENV, raising=False)
    result = runner.invoke(app, ["--quiet", *COMPARE])
    assert result.exit_code == 0, result.output
    assert "solving" not in result.stderr
    assert common.QUIET_ENV not in os.environ
    again = runner.invoke(app, COMPARE)
    assert "solving load_following × type2_fixed (1/4)" in again.stderr


@pytest.mark.parametrize("steps", [[("a", 0, 3), ("b", 1, 3), ("c", None, None), ("d", 2, 3)]])
def test_the_bar_takes_counted_and_uncounted_steps_on_a_terminal(monkeypatch, steps):
    """On a terminal the hook draws a transient rich bar: counted steps, then a bisection's
    uncounted ones (a new pulsing task), then counted again; the bar is gone at the end."""
    monkeypatch.delenv(common.QUIET_ENV, raising=False)
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80)
    monkeypatch.setattr(common, "err_console", lambda: terminal)
    with common.progress_bar("starting") as progress:
        for message, done, total in steps:
            progress(f"step {message}", done=done, total=total)
    drawn = screen.getvalue()  # rich redraws at its own pace: the last state is drawn for sure
    assert "2/3" in drawn and "step d" in drawn
    assert drawn.endswith("\x1b[2K")  # transient: the line is cleared at the end


def test_each_breakeven_step_is_reported():
    """Every price a bisection tries is one progress step: as many as the breakeven's points,
    numbered from 1, uncounted (a bisection's length is not known ahead)."""
    import wattbit

    calls: list[tuple[str, int | None, int | None]] = []

    def hook(message: str, /, *, done: int | None = None, total: int | None = None) -> None:
        calls.append((message, done, total))

    comparison = wattbit.compare(
        CASE,
        {"horizon.steps": 24},
        strategies=["load_following", "battery_shaped"],
        modes=["type2_fixed"],
        progress=hook,
    )
    (question,) = [b for b in comparison.breakevens if b.question == "vs_load_following"]
    steps = [(m, d, t) for m, d, t in calls if m.startswith("breakeven vs load_following")]
    assert len(steps) == len(question.points) > 1
    assert all(d is None and t is None for _, d, t in steps)
    assert [m.split("step ")[1].split(",")[0] for m, _, _ in steps] == [
        str(k) for k in range(1, len(steps) + 1)
    ]
    assert calls[:2] == [
        ("solving load_following × type2_fixed", 0, 2),
        ("solving battery_shaped × type2_fixed", 1, 2),
    ]
