"""Emergency curtailment: IT load cut when the realised headroom falls short of the planned import.

Used only to *evaluate* a rolling-horizon operation (``type2_forecast``) against the realised
headroom: the plan imports :math:`g^{plan}_t`, the grid allows :math:`H_t`, and the DC sheds the
difference at once.

.. math::

    0 \\le e_t \\le \\bar e_t                                       \\quad (C1)

    \\text{injection}_t = \\mathrm{PUE}_t\\, e_t                     \\quad (C2)

    \\text{cost}_{emergency} = α\\, κ_e \\textstyle\\sum_t e_t Δt      \\quad (C3)

=========  ====================================================  =======
symbol     meaning                                               unit
=========  ====================================================  =======
e_t        IT load curtailed in an emergency                      MW
ē_t        most IT load that can be curtailed: the desired load   MW
κ_e        cost of emergency curtailment per MWh of IT energy     JPY/MWh
=========  ====================================================  =======
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo


@dataclass(frozen=True, eq=False)
class EmergencyData:
    max_it_mw: np.ndarray
    pue: np.ndarray
    cost_jpy_per_mwh: float


def define_emergency_curtailment(
    m: pyo.Block, data: EmergencyData, name: str = "emergency"
) -> pyo.Block:
    """Add the emergency-curtailment block ``m.<name>`` (C1–C3)."""
    blk = pyo.Block()
    m.add_component(name, blk)
    T, dt = m.T, m.time.dt_h
    cap = data.max_it_mw.tolist()
    pue = data.pue.tolist()
    blk.curtailed_it_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.curtailed_max = pyo.Constraint(T, rule=lambda b, t: b.curtailed_it_mw[t] <= cap[t])  # C1
    blk.injection_mw = pyo.Expression(T, rule=lambda b, t: pue[t] * b.curtailed_it_mw[t])  # C2
    blk.cost_curtailment_jpy = pyo.Expression(  # C3
        expr=m.time.annual_factor
        * data.cost_jpy_per_mwh
        * dt
        * pyo.quicksum(blk.curtailed_it_mw[t] for t in T)
    )
    return blk
