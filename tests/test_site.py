"""The documentation site covers the whole public surface and links only what exists.

* Every name ``wattbit`` exports has an entry (``::: wattbit.api.<name>``) in the API reference, and
  so has the result class each API function returns.
* Every formulation module has an entry in the formulations reference.
* Every ``wattbit`` command is explained in the prose docs (``wattbit <command>`` in a page other
  than the generated reference), and the generated CLI reference renders a section for each.
* Every page under ``docs/`` is in the site's navigation, and no page cites the repository-external
  ``DOMAIN.md`` (the glossary replaces it).

The site itself is built by ``mkdocs build --strict`` in ``.ci/run`` (broken links and anchors fail
there); the tests that need the ``docs`` extra skip without it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
import yaml

import wattbit
from wattbit.cli import app

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
API_REF = DOCS / "reference" / "api.md"
FORMULATIONS_REF = DOCS / "reference" / "formulations.md"
CLI_REF = DOCS / "reference" / "cli.md"


def _entries(page: Path) -> list[str]:
    """The dotted paths of a page's mkdocstrings entries (``::: a.b.c``)."""
    return re.findall(r"^:::\s+([\w.]+)\s*$", page.read_text(encoding="utf-8"), flags=re.M)


def _commands() -> Iterator[str]:
    """Every command path of the ``wattbit`` command line, ``"solve"``, ``"group sub"``."""

    def walk(cmd: object, prefix: list[str]) -> Iterator[str]:
        subcommands = getattr(cmd, "commands", {})
        if prefix:
            yield " ".join(prefix)
        for name, sub in subcommands.items():
            yield from walk(sub, [*prefix, name])

    yield from walk(typer.main.get_command(app), [])


def _api_returns() -> dict[str, str]:
    """API function name → the class name its return annotation names (``api.py`` read as source:
    the annotations name classes imported only for type checking)."""
    tree = ast.parse((REPO / "optimizer" / "api.py").read_text(encoding="utf-8"))
    return {
        node.name: ast.unparse(node.returns).split(".")[-1]
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") and node.returns
    }


EXPORTS = sorted(set(wattbit.__all__) - {"__version__"})
COMMANDS = sorted(_commands())


def test_the_command_walk_finds_every_command():
    assert {"solve", "validate", "compare", "sweep", "network", "ridethrough", "connect"} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("name", EXPORTS)
def test_every_export_is_in_the_api_reference(name):
    assert f"wattbit.api.{name}" in _entries(API_REF), (
        f"docs/reference/api.md lacks '::: wattbit.api.{name}'"
    )


@pytest.mark.parametrize(("function", "result"), sorted(_api_returns().items()))
def test_every_result_class_is_in_the_api_reference(function, result):
    if result in {"Dataset", "None"}:
        pytest.skip(f"{function} returns a {result}, documented by xarray")
    documented = {entry.split(".")[-1] for entry in _entries(API_REF)}
    assert result in documented, f"{function} returns {result}: no entry in docs/reference/api.md"


def test_every_formulation_module_is_in_the_reference():
    modules = {p.stem for p in (REPO / "formulations").glob("*.py") if p.stem != "__init__"}
    documented = {e.removeprefix("formulations.") for e in _entries(FORMULATIONS_REF)}
    assert modules - documented == set(), "formulations missing from docs/reference/formulations.md"
    assert documented - modules == set(), "docs/reference/formulations.md names unknown modules"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_explained_in_the_docs(command):
    pages = [p for p in DOCS.rglob("*.md") if p != CLI_REF]
    pattern = re.compile(rf"wattbit {re.escape(command)}\b")
    assert any(pattern.search(p.read_text(encoding="utf-8")) for p in pages), (
        f"no page under docs/ mentions 'wattbit {command}'"
    )


def test_cli_reference_renders_a_section_per_command():
    markdown = pytest.importorskip("markdown")
    pytest.importorskip("mkdocs_click", reason="the docs extra (pip install '.[docs]') renders it")
    html = markdown.markdown(
        CLI_REF.read_text(encoding="utf-8"), extensions=["mkdocs-click", "tables"]
    )
    headings = set(re.findall(r"<h\d[^>]*>(?:wattbit )?([\w -]+?)</h\d>", html))
    assert set(COMMANDS) <= headings, (
        f"commands missing from the CLI reference: {set(COMMANDS) - headings}"
    )


def _nav_pages(nav: object) -> Iterator[str]:
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for item in nav:
            yield from _nav_pages(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _nav_pages(value)


def test_every_page_is_in_the_navigation():
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = set(_nav_pages(config["nav"]))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert pages - nav == set(), "pages under docs/ missing from the nav of mkdocs.yml"
    assert nav - pages == set(), "mkdocs.yml's nav names pages that do not exist"


def test_no_page_cites_the_external_domain_brief():
    citing = [p.name for p in DOCS.rglob("*.md") if "DOMAIN.md" in p.read_text(encoding="utf-8")]
    assert citing == [], f"cite docs/glossary.md instead of DOMAIN.md in: {citing}"
