"""Workload shift to another site during an outage: IT work moves out over a link of fixed
capacity, at a cost per MWh moved; it is served elsewhere, so it is not lost compute.

.. math::

    0 \\le m_t \\le a_t C                                               \\quad (R1)

    m_t + z_t + s_t \\le L_t                                            \\quad (R2)

    \\text{injection}_t = \\mathrm{PUE}_t\\, m_t                          \\quad (R3)

    \\text{cost}_{transfer} = α c_m \\textstyle\\sum_t m_t Δt            \\quad (R4)

    m_t + z_t \\le (1 − ψ) L_t                                         \\quad (R5)

==========  ============================================================  =======
symbol      meaning                                                       unit
==========  ============================================================  =======
m_t         IT load moved to the other site                               MW
C           capacity of the move (link and room at the other site)       MW
a_t         share of step t after the migration notice of an event        –
L_t, s_t    the DC's inflexible IT load and its abrupt shed (``dc``)      MW
z_t         IT load shut down gracefully (0 without a ``shutdown`` block)  MW
c_m         cost per MWh of IT work moved                                 JPY/MWh
ψ           protected share of the IT load (``shutdown``), kept on site    –
==========  ============================================================  =======

(R5): what is protected (e.g. storage: the minutes' DCs that put UPS and generators only on
storage) stays on site; migration moves compute, so it and the graceful shutdown together take
at most the unprotected share. Built only with a protected share (a ``[shutdown]`` table); ψ = 0
without one, and any IT load may move.

For migration between sites of one network model, with latency classes and routes, see
:mod:`wattbit.formulations.geo_shift`; here the other site lies outside the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from wattbit.formulations.shutdown import define_reduction_max


@dataclass(frozen=True, eq=False)
class MigrationData:
    capacity_it_mw: float
    availability: np.ndarray
    pue: np.ndarray
    cost_jpy_per_mwh: float = 0.0
    protected_share: float = 0.0
    it_mw: np.ndarray | None = None  # the DC's inflexible desired IT load, for (R5)


def define_migration(
    m: pyo.Block,
    data: MigrationData,
    dc: pyo.Block,
    others: tuple[pyo.Block, ...] = (),
    name: str = "migration",
) -> pyo.Block:
    """Add the migration block ``m.<name>`` (R1–R5) on the DC block ``dc``; ``others`` are the
    blocks of other IT reductions (a ``shutdown`` block) that share (R2) and (R5)."""
    blk = pyo.Block()
    m.add_component(name, blk)
    T, dt, alpha = m.T, m.time.dt_h, m.time.annual_factor
    pue = data.pue.tolist()
    cap = (data.capacity_it_mw * data.availability).tolist()

    blk.it_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.migration_max = pyo.Constraint(T, rule=lambda b, t: b.it_mw[t] <= cap[t])  # R1
    define_reduction_max(blk, T, pue, dc, others)  # R2
    blk.injection_mw = pyo.Expression(T, rule=lambda b, t: pue[t] * b.it_mw[t])  # R3
    blk.cost_transfer_jpy = pyo.Expression(  # R4
        expr=alpha * data.cost_jpy_per_mwh * dt * pyo.quicksum(blk.it_mw[t] for t in T)
    )
    if data.protected_share > 0:
        sized = dc.component("it_mw")  # a sized DC's load is an expression of its size
        load = sized if sized is not None else np.asarray(data.it_mw).tolist()
        unprotected = 1.0 - data.protected_share
        blk.unprotected_max = pyo.Constraint(  # R5
            T,
            rule=lambda b, t: (
                b.it_mw[t] + pyo.quicksum(o.it_mw[t] for o in others) <= unprotected * load[t]
            ),
        )
    return blk
