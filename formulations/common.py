"""Shared pieces of every formulation: the time axis, sizes and annualisation.

Symbols
-------
=========  =====================================================  =====
symbol     meaning                                                unit
=========  =====================================================  =====
T          time steps ``0 … n-1``                                 –
Δt         step length                                            h
α          annualisation factor ``8760 / (n·Δt)``                 –
CRF        capital recovery factor ``r(1+r)^N / ((1+r)^N − 1)``   1/yr
=========  =====================================================  =====
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pyomo is imported where a model is built: a case's inputs need the plain
    # helpers here (capital_recovery_factor), and `wattbit validate` starts without Pyomo
    import pyomo.environ as pyo

HOURS_PER_YEAR = 8760.0


@dataclass(frozen=True)
class TimeAxis:
    """The model's time axis: ``steps`` steps of ``dt_h`` hours."""

    steps: int
    dt_h: float

    @property
    def annual_factor(self) -> float:
        """α: multiplies horizon sums of operating cost into JPY per year."""
        return HOURS_PER_YEAR / (self.steps * self.dt_h)


@dataclass(frozen=True)
class Size:
    """A capacity that is fixed (``lower == upper``) or sized by the optimiser within bounds; with
    a ``unit``, a whole number of units of that size, each costing ``unit_cost_jpy_per_year``
    (:mod:`wattbit.formulations.modular`)."""

    lower: float
    upper: float
    unit: float | None = None
    unit_cost_jpy_per_year: float = 0.0

    @property
    def is_sized(self) -> bool:
        return self.upper > self.lower

    @classmethod
    def fixed(cls, value: float) -> Size:
        return cls(value, value)


def capital_recovery_factor(rate: float, lifetime_years: float) -> float:
    """CRF = r(1+r)^N / ((1+r)^N − 1); 1/N when r = 0."""
    if rate == 0:
        return 1.0 / lifetime_years
    growth = (1.0 + rate) ** lifetime_years
    return rate * growth / (growth - 1.0)


def add_time_axis(blk: pyo.Block, time: TimeAxis) -> pyo.Block:
    """Give a block (a whole model, or one scenario of it) the time set ``T`` and ``time``.

    Formulations add their components to any block prepared this way, so that one site can be
    the whole model or one of several scenario blocks sharing first-stage sizes.
    """
    import pyomo.environ as pyo

    blk.T = pyo.RangeSet(0, time.steps - 1)
    blk.time = time
    return blk


def new_model(time: TimeAxis, name: str = "wattbit") -> pyo.ConcreteModel:
    """An empty model with the time set ``m.T`` and the axis kept as ``m.time``."""
    import pyomo.environ as pyo

    return add_time_axis(pyo.ConcreteModel(name=name), time)


def size_var(blk: pyo.Block, name: str, size: Size) -> pyo.Var:
    """Add a non-negative size variable bounded by ``size``, in whole units if it has a unit."""
    import pyomo.environ as pyo

    from wattbit.formulations.modular import define_units

    var = pyo.Var(within=pyo.NonNegativeReals, bounds=(size.lower, size.upper))
    blk.add_component(name, var)
    if size.unit is not None:
        define_units(blk, var, size.unit, size.unit_cost_jpy_per_year)
    return var
