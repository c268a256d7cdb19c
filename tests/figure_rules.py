"""What a figure put in front of a client must satisfy, read from matplotlib's objects just before
the figure is saved (never from pixels).

Every visible axis with tick labels has a human label; a numeric axis (ticks that are numbers)
names its unit in parentheses in its label, ``power (MW)``, ``loading (–)``; no label is
a raw field name (``grid_import_mw``); no axis carries an offset or a scale factor (``1e9``,
``+2.5e3``) — scale the data and say so in the unit instead. Colour bars are axes too, so their
labels follow the same rules. Titles, legend entries and annotations name no KPI or case field
(``total_cost_jpy``, ``battery.energy_capex_jpy_per_kwh``: a name with a unit suffix). A colour
map shows a quantity that changes sign with a diverging map centred on zero and the sign's
meaning in the colour bar's label (``> 0``/``< 0``, positive/negative), and a quantity of one sign
with a sequential map.

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

import numpy as np
from matplotlib.axis import Axis
from matplotlib.figure import Figure

UNIT = re.compile(r"\([^()]+\)")
FIELD_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
NUMBER = re.compile(r"^[-+−]?[\d,]*\.?\d+(?:[eE][-+−]?\d+)?\s*%?$")
KPI_NAME = re.compile(
    r"\b[a-z][a-z0-9]*(?:[._][a-z0-9]+)*_(?:mw|mwh|kw|kwh|jpy|h|s|years|share|fraction|cycles"
    r"|per_year|per_kwh|per_mwh|per_kw_year|per_mw_year)\b"
)
# Diverging colour maps (matplotlib's names): only for a quantity that changes sign.
DIVERGING = {
    "PiYG",
    "PRGn",
    "BrBG",
    "PuOr",
    "RdGy",
    "RdBu",
    "RdYlBu",
    "RdYlGn",
    "Spectral",
    "coolwarm",
    "bwr",
    "seismic",
    "berlin",
    "managua",
    "vanimo",
}
SIGN = re.compile(r"[<>]\s*0|positive|negative")


def _text_problems(fig: Figure) -> list[str]:
    """Titles, legend entries and annotations name no KPI or case field (``total_cost_jpy``)."""
    texts = [("suptitle", fig._suptitle.get_text() if fig._suptitle else "")]
    for ax in fig.axes:
        texts.append(("title", ax.get_title()))
        legend = ax.get_legend()
        texts += [("legend", t.get_text()) for t in (legend.get_texts() if legend else [])]
        texts += [("text", t.get_text()) for t in ax.texts]
    return [f"{kind} {text!r} shows a field name" for kind, text in texts if KPI_NAME.search(text)]


def _colour_problems(fig: Figure) -> list[str]:
    """A colour-mapped quantity that changes sign has a diverging map centred on zero and the
    sign's meaning in its colour bar's label; one of a single sign a sequential map."""
    problems = []
    for ax in fig.axes:
        for mappable in [*ax.collections, *ax.images]:
            bar = getattr(mappable, "colorbar", None)
            data = mappable.get_array()
            if bar is None or data is None:
                continue
            values = np.ma.masked_invalid(np.ma.asarray(data, dtype=float)).compressed()
            label = bar.ax.get_ylabel() or bar.ax.get_xlabel()
            name = mappable.get_cmap().name.removesuffix("_r")
            norm = mappable.norm
            if values.size and values.min() < 0 < values.max():
                centre = getattr(norm, "vcenter", None)
                if centre is None and norm.vmin is not None and norm.vmax is not None:
                    centre = (norm.vmin + norm.vmax) / 2
                if name not in DIVERGING:
                    problems.append(
                        f"colour bar {label!r}: values change sign, map {name!r} is not diverging"
                    )
                if centre is None or abs(centre) > 1e-12 * max(abs(norm.vmin), abs(norm.vmax), 1):
                    problems.append(f"colour bar {label!r}: diverging map not centred on zero")
                if not SIGN.search(label):
                    problems.append(f"colour bar {label!r}: says not what the sign means")
            elif name in DIVERGING:
                problems.append(f"colour bar {label!r}: one sign, but diverging map {name!r}")
    return problems


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
    return problems + _text_problems(fig) + _colour_problems(fig)


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
