"""The package's shape cannot silently rot: imports flow one way and modules stay small.

The import graph is built from the *installed* ``wattbit`` package (whatever ``pip install``
put on the path, an editable or a regular install): every module found by :mod:`pkgutil`, every
``import``/``from … import`` in its source read with :mod:`ast` (function-local imports too;
relative imports resolved), and every ``importlib.import_module("wattbit…")`` with a literal
name. An edge goes to the module named, or to ``X.name`` when ``from X import name`` names a
submodule; importing ``a.b`` also runs ``a/__init__``, which is not counted as an edge (Python
handles a package whose ``__init__`` re-exports its submodules without a cycle).

Layers, bottom up (a module imports only from its own layer or below):

* ``wattbit.formulations``: the Pyomo blocks, importing nothing else of wattbit;
* the spine: the other top-level modules and ``wattbit.case`` (case → inputs → model → optimise →
  results → verify, and what they share);
* ``wattbit.strategies``: solve strategies above one optimisation (``wattbit.optimise``);
* the wings ``wattbit.network``, ``wattbit.studies``, ``wattbit.sweep``;
* ``wattbit.api``, then ``wattbit.cli``; the package ``wattbit`` itself is above them all.

Imports under ``if TYPE_CHECKING:`` never run: they count for the layers, not for cycles.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import networkx as nx
import pytest

import wattbit

MAX_LINES = 500
WINGS = ("network", "studies", "sweep")


@dataclass(frozen=True)
class Module:
    name: str
    file: Path
    is_package: bool


@cache
def modules() -> dict[str, Module]:
    """Every module of the installed package, by dotted name."""
    found: dict[str, Module] = {}
    roots = [wattbit, importlib.import_module("wattbit.formulations")]
    for root in roots:
        infos = [(root.__name__, True)]
        infos += [
            (info.name, info.ispkg)
            for info in pkgutil.walk_packages(root.__path__, prefix=root.__name__ + ".")
        ]
        for name, is_package in infos:
            spec = importlib.util.find_spec(name)
            assert spec is not None and spec.origin is not None, f"{name}: no source found"
            found[name] = Module(name, Path(spec.origin), is_package)
    return found


def _resolve(module: Module, node: ast.ImportFrom) -> str:
    """The absolute name of ``from <node.module> import …`` written in ``module``."""
    if node.level == 0:
        return node.module or ""
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - (node.level - 1)])
    return f"{base}.{node.module}" if node.module else base


def _known(name: str) -> str | None:
    """The longest prefix of ``name`` that is a module of the package."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in modules():
            return prefix
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: Module) -> list[tuple[str, bool]]:
    """(imported module of the package, only under ``if TYPE_CHECKING:``) for every import."""
    tree = ast.parse(module.file.read_text(encoding="utf-8"), filename=str(module.file))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            typing_only.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found: list[tuple[str, bool]] = []

    def add(name: str | None, node: ast.AST) -> None:
        if name is not None and name != module.name:
            found.append((name, id(node) in typing_only))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(_known(alias.name), node)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in modules() else _known(base), node)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            add(_known(node.args[0].value), node)
    return found


@cache
def graph() -> nx.DiGraph:
    """Import graph of the package; edges carry ``typing_only``."""
    g = nx.DiGraph()
    g.add_nodes_from(modules())
    for module in modules().values():
        for target, typing_only in _imports(module):
            if g.has_edge(module.name, target):
                typing_only = typing_only and g.edges[module.name, target]["typing_only"]
            g.add_edge(module.name, target, typing_only=typing_only)
    return g


def layer(name: str) -> int:
    """0 formulations, 1 spine, 2 strategies, 3 wings, 4 api, 5 cli, 6 the package itself."""
    if name == "wattbit":
        return 6
    part = name.split(".")[1]
    order = {"formulations": 0, "strategies": 2, "api": 4, "cli": 5}
    return 3 if part in WINGS else order.get(part, 1)


# --- the graph builder on its own ---------------------------------------------------------------


def test_the_walk_finds_every_layer_and_reads_imports() -> None:
    found = modules()
    for name in (
        "wattbit.case",
        "wattbit.case.schema",
        "wattbit.optimise",
        "wattbit.formulations.battery",
        "wattbit.strategies.rolling",
        "wattbit.sweep.engine",
        "wattbit.network.model",
        "wattbit.cli",
    ):
        assert name in found, name
    g = graph()
    # Known edges of each kind: absolute, ``from package import submodule``, function-local.
    assert g.has_edge("wattbit.strategies.rolling", "wattbit.optimise")
    assert g.has_edge("wattbit.network.model", "wattbit.formulations.battery")
    assert g.has_edge("wattbit.case.load", "wattbit.case.schema")


def test_relative_imports_are_resolved(tmp_path: Path) -> None:
    source = "from . import schema\nfrom ..errors import CaseError\ndef f():\n    from .grid import Grid\n"
    file = tmp_path / "load.py"
    file.write_text(source, encoding="utf-8")
    fake = Module("wattbit.case.load", file, is_package=False)
    assert [name for name, _ in _imports(fake)] == [
        "wattbit.case.schema",
        "wattbit.errors",
        "wattbit.case.grid",
    ]


# --- the rules ----------------------------------------------------------------------------------


def cycles(g: nx.DiGraph) -> list[list[str]]:
    """The groups of modules that import each other at run time (directly or around a circle)."""
    runtime = nx.DiGraph()
    runtime.add_edges_from((a, b) for a, b, only in g.edges(data="typing_only") if not only)
    return [sorted(c) for c in nx.strongly_connected_components(runtime) if len(c) > 1]


def upward(g: nx.DiGraph) -> list[str]:
    """Every import of a module of a higher layer."""
    return [
        f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})"
        for a, b in g.edges
        if layer(b) > layer(a)
    ]


def test_the_rules_catch_a_cycle_and_an_upward_import() -> None:
    g = graph().copy()
    g.add_edge("wattbit.optimise", "wattbit.strategies.rolling", typing_only=False)
    assert any({"wattbit.optimise", "wattbit.strategies.rolling"} <= set(c) for c in cycles(g))
    assert any(s.startswith("wattbit.optimise (layer 1) imports") for s in upward(g))
    g.edges["wattbit.optimise", "wattbit.strategies.rolling"]["typing_only"] = True
    assert sorted(cycles(g)) == sorted(cycles(graph()))


def test_no_import_cycle() -> None:
    found = cycles(graph())
    assert not found, f"import cycles: {found}"


def test_imports_flow_down_the_layers() -> None:
    found = upward(graph())
    assert not found, "\n".join(found)


def test_formulations_import_nothing_else_of_wattbit() -> None:
    outside = [
        (a, b)
        for a, b in graph().edges
        if a.startswith("wattbit.formulations") and not b.startswith("wattbit.formulations")
    ]
    assert not outside, outside


@pytest.mark.parametrize("module", sorted(n for n in modules() if layer(n) == 1))
def test_spine_imports_no_wing(module: str) -> None:
    wings = ("cli", "studies", "sweep", "network", "strategies", "api")
    up = [b for b in graph().successors(module) if b.split(".")[1] in wings]
    assert not up, f"{module} imports {up}"


@pytest.mark.parametrize("module", sorted(modules()))
def test_module_is_small(module: str) -> None:
    lines = len(modules()[module].file.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines (split it by responsibility)"
