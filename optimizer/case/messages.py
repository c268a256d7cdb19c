"""One-line messages for case files that fail validation: the most useful single error of a
pydantic ``ValidationError``, as (field path, message), for the single-site and network schemas."""

from __future__ import annotations

import difflib
import re
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from wattbit.errors import CaseError

M = TypeVar("M", bound=BaseModel)

# Union members appear in pydantic's error locations as tags ("constrained-float", "str",
# "function-after[_ordered(), SizeRange]", …); they are not field names.
_UNION_TAG = re.compile(r"float|int|str|SeriesColumn|SizeRange|constrained-\w+|function-\w+\[.*\]")
_BRANCH_WORDS = {
    "float": "a number",
    "str": "a column name",
    "SeriesColumn": "a table { column = … }",
    "SizeRange": "a range { min = …, max = … }",
}
# Errors that only say "the value is not of this union member's kind".
_WRONG_KIND = {
    "float_type",
    "float_parsing",
    "int_type",
    "int_parsing",
    "string_type",
    "model_type",
    "model_attributes_type",
    "dict_type",
}


def _is_tag(item: Any) -> bool:
    return isinstance(item, str) and _UNION_TAG.fullmatch(item) is not None


def _tag_index(loc: tuple[Any, ...]) -> int | None:
    return next((i for i, item in enumerate(loc) if _is_tag(item)), None)


def _branch_words(tag: str) -> str:
    if tag.startswith("function-"):
        tag = tag.rstrip("]").rsplit(",", 1)[-1].strip()
    return _BRANCH_WORDS.get(tag.removeprefix("constrained-"), tag)


def _field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif _is_tag(item):
            continue
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The schema class in a field's annotation (``X | None``, ``list[X]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, map(_model_in, typing.get_args(annotation))), None)


def _schema_for(schema: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The schema class of the table at ``loc`` under ``schema``, to suggest known field names."""
    model: type[BaseModel] | None = schema
    for item in loc:
        if isinstance(item, int) or _is_tag(item):
            continue
        field = model.model_fields.get(item) if model else None
        if field is None:
            return None
        model = _model_in(field.annotation)
    return model


def _stem(name: str) -> str:
    """``power_kw`` → ``power``: a field name without its unit suffix."""
    return name.rsplit("_", 1)[0] if "_" in name else name


def _same_union(a: dict[str, Any], b: dict[str, Any]) -> bool:
    i = _tag_index(a["loc"])
    return i is not None and _tag_index(b["loc"]) == i and a["loc"][:i] == b["loc"][:i]


def validation_message(exc: ValidationError, schema: type[BaseModel]) -> tuple[str, str]:
    """The most useful single (field, message) of a pydantic error raised validating ``schema``."""
    errors = exc.errors()
    # Within a union, a member that accepted the kind of value given (a table for a range, say)
    # says what is wrong with it; the members that did not ("not a number") say nothing useful.
    useful = [
        e
        for e in errors
        if e["type"] not in _WRONG_KIND
        or not any(o["type"] not in _WRONG_KIND and _same_union(e, o) for o in errors)
    ]
    unknown = [e for e in useful if e["type"] == "extra_forbidden"]
    err = unknown[0] if unknown else min(useful, key=lambda e: len(e["loc"]))
    field = _field_path(err["loc"])
    if err["type"] == "extra_forbidden":
        parent = _schema_for(schema, err["loc"][:-1])
        known = list(parent.model_fields) if parent else []
        hint = difflib.get_close_matches(str(err["loc"][-1]), known, n=1, cutoff=0.5)
        suffix = f" (did you mean '{hint[0]}'?)" if hint else ""
        if hint and _stem(hint[0]) == _stem(str(err["loc"][-1])):
            suffix = f" (did you mean '{hint[0]}'? units are part of field names)"
        return field, f"unknown field{suffix}"
    if err["type"] == "missing":
        return field, "required field is missing"
    if err["type"] in _WRONG_KIND and _tag_index(err["loc"]) is not None:
        i = _tag_index(err["loc"])
        kinds = [_branch_words(e["loc"][i]) for e in errors if _same_union(err, e)]
        *first, last = dict.fromkeys(kinds)
        expected = f"{', '.join(first)} or {last}" if first else last
        return field, f"expected {expected}, got {err['input']!r}"
    if err["type"] in {"model_type", "model_attributes_type", "dict_type"}:
        return field, f"expected a table, got {err['input']!r}"
    msg = err["msg"].removeprefix("Value error, ")
    return field, msg


def validated(schema: type[M], raw: dict[str, Any], file: str) -> M:
    """``raw`` validated as ``schema``; a failure raises :class:`CaseError` with one line naming
    ``file`` and the field."""
    try:
        return schema.model_validate(raw)
    except ValidationError as exc:
        raise CaseError(file, *validation_message(exc, schema)) from None
