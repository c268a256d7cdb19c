"""Closes a site: the bus power balance, its total cost, and (for a single site) the objective.

.. math::

    \\sum_{k} \\text{injection}_{k,t} = 0 \\quad ∀t                      \\quad (E1)

    \\min \\sum_{k} \\sum_{j} \\text{cost}_{k,j}                          \\quad (E2)

over every component block k and every cost term j it declares (``cost_<term>_jpy``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pyomo.environ as pyo

COST_PREFIX = "cost_"
COST_SUFFIX = "_jpy"


def component_blocks(m: pyo.Block) -> Iterator[pyo.Block]:
    yield from m.component_objects(pyo.Block, descend_into=False)


def cost_terms(m: pyo.Block) -> dict[str, pyo.Expression]:
    """Every annualised cost term, keyed ``<block>.<term>`` (e.g. ``battery.capex``)."""
    terms = {}
    for blk in component_blocks(m):
        for expr in blk.component_objects(pyo.Expression, descend_into=False):
            local = expr.local_name
            if local.startswith(COST_PREFIX) and local.endswith(COST_SUFFIX):
                terms[f"{blk.local_name}.{local[len(COST_PREFIX) : -len(COST_SUFFIX)]}"] = expr
    return terms


def define_site_balance(m: pyo.Block) -> None:
    """Add ``m.bus.power_balance[t]`` (E1) and the site's cost ``m.total_cost_jpy`` (E2)."""
    injecting = [blk for blk in component_blocks(m) if hasattr(blk, "injection_mw")]
    m.bus = pyo.Block()
    m.bus.power_balance = pyo.Constraint(
        m.T, rule=lambda b, t: pyo.quicksum(blk.injection_mw[t] for blk in injecting) == 0
    )
    m.total_cost_jpy = pyo.Expression(expr=pyo.quicksum(cost_terms(m).values()))


def define_site_objective(m: pyo.Block) -> None:
    """Minimise the site's total annualised cost (E2)."""
    m.objective = pyo.Objective(expr=m.total_cost_jpy, sense=pyo.minimize)
