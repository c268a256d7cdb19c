"""The least a formulation built alone needs to be solved: a tiny time axis, given injections,
a priced supply or sink, the site balance (E1) and objective (E2), and HiGHS through
:func:`wattbit.solve.solve_model`, the project's own hand-off.

A *supply* is a non-negative variable ``p_t ≤ max_t`` injecting ``+p_t`` at a price per MWh; a
*sink* takes ``x_t ≥ 0`` out of the bus, paid a price per MWh; a *given* injection is a constant
series (negative: a load). Each is a block with ``injection_mw`` and at most one cost term, so
that the site balance and total cost of :mod:`wattbit.formulations.site` pick it up as they
would any component.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyomo.environ as pyo
import pytest

from wattbit.formulations.common import TimeAxis, new_model
from wattbit.formulations.site import define_site_balance, define_site_objective
from wattbit.solve import Solution, SolverOptions, solve_model

MW = 1e-6  # absolute tolerance on powers and energies (HiGHS's feasibility tolerance is 1e-7)
REL = 1e-7  # relative tolerance on costs

# Runs a test on hourly and on half-hourly steps. α Δt = 8760/n is the same on both, so every power
# and every annual cost derived by hand (α Σ price·flow·Δt) is too; a cost term that forgot Δt, or
# used it twice, fails the half-hour run. Docstrings state α Δt, the hourly α.
STEP_LENGTHS = pytest.mark.parametrize("dt_h", [1.0, 0.5], ids=["1h", "30min"])


def model(steps: int, dt_h: float = 1.0) -> pyo.ConcreteModel:
    """An empty model of ``steps`` steps of ``dt_h`` hours; α = 8760 / (steps · dt_h)."""
    return new_model(TimeAxis(steps, dt_h), name="component_test")


def given(m: pyo.Block, name: str, mw: Sequence[float]) -> pyo.Block:
    """A fixed injection ``mw[t]`` into the bus (negative: a load)."""
    blk = pyo.Block()
    m.add_component(name, blk)
    blk.injection_mw = pyo.Expression(m.T, rule=lambda b, t: float(mw[t]))
    return blk


def supply(
    m: pyo.Block,
    name: str = "supply",
    price: float | Sequence[float] = 0.0,
    max_mw: float | Sequence[float] | None = None,
) -> pyo.Block:
    """A supply ``0 ≤ p_t ≤ max_t`` at ``price`` per MWh: cost ``α Σ_t price_t p_t Δt``."""
    blk = pyo.Block()
    m.add_component(name, blk)
    prices = np.broadcast_to(np.asarray(price, dtype=float), len(m.T)).tolist()
    limit = None if max_mw is None else np.broadcast_to(np.asarray(max_mw, float), len(m.T))
    blk.p_mw = pyo.Var(
        m.T,
        within=pyo.NonNegativeReals,
        bounds=lambda b, t: (0.0, None if limit is None else float(limit[t])),
    )
    blk.injection_mw = pyo.Expression(m.T, rule=lambda b, t: b.p_mw[t])
    alpha, dt = m.time.annual_factor, m.time.dt_h
    blk.cost_energy_jpy = pyo.Expression(
        expr=alpha * dt * pyo.quicksum(prices[t] * blk.p_mw[t] for t in m.T)
    )
    return blk


def sink(m: pyo.Block, name: str = "sink", price: float = 0.0) -> pyo.Block:
    """A sink ``x_t ≥ 0`` taking power out of the bus, paid ``price`` per MWh (negative cost)."""
    blk = pyo.Block()
    m.add_component(name, blk)
    blk.x_mw = pyo.Var(m.T, within=pyo.NonNegativeReals)
    blk.injection_mw = pyo.Expression(m.T, rule=lambda b, t: -b.x_mw[t])
    alpha, dt = m.time.annual_factor, m.time.dt_h
    blk.cost_revenue_jpy = pyo.Expression(
        expr=-alpha * dt * price * pyo.quicksum(blk.x_mw[t] for t in m.T)
    )
    return blk


def close(m: pyo.Block) -> None:
    """The site balance (E1) over every block with ``injection_mw`` and the objective (E2)."""
    define_site_balance(m)
    define_site_objective(m)


def solve(m: pyo.ConcreteModel, status: str = "optimal") -> Solution:
    """Solve with the project's HiGHS hand-off; assert the status."""
    solution, _ = solve_model(m, SolverOptions())
    assert solution.status == status, solution.message
    return solution


def values(component: pyo.Component) -> np.ndarray:
    """The values of a time-indexed variable or expression, in step order."""
    return np.array([pyo.value(component[t]) for t in sorted(component.index_set())])


def minimise(m: pyo.ConcreteModel, expr: pyo.Expression | float) -> None:
    """A block alone, without a site balance: minimise ``expr``."""
    m.objective = pyo.Objective(expr=expr, sense=pyo.minimize)
