"""The cells of the type ② comparison: a strategy applied to a case's inputs, solved under a mode.

Strategies act on the input Dataset of a case:

* ``load_following`` — no battery; the DC's deferrable share may wait (``dc.deferrable_share``,
  ``dc.max_delay_h``); what cannot be served is shed at the value of lost compute.
* ``battery_shaped`` — the DC runs its desired profile (nothing deferrable); the battery, sized by
  the optimiser, shapes grid import to the limit.
* ``both`` — battery and deferrable work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wattbit.errors import CaseError

if TYPE_CHECKING:  # the command line reads STRATEGIES for its help without the solver stack
    import xarray as xr

    from wattbit.optimise import Run

STRATEGIES: tuple[str, ...] = ("load_following", "battery_shaped", "both")
BASELINE = ("load_following", "type2_fixed")


def check_choice(values: Sequence[str], allowed: Sequence[str], what: str) -> list[str]:
    """``values`` if each is one of ``allowed``; else :class:`CaseError` naming ``--<what>``."""
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise CaseError(f"--{what}", unknown[0], f"unknown; choose from {', '.join(allowed)}")
    return list(values)


def apply_strategy(inputs: xr.Dataset, strategy: str, file: str) -> xr.Dataset:
    """The input Dataset of one strategy (see module doc)."""
    ds = inputs.copy()
    has_battery = any(str(v).startswith("battery_") for v in ds.data_vars)
    if strategy in ("battery_shaped", "both"):
        if not has_battery:
            raise CaseError(file, "battery", f"strategy {strategy} needs a [battery] table")
        if float(ds["battery_power_mw_max"]) <= 0 or float(ds["battery_energy_mwh_max"]) <= 0:
            field_ = (
                "battery.power_mw"
                if float(ds["battery_power_mw_max"]) <= 0
                else "battery.energy_mwh"
            )
            raise CaseError(
                file, field_, f"strategy {strategy} needs a battery that may be sized above 0"
            )
    if strategy == "load_following" and has_battery:
        ds = ds.drop_vars([v for v in ds.data_vars if str(v).startswith("battery_")])
    if strategy == "battery_shaped":
        ds["dc_deferrable_share"] = ((), 0.0)
    ds.attrs["strategy"] = strategy
    return ds


@dataclass
class Cell:
    """One strategy × mode cell and its solve."""

    strategy: str
    mode: str
    run: Run

    @property
    def costs(self) -> dict[str, float]:
        return {k: v for k, v in self.run.kpis.items() if k.startswith("cost_")}

    @property
    def total(self) -> float:
        return self.run.kpis["total_cost_jpy"]


def catch_up_warning(inputs: xr.Dataset) -> str | None:
    """Words for deferral that can never catch up: the IT capacity leaves no room above the
    desired IT load at any step, so work deferred cannot be served later (only dropped)."""
    share = float(inputs["dc_deferrable_share"]) if "dc_deferrable_share" in inputs else 0.0
    if share <= 0 or "dc_size_mw_max" in inputs:
        return None
    room = float(inputs["dc_it_capacity_mw"]) - inputs["dc_it_mw"].values
    if room.max() > 1e-9:
        return None
    return (
        f"deferral can never catch up: dc.it_capacity_mw ({float(inputs['dc_it_capacity_mw']):g} "
        "MW) leaves no room above the desired IT load at any step, so deferred work can only be "
        "dropped; raise dc.it_capacity_mw to give the DC room to catch up"
    )


def clean_size(value: float, tol: float = 1e-9) -> float:
    """A size as reported: solver noise within ``tol`` of zero (``-3e-12``, ``-0.0``) is 0."""
    return 0.0 if abs(value) <= tol else float(value)
