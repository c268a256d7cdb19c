"""What a figure put in front of a client must satisfy, read from matplotlib's objects just before
the figure is saved (never from pixels).

Every visible axis with tick labels has a human label; a numeric axis (ticks that are numbers)
names its unit in parentheses in its label, ``power (MW)``, ``loading (–)``; no label is
a raw field name (``grid_import_mw``); no axis carries an offset or a scale factor (``1e9``,
``+2.5e3``) — scale the data and say so in the unit instead. Colour bars are axes too, so their
labels follow the same rules.

Use :func:`saved_figures` as a context manager around any code that writes PNGs: it records the
problems of each figure saved, keyed by file name::

    with saved_figures() as seen:
        result.write(tmp_path)
    assert seen and all(not p for p in seen.values()), seen
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from matplotlib.axis import Axis
from matplotlib.figure import Figure

UNIT = re.compile(r"\([^()]+\)")
FIELD_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
NUMBER = re.compile(r"^[-+−]?[\d,]*\.?\d+(?:[eE][-+−]?\d+)?\s*%?$")


def _is_number(text: str) -> bool:
    return bool(NUMBER.match(text.strip())) or text.startswith("$")


def _axis_problems(where: str, axis: Axis) -> list[str]:
    ticks = [t.get_text() for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
    if not axis.get_visible() or not ticks:
        return []
    label = axis.get_label_text().strip()
    problems = []
    if not label:
        problems.append(f"{where}: no label")
    elif FIELD_NAME.search(label):
        problems.append(f"{where}: label {label!r} shows a field name")
    numeric = all(_is_number(t) for t in ticks)
    if label and numeric and not UNIT.search(label) and not all(t.endswith("%") for t in ticks):
        problems.append(f"{where}: label {label!r} names no unit '(…)'")
    offset = axis.get_offset_text().get_text().strip()
    if offset:
        problems.append(f"{where}: offset/scale {offset!r} on the axis")
    if any("e+" in t or "e-" in t or "×10" in t for t in ticks if not t.startswith("$")):
        problems.append(f"{where}: tick labels in scientific notation")
    return problems


def figure_problems(fig: Figure) -> list[str]:
    """Every rule the figure breaks, one line each (empty: the figure passes)."""
    fig.canvas.draw()
    problems = []
    for i, ax in enumerate(fig.axes):
        if not ax.get_visible() or not ax.axison:
            continue
        name = ax.get_title() or ax.get_label() or f"axes {i}"
        for letter, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            problems += _axis_problems(f"{name} [{letter}]", axis)
    return problems


@contextmanager
def saved_figures() -> Iterator[dict[str, list[str]]]:
    """Record ``{file name: problems}`` for every figure saved inside the block."""
    seen: dict[str, list[str]] = {}
    original = Figure.savefig

    def checked(self: Figure, fname: object, *args: object, **kwargs: object) -> object:
        seen[Path(str(fname)).name] = figure_problems(self)
        return original(self, fname, *args, **kwargs)

    with mock.patch.object(Figure, "savefig", checked):
        yield seen
