"""Modular sizes: a capacity bought in whole units of a fixed size (battery containers, PCS blocks,
PV arrays, gensets, UPS modules, contract tiers), with an optional fixed cost per unit.

A size with a unit becomes an integer number of units; every formulation that sizes a capacity
with :func:`wattbit.formulations.common.size_var` gets this for free (docs/milp.md).

.. math::

    X = ū\\, n,\\qquad n ∈ \\mathbb{Z},\\ \\lceil X_{min}/ū \\rceil \\le n \\le \\lfloor X_{max}/ū \\rfloor
    \\quad (I1)

    \\text{cost}_{units} = k_n\\, n                                          \\quad (I2)

=========  =================================================================  ==============
symbol     meaning                                                            unit
=========  =================================================================  ==============
X          the capacity (MW or MWh), the block's size variable                MW, MWh
ū          unit size                                                          MW, MWh
n          number of units (``<size>_units``)                                 –
k_n        fixed cost per unit and year, on top of the capex per MW(h)        JPY/unit/yr
=========  =================================================================  ==============
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pyomo is imported where a block is built: the case schema counts whole units
    import pyomo.environ as pyo  # with unit_range, and loading a case needs no Pyomo

UNIT_TOL = 1e-9  # a bound within this share of a whole unit counts as that unit


def unit_range(lower: float, upper: float, unit: float) -> tuple[int, int]:
    """The whole numbers of units between ``lower`` and ``upper`` (I1): ``(⌈lower/ū⌉, ⌊upper/ū⌋)``."""
    return (
        math.ceil(lower / unit - UNIT_TOL),
        math.floor(upper / unit + UNIT_TOL),
    )


def define_units(
    blk: pyo.Block, size: pyo.Var, unit: float, cost_jpy_per_unit_year: float = 0.0
) -> pyo.Var:
    """Tie ``size`` (a size variable of ``blk``, e.g. ``battery.power_mw``) to a whole number of
    units ``blk.<size>_units`` (I1) and price each unit (I2, only when its cost is positive)."""
    import pyomo.environ as pyo

    name = size.local_name
    lo, hi = unit_range(size.lb, size.ub, unit)
    units = pyo.Var(within=pyo.NonNegativeIntegers, bounds=(lo, hi))
    blk.add_component(f"{name}_units", units)
    blk.add_component(f"{name}_whole_units", pyo.Constraint(expr=size == unit * units))  # I1
    if cost_jpy_per_unit_year > 0:
        blk.add_component(  # I2
            f"cost_{name}_units_jpy", pyo.Expression(expr=cost_jpy_per_unit_year * units)
        )
    return units
