"""Battery ageing: a linear calendar + cycle fade, the cost of cycling it implies, and the state of
health (SoH) over an analysis period under a maintenance strategy.

The fade model is the linear core of REopt's degradation module (NREL REopt.jl,
``src/constraints/battery_degradation.jl``): capacity lost per day is a calendar term plus a cycle
term proportional to the equivalent full cycles ``EFC = (charged + discharged) / 2`` of the day.
Here both terms are linear in their driver:

.. math::

    \\mathrm{SoH}_{y} = \\mathrm{SoH}_{y-1} − f_{cal} − f_{cyc}\\,N_y,\\qquad
    N_y = \\frac{Q^{c}_y + Q^{d}_y}{2\\,E}                                            \\quad (ageing)

with SoH the usable share of the nameplate energy ``E``, ``f_cal`` the calendar fade per year,
``f_cyc`` the fade per equivalent full cycle and ``Q^c, Q^d`` the energy charged and discharged in
year ``y`` (MWh). REopt's calendar term grows with the square root of time and with the average
state of charge; here it is a constant share per year (an assumption: it keeps the model linear and
makes calendar fade independent of the dispatch).

**What is optimised, what is simulated.** The optimiser sees one representative year. Cycling's
life-cycle cost enters its objective as a cost per MWh of equivalent-cycle throughput
(:func:`cycle_cost_jpy_per_mwh`, equation B10 of the battery block), so it cycles less when
cycling shortens life. The SoH year by year, augmentation purchases and replacements are then
*simulated* (:func:`simulate`) from that year's throughput, repeated every year, in
:mod:`wattbit.cashflow`. Future costs are not discounted in the per-MWh cost (an upper bound on
the present cost of cycling).

Maintenance strategies (as REopt's ``maintenance_strategy``):

* ``augmentation``: each year buy the capacity faded, so usable energy stays at ``E``; a MWh of
  throughput costs ``f_cyc · k_aug`` (``k_aug``: augmentation cost per MWh of capacity);
* ``replacement``: replace the cells when SoH falls to ``s_r``; a cell set lasts
  ``(1 − s_r) / f_cyc`` cycles, so a MWh of throughput costs ``f_cyc · k_rep / (1 − s_r)``;
* ``none``: usable energy fades over the life and nothing is bought; cycling has no cost in the
  dispatch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import xarray as xr

Maintenance = Literal["augmentation", "replacement", "none"]


@dataclass(frozen=True)
class Ageing:
    """Fade rates and the maintenance strategy with its costs per MWh of nameplate energy."""

    calendar_fade_per_year: float = 0.0
    cycle_fade_per_cycle: float = 0.0
    maintenance: Maintenance = "augmentation"
    replacement_soh: float = 0.8
    augmentation_cost_jpy_per_mwh: float = 0.0
    replacement_cost_jpy_per_mwh: float = 0.0


def from_dataset(ds: xr.Dataset) -> Ageing:
    """The battery's fade model and maintenance strategy from an input or result Dataset."""
    return Ageing(
        calendar_fade_per_year=float(ds["battery_calendar_fade_per_year"]),
        cycle_fade_per_cycle=float(ds["battery_cycle_fade_per_cycle"]),
        maintenance=ds.attrs["battery_maintenance"],
        replacement_soh=float(ds["battery_replacement_soh"]),
        augmentation_cost_jpy_per_mwh=float(ds["battery_augmentation_cost_jpy_per_mwh"]),
        replacement_cost_jpy_per_mwh=float(ds["battery_replacement_cost_jpy_per_mwh"]),
    )


def cycle_cost_jpy_per_mwh(a: Ageing) -> float:
    """Life-cycle cost of one MWh of equivalent-cycle throughput ``(c + d)/2`` (JPY/MWh)."""
    if a.maintenance == "augmentation":
        return a.cycle_fade_per_cycle * a.augmentation_cost_jpy_per_mwh
    if a.maintenance == "replacement":
        return a.cycle_fade_per_cycle * a.replacement_cost_jpy_per_mwh / (1.0 - a.replacement_soh)
    return 0.0


@dataclass(frozen=True)
class AgeingYear:
    """One simulated year: SoH at its start and end (before maintenance), usable energy over the
    year (MWh, mean of start and end), capacity bought back by augmentation (MWh) and whether the
    cells are replaced at its end."""

    year: int
    soh_start: float
    soh_end: float
    usable_energy_mwh: float
    augmented_mwh: float
    replaced: bool


def fade_per_year(a: Ageing, energy_mwh: float, throughput_mwh_per_year: float) -> float:
    """SoH lost in one year: ``f_cal + f_cyc · N`` with ``N`` the equivalent full cycles of a year
    whose equivalent-cycle throughput ``(Q^c + Q^d)/2`` is ``throughput_mwh_per_year``."""
    cycles = throughput_mwh_per_year / energy_mwh if energy_mwh > 0 else 0.0
    return a.calendar_fade_per_year + a.cycle_fade_per_cycle * cycles


def simulate(
    a: Ageing, energy_mwh: float, throughput_mwh_per_year: float, years: int
) -> list[AgeingYear]:
    """SoH year by year for ``years`` years, the same throughput each year.

    Augmentation buys the year's fade back at its end (SoH returns to 1); replacement renews the
    cells at the end of the first year whose SoH falls to ``replacement_soh`` or below; ``none``
    lets SoH fall (never below 0)."""
    loss = fade_per_year(a, energy_mwh, throughput_mwh_per_year)
    rows, soh = [], 1.0
    for year in range(1, years + 1):
        end = max(soh - loss, 0.0)
        augmented = (soh - end) * energy_mwh if a.maintenance == "augmentation" else 0.0
        replaced = a.maintenance == "replacement" and end <= a.replacement_soh + 1e-12
        usable = 0.5 * (soh + end) * energy_mwh
        rows.append(AgeingYear(year, soh, end, usable, augmented, replaced))
        soh = 1.0 if augmented or replaced else end
    return rows


def years_to_soh(a: Ageing, energy_mwh: float, throughput_mwh_per_year: float, soh: float) -> float:
    """Years until SoH falls to ``soh`` without maintenance (inf when nothing fades)."""
    loss = fade_per_year(a, energy_mwh, throughput_mwh_per_year)
    return (1.0 - soh) / loss if loss > 0 else math.inf
