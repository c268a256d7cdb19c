"""The component tests cannot silently fall behind the formulations: every formulation module has
its test module here, and every equation tag of ``formulations/*.py`` (as ``tests/test_docs.py``
finds them) is named in the docstring of a component test that solves it, as ``(B5)``,
``(B1, B2)``, ``(G4–G6)`` or a range ``(W1)–(W4)``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from test_docs import _GROUP, FORMULATIONS, _expand, equation_tags

HERE = Path(__file__).resolve().parent
_RANGE = re.compile(r"\(([A-Z])(\d+)\)\s*[–-]\s*\(\1(\d+)\)")  # "(W1)–(W4)"


def docstring_tags() -> dict[str, set[str]]:
    """Test module → the tags named in its test functions' docstrings."""
    found: dict[str, set[str]] = {}
    for path in sorted(HERE.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tags: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                doc = _RANGE.sub(r"(\1\2–\1\3)", ast.get_docstring(node) or "")
                tags |= {t for g in _GROUP.findall(doc) for t in _expand(g)}
        found[path.name] = tags
    return found


def test_every_formulation_has_a_component_test_module():
    modules = {p.stem for p in FORMULATIONS.glob("*.py") if p.stem != "__init__"}
    missing = sorted(m for m in modules if not (HERE / f"test_{m}.py").exists())
    assert not missing, f"formulations without a tests/test_components/test_<name>.py: {missing}"


def test_every_equation_tag_is_solved_by_a_component_test():
    tested = set().union(*docstring_tags().values())
    assert {"B5", "S1", "W2", "U4", "K3"} <= tested  # ranges and "=" pairs are expanded
    missing = sorted(
        f"{tag} ({module})" for tag, module in equation_tags().items() if tag not in tested
    )
    assert not missing, f"equation tags no component test docstring names: {missing}"
