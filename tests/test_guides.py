"""The worked-example guides run: every ``wattbit`` command in a ``bash`` block of
``docs/guides/*.md`` runs, in the order written, on a short cut of its case.

The short cut: ``horizon.steps`` becomes :data:`STEPS` (set where the guide runs the case's whole
horizon; a type ③ case starts 12 hours before its maintenance window, which must reach into the
horizon), sweeps run in one process instead of a Dask cluster or a pool, and the guide's ``out/``
folder goes to a temporary folder.
Everything else — cases, options, swept values, plots, reports — is the guide's own, so a renamed
option, a moved output file or a case the guide's settings break fails here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wattbit.cli import app

REPO = Path(__file__).resolve().parent.parent
GUIDES = sorted((REPO / "docs" / "guides").glob("*.md"))
STEPS = 24
SOLVING = {"validate", "solve", "headroom", "compare", "sweep", "network", "ridethrough", "connect"}
START = {"cases/type3_substation/case.toml": "2025-09-30T12:00:00+09:00"}

runner = CliRunner()


def commands(page: Path) -> list[str]:
    """The ``wattbit`` command lines of the page's ``bash`` blocks, continuation lines joined."""
    blocks = re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)
    lines = "\n".join(blocks).replace("\\\n", " ").splitlines()
    return [line.strip() for line in lines if line.strip().startswith("wattbit ")]


def short_cut(line: str, out: Path) -> list[str]:
    """The command's arguments (after ``wattbit``) on the short cut."""
    args = shlex.split(line.split("#")[0])[1:]
    cut = []
    skip = False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg in ("--dask-local", "--jobs"):
            skip = True
            continue
        if arg.startswith("horizon.steps=") and args[i - 1] == "--set":
            arg = f"horizon.steps={STEPS}"
        cut.append(str(out / arg.removeprefix("out/")) if arg.startswith("out/") else arg)
    if cut[0] in SOLVING and f"horizon.steps={STEPS}" not in cut:
        cut += ["--set", f"horizon.steps={STEPS}"]
        if cut[1] in START:
            cut += ["--set", f"horizon.start={START[cut[1]]}"]
    return cut


GUIDE_PAGES = [p for p in GUIDES if commands(p)]


def test_the_guides_have_commands():
    assert {p.stem for p in GUIDE_PAGES} >= {"battery-developer", "dc-operator", "grid-planner"}


def test_the_short_cut_rewrites_only_horizon_workers_and_output(tmp_path):
    line = (
        "wattbit sweep cases/x.toml --set horizon.steps=672 --set a.b=1,2 --dask-local 2 "
        "--out out/grid/sweep"
    )
    assert short_cut(line, tmp_path) == [
        "sweep",
        "cases/x.toml",
        "--set",
        f"horizon.steps={STEPS}",
        "--set",
        "a.b=1,2",
        "--out",
        str(tmp_path / "grid" / "sweep"),
    ]
    assert short_cut("wattbit connect cases/type3_substation/case.toml", tmp_path) == [
        "connect",
        "cases/type3_substation/case.toml",
        "--set",
        f"horizon.steps={STEPS}",
        "--set",
        "horizon.start=2025-09-30T12:00:00+09:00",
    ]


@pytest.mark.parametrize("page", GUIDE_PAGES, ids=lambda p: p.stem)
def test_every_command_of_the_guide_runs(page, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    for line in commands(page):
        args = short_cut(line, tmp_path)
        result = runner.invoke(app, args)
        assert result.exit_code == 0, f"{page.name}: {' '.join(args)}\n{result.output[-2000:]}"
