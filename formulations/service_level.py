"""Service level: the IT energy not served is bounded, as a served share or as energy per year.

What the DC does not serve is its shed inflexible load :math:`s_t` (block ``dc``) and its dropped
deferrable work :math:`x_t` (block ``shift``); deferred work is served by the horizon's end (W4),
so the rest is served.

.. math::

    \\textstyle\\sum_t (s_t + x_t)\\,Δt \\le (1 − σ) \\sum_t L^{IT}_t\\,Δt      \\quad (Q1)

    α \\textstyle\\sum_t (s_t + x_t)\\,Δt \\le U                              \\quad (Q2)

==========  ===========================================================  ==========
symbol      meaning                                                      unit
==========  ===========================================================  ==========
σ           least share of the desired IT energy served                  –
U           most IT energy not served per year (annualised like costs)   MWh/yr
L^IT_t      desired IT power, inflexible and deferrable (× S if sized)   MW
==========  ===========================================================  ==========

Emergency curtailment of a rolling-horizon evaluation (C1) and type ③ shutdown are not bounded
here: they are the realised consequence of an operation, not a choice of the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo


@dataclass(frozen=True, eq=False)
class ServiceLevelData:
    it_mw: np.ndarray  # desired IT power; per MW of size when the DC is sized
    min_served_share: float | None = None
    max_unserved_it_mwh_per_year: float | None = None


def define_service_level(
    m: pyo.Block,
    data: ServiceLevelData,
    dc: pyo.Block,
    shift: pyo.Block | None = None,
    name: str = "service",
) -> pyo.Block:
    """Add the service-level block ``m.<name>`` (Q1, Q2) over the DC's shed and dropped work."""
    blk = pyo.Block()
    m.add_component(name, blk)
    T, dt, alpha = m.T, m.time.dt_h, m.time.annual_factor
    unserved = pyo.quicksum(dc.shed_it_mw[t] for t in T)
    if shift is not None:
        unserved += pyo.quicksum(shift.dropped_it_mw[t] for t in T)
    demand = float(np.sum(data.it_mw))
    if hasattr(dc, "size_mw"):
        demand = demand * dc.size_mw
    if data.min_served_share is not None:
        blk.served_share_min = pyo.Constraint(  # Q1
            expr=unserved * dt <= (1.0 - data.min_served_share) * demand * dt
        )
    if data.max_unserved_it_mwh_per_year is not None:
        blk.unserved_max = pyo.Constraint(  # Q2
            expr=alpha * unserved * dt <= data.max_unserved_it_mwh_per_year
        )
    return blk
