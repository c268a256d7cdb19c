"""What ``pip install`` puts on the path: one import package, ``wattbit``.

The folders ``optimizer/`` and ``formulations/`` install as ``wattbit`` and
``wattbit.formulations`` (``[tool.setuptools.package-dir]`` in pyproject.toml); no top-level
``optimizer`` or ``formulations`` is installed (both names belong to unrelated PyPI projects), and a
user's own ``optimizer/`` folder does not shadow wattbit. In an editable install (development) the
distribution's files are the editable finder, so the file-by-file check runs where the install is
a regular one (CI: ``.ci/run`` does ``pip install ".[test]"``); the other checks run everywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path, PurePosixPath

import pytest

REPO = Path(__file__).resolve().parent.parent
FOLDERS = {"optimizer": "wattbit", "formulations": "wattbit.formulations"}


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _repo_packages() -> set[str]:
    """Every package folder of the source tree, by its import name."""
    found = set()
    for folder, name in FOLDERS.items():
        for init in (REPO / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(REPO / folder).parts
            found.add(".".join((name, *parts)))
    return found


def _installed() -> metadata.Distribution:
    """The installed distribution (its ``.dist-info`` has a RECORD), not a source tree's
    ``wattbit.egg-info`` that a build left where the path may find it first."""
    dists = [d for d in metadata.distributions(name="wattbit") if d.read_text("RECORD")]
    assert dists, "wattbit is not installed"
    return dists[0]


def _editable() -> bool:
    text = _installed().read_text("direct_url.json")
    return bool(text) and json.loads(text).get("dir_info", {}).get("editable", False)


def test_pyproject_maps_the_folders_into_one_namespace() -> None:
    setuptools = _pyproject()["tool"]["setuptools"]
    assert setuptools["package-dir"] == {name: folder for folder, name in FOLDERS.items()}
    # Every package folder is listed: a folder left out installs nowhere in a regular install.
    assert set(setuptools["packages"]) == _repo_packages()


def test_installed_files_sit_under_wattbit() -> None:
    files = _installed().files or []
    tops = {PurePosixPath(str(f)).parts[0] for f in files}
    assert not tops & set(FOLDERS), f"top-level folders installed: {tops & set(FOLDERS)}"
    if _editable():
        pytest.skip("editable install: its files are the editable finder, checked in CI")
    installed = {str(f) for f in files if str(f).endswith(".py")}
    for folder, name in FOLDERS.items():
        for source in (REPO / folder).rglob("*.py"):
            relative = source.relative_to(REPO / folder).as_posix()
            target = "/".join((*name.split("."), relative))
            assert target in installed, f"{folder}/{relative} is not installed as {target}"


def test_import_wattbit_beside_a_folder_named_optimizer(tmp_path: Path) -> None:
    for folder in FOLDERS:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text(
            f"raise ImportError('the local {folder}/ was imported')\n", encoding="utf-8"
        )
    code = (
        "import importlib.util, wattbit, wattbit.formulations.battery\n"
        "from wattbit.case import load_case\n"
        "import sys; sys.path.remove('')\n"
        "print(importlib.util.find_spec('optimizer'), importlib.util.find_spec('formulations'))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    # With the local folders off the path, nothing installed answers to the old names.
    assert run.stdout.split() == ["None", "None"]
