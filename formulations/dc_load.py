"""Data-centre load: IT power × PUE, with sheddable IT load at a value of lost compute.

.. math::

    0 \\le s_t \\le L^{IT}_t                                          \\quad (D1)

    \\text{injection}_t = −(L^{IT}_t − s_t)\\,\\mathrm{PUE}_t          \\quad (D2)

    \\text{cost}_{lost\\ compute} = α\\, v \\textstyle\\sum_t s_t Δt      \\quad (D3)

==========  ==========================================================  ========
symbol      meaning                                                     unit
==========  ==========================================================  ========
L^IT_t      desired IT power (profile, or idle + (peak − idle)·u_t)     MW
PUE_t       power usage effectiveness (facility / IT)                   –
s_t         IT load shed (work not done)                                MW
v           value of lost compute, per MWh of IT energy not served       JPY/MWh
==========  ==========================================================  ========
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo


@dataclass(frozen=True, eq=False)
class DataCentreData:
    it_mw: np.ndarray
    pue: np.ndarray
    value_of_lost_compute_jpy_per_mwh: float


def define_data_centre(m: pyo.Block, data: DataCentreData, name: str = "dc") -> pyo.Block:
    """Add the DC block ``m.<name>`` (D1–D3)."""
    blk = pyo.Block()
    m.add_component(name, blk)
    T, dt = m.T, m.time.dt_h
    it = data.it_mw.tolist()
    pue = data.pue.tolist()

    blk.shed_it_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.shed_max = pyo.Constraint(T, rule=lambda b, t: b.shed_it_mw[t] <= it[t])  # D1
    blk.injection_mw = pyo.Expression(  # D2
        T, rule=lambda b, t: -pue[t] * it[t] + pue[t] * b.shed_it_mw[t]
    )
    blk.cost_lost_compute_jpy = pyo.Expression(  # D3
        expr=m.time.annual_factor
        * data.value_of_lost_compute_jpy_per_mwh
        * dt
        * pyo.quicksum(blk.shed_it_mw[t] for t in T)
    )
    return blk
