"""Human labels for figures and tables: a KPI or case-field name (``net_benefit_jpy_per_year``,
``battery.energy_capex_jpy_per_kwh``) as words and a unit, with the values scaled so that no axis
needs a ``1e9`` offset (``net benefit (MJPY/yr)``, ``battery energy price (thousand JPY/kWh)``).

The unit is read from the name's suffix, the naming rule every KPI and case field follows
(docs/guide.md); the words from the rest of the name, with the domain's abbreviations in capitals.
Money is scaled by the largest magnitude shown: thousand JPY from 10³, MJPY from 10⁶, GJPY from
10¹⁰ (so that 2,814 MJPY/yr stays in MJPY). This module imports nothing heavy (the command line's tables use it too).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

# Longest suffix first; "JPY/yr" for annualised costs, as the KPIs are (docs/guide.md).
UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_jpy_per_kw_year", "JPY/kW/yr"),
    ("_jpy_per_mw_year", "JPY/MW/yr"),
    ("_jpy_per_kwh", "JPY/kWh"),
    ("_jpy_per_mwh", "JPY/MWh"),
    ("_jpy_per_kw", "JPY/kW"),
    ("_jpy_per_mw", "JPY/MW"),
    ("_jpy_per_year", "JPY/yr"),
    ("_jpy_per_event", "JPY"),
    ("_mwh_per_year", "MWh/yr"),
    ("_per_year", "1/yr"),
    ("_mwh_h", "MWh·h"),
    ("_mwh", "MWh"),
    ("_mw", "MW"),
    ("_kwh", "kWh"),
    ("_kw", "kW"),
    ("_years", "yr"),
    ("_h", "h"),
    ("_s", "s"),
    ("_fraction", "–"),
    ("_share", "–"),
    ("_cycles", "–"),
    ("_rate", "1/yr"),
    ("_gap", "–"),
    ("_jpy", "JPY/yr"),
)
# Totals over an analysis period or paid once, not per year (the sweep's economics, connect).
ONCE = ("npv_jpy", "investment_jpy", "connection_cost_jpy", "lost_margin_while_waiting_jpy")
# Whole names and name parts whose words are not the name with spaces.
WORDS = {
    "energy_capex": "energy price",
    "power_capex": "power price",
    "it_capacity": "IT capacity",
    "max_delay": "longest delay",
    "deferrable_share": "deferrable share of work",
    "total_cost": "total cost",
    "net_benefit": "net benefit",
    "npv": "NPV",
    "dc_it_curtailed": "curtailed DC IT energy",
    "dc_it_unserved": "unserved DC IT energy",
    "dc_it_served": "served DC IT energy",
    "dc_it_shed": "shed DC IT energy",
    "payback": "payback time",
}
CAPITALS = {
    "dc": "DC",
    "it": "IT",
    "pv": "PV",
    "ev": "EV",
    "ups": "UPS",
    "npv": "NPV",
    "v2g": "V2G",
}
TABLES = {
    "batteries": "battery",
    "dcs": "DC",
    "ev_fleets": "EV fleet",
    "nodes": "node",
    "branches": "branch",
    "links": "link",
    "contracts": "contract",
    "type3": "type ③",
}
MONEY_SCALES = ((1e10, 1e9, "G"), (1e6, 1e6, "M"), (1e3, 1e3, "thousand "))


@dataclass(frozen=True)
class Label:
    """Words, a unit and the divisor that brings the values to that unit."""

    words: str
    unit: str
    scale: float = 1.0

    @property
    def text(self) -> str:
        """``words (unit)``; ``words (–)`` for a ratio."""
        return f"{self.words} ({self.unit})" if self.unit else self.words


def unit_of(name: str) -> str:
    """The unit a name carries in its suffix (``""`` when it carries none)."""
    base = name.rsplit(".", 1)[-1]
    if base in ONCE or base.endswith(ONCE):
        return "JPY"
    return next((unit for suffix, unit in UNIT_SUFFIXES if base.endswith(suffix)), "")


def _strip_unit(base: str) -> str:
    """The name without its unit suffix; a ratio's (``_share``, ``_fraction``) is a word."""
    if base in ONCE or base.endswith(ONCE):
        return base.removesuffix("_jpy")
    suffix = next((s for s, u in UNIT_SUFFIXES if base.endswith(s) and base != s), "")
    return base if unit_of(base) == "–" else base.removesuffix(suffix)


def _phrase(part: str) -> str:
    if part in WORDS:
        return WORDS[part]
    return " ".join(CAPITALS.get(w, w) for w in part.split("_") if w)


def words_of(name: str) -> str:
    """A name in words: ``battery.energy_capex_jpy_per_kwh`` → ``battery energy price``,
    ``batteries.bess_north.power_mw`` → ``battery bess north power``."""
    parts = name.split(".")
    parts[-1] = _strip_unit(parts[-1])
    if len(parts) > 1 and parts[0] in TABLES:
        parts[0] = TABLES[parts[0]]
    return " ".join(
        p if i == 0 and p in TABLES.values() else _phrase(p) for i, p in enumerate(parts)
    )


def _money_scale(unit: str, values: Iterable[float]) -> tuple[str, float]:
    """``JPY…`` units scaled to thousand/M/G by the largest finite magnitude."""
    if not unit.startswith("JPY"):
        return unit, 1.0
    finite = [abs(float(v)) for v in values if math.isfinite(float(v))]
    largest = max(finite, default=0.0)
    for start, scale, prefix in MONEY_SCALES:
        if largest >= start:
            return f"{prefix}{unit}", scale
    return unit, 1.0


def label_of(name: str, values: Iterable[float] = (), unit: str | None = None) -> Label:
    """The :class:`Label` of a KPI or case-field ``name`` for these ``values``; ``unit``
    overrides the one read from the name (e.g. a dataset's ``units`` attribute when the name
    carries none)."""
    base_unit = unit_of(name) or (unit if unit not in (None, "1") else "")
    if base_unit == "" and unit == "1":
        base_unit = "–"
    scaled, scale = _money_scale(base_unit, values)
    return Label(words_of(name), scaled, scale)
