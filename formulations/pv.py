"""PV: capacity × availability, curtailable, optionally sized.

.. math::

    0 \\le g_t \\le K a_t                                        \\quad (P1)

    \\text{cost}_{capex} = k_K K                                  \\quad (P2)

======  ====================================================  =========
symbol  meaning                                               unit
======  ====================================================  =========
K       PV capacity (fixed or sized)                          MW
a_t     availability (capacity factor) in [0, 1]              –
g_t     PV power used or exported; K a_t − g_t is curtailed   MW
k_K     annualised capex + fixed O&M per MW                   JPY/MW/yr
======  ====================================================  =========
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from wattbit.formulations.common import Size, size_var


@dataclass(frozen=True, eq=False)
class PVData:
    capacity_mw: Size
    availability: np.ndarray
    capex_jpy_per_mw_year: float = 0.0


def define_pv(m: pyo.Block, data: PVData, name: str = "pv") -> pyo.Block:
    """Add the PV block ``m.<name>`` (P1–P2)."""
    blk = pyo.Block()
    m.add_component(name, blk)
    T = m.T
    avail = data.availability.tolist()

    K = size_var(blk, "capacity_mw", data.capacity_mw)
    blk.generation_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.generation_max = pyo.Constraint(  # P1
        T, rule=lambda b, t: b.generation_mw[t] <= avail[t] * K
    )
    blk.injection_mw = pyo.Expression(T, rule=lambda b, t: b.generation_mw[t])
    blk.cost_capex_jpy = pyo.Expression(expr=data.capex_jpy_per_mw_year * K)  # P2
    return blk
