"""The reference docs cannot silently rot: every case field and every equation tag is documented.

* Every field of the case schema (``wattbit.case.Case`` and the models it nests) has a table row
  ``| `field` |`` in its section of ``docs/case-file.md``: the section of a TOML table is the heading
  that names it (``[horizon]``, ``[grid.pattern]``; the top level is "Top level"), the section of an
  inline value type (``SeriesColumn``, ``SizeRange``) is the heading that names its class.
* Every equation tag in ``formulations/*.py`` — in parentheses in a docstring, ``(B1, B2)``,
  ``(G4–G6)``, ``(B5 = S1)``, or in a comment, ``# B4`` — tags an equation of
  ``docs/formulation.md``: ``\\tag{B1}``, ``\\tag{B1, B2}`` or ``\\tag{B5 = S1}``.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from wattbit.case import Case

REPO = Path(__file__).resolve().parent.parent
CASE_FILE_DOC = REPO / "docs" / "case-file.md"
FORMULATION_DOC = REPO / "docs" / "formulation.md"
FORMULATIONS = REPO / "formulations"


# --- case-file reference -------------------------------------------------------------------------


def _members(annotation: typing.Any) -> list[typing.Any]:
    """The members of a union (``X | None``, ``Annotated[...] | str``), else the annotation."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _is_model(member: typing.Any) -> bool:
    return isinstance(member, type) and issubclass(member, BaseModel)


def schema_sections() -> dict[str, tuple[type[BaseModel], list[str]]]:
    """Section key → (model, its field names). A field whose only non-None type is a model is a TOML
    table, keyed by its dotted path; a model in a union with other types is an inline value type,
    keyed by its class name."""
    sections: dict[str, tuple[type[BaseModel], list[str]]] = {}

    def walk(model: type[BaseModel], key: str, path: str) -> None:
        if key in sections:
            return
        sections[key] = (model, list(model.model_fields))
        for name, field in model.model_fields.items():
            members = [m for m in _members(field.annotation) if m is not type(None)]
            models = [m for m in members if _is_model(m)]
            for sub in models:
                if len(members) == 1:
                    dotted = f"{path}.{name}" if path else name
                    walk(sub, f"[{dotted}]", dotted)
                else:
                    walk(sub, sub.__name__, path)

    walk(Case, "Top level", "")
    return sections


def doc_sections(text: str) -> list[tuple[str, str]]:
    """(heading, body up to the next heading of the same or a higher level) for every heading."""
    headings = list(re.finditer(r"^(#{1,6})\s+(.*)$", text, flags=re.MULTILINE))
    out = []
    for i, h in enumerate(headings):
        level = len(h[1])
        end = len(text)
        for later in headings[i + 1 :]:
            if len(later[1]) <= level:
                end = later.start()
                break
        out.append((h[2], text[h.end() : end]))
    return out


def _section_for(key: str, sections: list[tuple[str, str]]) -> str | None:
    wanted = key if key == "Top level" else f"`{key}`"
    bodies = [body for heading, body in sections if wanted in heading]
    return bodies[0] if bodies else None


SCHEMA = schema_sections()


def test_schema_walk_reaches_the_nested_models():
    assert {"Top level", "[horizon]", "[dc]", "[grid]", "[battery]", "SeriesColumn"} <= set(SCHEMA)


@pytest.mark.parametrize("key", sorted(SCHEMA))
def test_every_case_field_is_in_the_reference(key):
    model, fields = SCHEMA[key]
    body = _section_for(key, doc_sections(CASE_FILE_DOC.read_text(encoding="utf-8")))
    heading = key if key == "Top level" else f"`{key}`"
    assert body is not None, f"docs/case-file.md has no heading naming {heading} ({model.__name__})"
    missing = [f for f in fields if not re.search(rf"^\|\s*`{re.escape(f)}`\s*\|", body, re.M)]
    assert not missing, f"fields of {model.__name__} missing from section {heading}: {missing}"


# --- formulation ---------------------------------------------------------------------------------

_TAG = r"[A-Z]\d+"
_GROUP = re.compile(rf"\(\s*({_TAG}(?:\s*(?:,|=|–|-)\s*{_TAG})*)\s*\)")
_COMMENT = re.compile(rf"#\s*({_TAG})\b")


def _expand(group: str) -> set[str]:
    """``"B1, B2"`` → {B1, B2}; ``"G4–G6"`` → {G4, G5, G6}; ``"B5 = S1"`` → {B5, S1}."""
    tags: set[str] = set()
    for part in re.split(r"\s*[,=]\s*", group):
        ends = re.split(r"\s*[–-]\s*", part)
        if len(ends) == 2 and ends[0][0] == ends[1][0]:
            letter = ends[0][0]
            tags |= {f"{letter}{i}" for i in range(int(ends[0][1:]), int(ends[1][1:]) + 1)}
        else:
            tags |= set(ends)
    return tags


def equation_tags() -> dict[str, str]:
    """Tag → the formulation module it was found in."""
    found: dict[str, str] = {}
    for path in sorted(FORMULATIONS.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        tags = {t for g in _GROUP.findall(source) for t in _expand(g)}
        tags |= set(_COMMENT.findall(source))
        for tag in tags:
            found.setdefault(tag, path.name)
    return found


def test_tags_are_found():
    tags = equation_tags()
    assert {"B1", "B9", "D1", "G5", "P2", "S1", "E1", "E2"} <= set(tags)


def _documented(tag: str, text: str) -> bool:
    return re.search(rf"\\tag\{{[^}}]*\b{tag}\b[^}}]*\}}", text) is not None


# The network formulations are documented on their own page, linked from formulation.md.
EQUATION_DOCS = [FORMULATION_DOC, REPO / "docs" / "network.md", REPO / "docs" / "milp.md"]


def test_every_equation_tag_is_in_the_formulation_doc():
    text = "\n".join(doc.read_text(encoding="utf-8") for doc in EQUATION_DOCS)
    missing = sorted(
        f"{tag} ({module})" for tag, module in equation_tags().items() if not _documented(tag, text)
    )
    assert not missing, f"equation tags missing from {[d.name for d in EQUATION_DOCS]}: {missing}"
