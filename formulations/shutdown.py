"""Graceful shutdown during an outage, and the SLA penalty per interrupted event.

Once the notice time of an event has passed (the data is evacuated), the DC may drop its IT load
to a protected share (e.g. storage only), at its own value of lost compute, lower than an abrupt
loss; before that it can only shed abruptly (:mod:`wattbit.formulations.dc_load`). An event in which any
IT load is shed or shut down pays the SLA penalty once.

.. math::

    0 \\le z_t \\le (1 − ψ)\\, a_t L_t                                   \\quad (H1)

    z_t + s_t \\le L_t                                                  \\quad (H2)

    \\text{injection}_t = \\mathrm{PUE}_t\\, z_t                          \\quad (H3)

    \\text{cost}_{shutdown} = α v_z \\textstyle\\sum_t z_t Δt            \\quad (H4)

    s_t + z_t \\le L_t\\, y_e\\quad ∀e,\\ t ∈ \\mathcal{T}_e,\\ y_e ∈ \\{0, 1\\}   \\quad (H5)

    \\text{cost}_{sla} = α π_e \\textstyle\\sum_e y_e                     \\quad (H6)

    s_t + z_t + m_t \\le (1 − ψ) L_t + ψ L_t (1 − u) \\quad ∀e,\\ t ∈ \\mathcal{T}^X_e    \\quad (H7)

==========  ==============================================================  =======
symbol      meaning                                                         unit
==========  ==============================================================  =======
L_t         the DC's inflexible desired IT load (as in the ``dc`` block)    MW
s_t         IT load shed abruptly (``dc.shed_it_mw``)                       MW
z_t         IT load shut down gracefully                                    MW
ψ           protected share of the IT load, kept through a shutdown         –
a_t         share of step t after the shutdown notice of an event           –
v_z         value of compute lost to a graceful shutdown                    JPY/MWh
𝒯_e         the steps of event e                                            –
y_e         1 if event e interrupts any IT load                             –
π_e         SLA penalty per interrupted event                               JPY
𝒯^X_e       the first ⌈X/Δt⌉ steps of fault e, X = ``min_survival_h``       –
m_t         IT load migrated (0 without a ``migration`` block)             MW
u           1 if the scenario must meet the service level (a binary of
            :mod:`wattbit.formulations.scenarios`, K4; 1 without one)      –
==========  ==============================================================  =======

(H5) and (H6) are built only when π_e > 0; the big-M ``L_t`` is the most that can be interrupted
(for a sized DC, its load at the largest size). (H7) is a service level as a constraint, REopt's
minimum resilience hours: through the first X hours of every fault of the scenario the protected
load ψ L_t is served on site (what is protected, e.g. storage, stays here: migrating it does not
count), whatever it costs; with a chance constraint (K4) only in the scenarios with u = 1, the
others relaxed by the tightest big-M, ψ L_t (the reductions never exceed L_t, H2); it is built only when X > 0 (:func:`define_protected_kept`, once the
migration block exists), and makes the problem infeasible if the sizes allowed cannot do it.
Other reductions of the IT load (migration) join (H2) through their own ``reduction_max``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo


@dataclass(frozen=True, eq=False)
class ShutdownData:
    it_mw: np.ndarray
    pue: np.ndarray
    protected_share: float
    availability: np.ndarray
    value_of_lost_compute_jpy_per_mwh: float
    events: tuple[tuple[int, ...], ...] = field(default_factory=tuple)
    penalty_jpy_per_event: float = 0.0
    protected_steps: tuple[tuple[int, ...], ...] = field(default_factory=tuple)


def define_reduction_max(
    blk: pyo.Block, T: pyo.Set, pue: list[float], dc: pyo.Block, others: tuple[pyo.Block, ...]
) -> None:
    """``blk.reduction_max[t]``: this block's and the ``others``' IT reductions ``it_mw`` fit in
    the load the DC still serves, ``L_t − s_t = −injection^{dc}_t / PUE_t`` (H2, R2)."""

    def rule(b: pyo.Block, t: int) -> pyo.Expression:
        reduced = b.it_mw[t] + pyo.quicksum(o.it_mw[t] for o in others)
        return reduced <= -dc.injection_mw[t] * (1.0 / pue[t])

    blk.reduction_max = pyo.Constraint(T, rule=rule)


def define_shutdown(
    m: pyo.Block, data: ShutdownData, dc: pyo.Block, name: str = "shutdown"
) -> pyo.Block:
    """Add the shutdown block ``m.<name>`` (H1–H6) on the DC block ``dc``."""
    blk = pyo.Block()
    m.add_component(name, blk)
    T, dt, alpha = m.T, m.time.dt_h, m.time.annual_factor
    it = data.it_mw.tolist()
    pue = data.pue.tolist()
    share = ((1.0 - data.protected_share) * data.availability).tolist()
    sized = dc.component("it_mw")  # a sized DC's load is an expression of its size
    load = sized if sized is not None else it

    blk.it_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.shutdown_max = pyo.Constraint(  # H1
        T, rule=lambda b, t: b.it_mw[t] <= share[t] * load[t]
    )
    define_reduction_max(blk, T, pue, dc, ())  # H2
    blk.injection_mw = pyo.Expression(T, rule=lambda b, t: pue[t] * b.it_mw[t])  # H3
    blk.cost_lost_compute_jpy = pyo.Expression(  # H4
        expr=alpha
        * data.value_of_lost_compute_jpy_per_mwh
        * dt
        * pyo.quicksum(blk.it_mw[t] for t in T)
    )
    if data.penalty_jpy_per_event > 0 and data.events:
        steps = [(e, t) for e, event in enumerate(data.events) for t in event]
        blk.E = pyo.RangeSet(0, len(data.events) - 1)
        blk.interrupted = pyo.Var(blk.E, within=pyo.Binary)
        blk.interruption_max = pyo.Constraint(  # H5
            steps,
            rule=lambda b, e, t: dc.shed_it_mw[t] + b.it_mw[t] <= it[t] * b.interrupted[e],
        )
        blk.cost_sla_jpy = pyo.Expression(  # H6
            expr=alpha * data.penalty_jpy_per_event * pyo.quicksum(blk.interrupted.values())
        )
    return blk


def define_protected_kept(
    blk: pyo.Block,
    data: ShutdownData,
    dc: pyo.Block,
    others: tuple[pyo.Block, ...],
    required: pyo.Var | None = None,
) -> None:
    """(H7) on the shutdown block ``blk``: the protected load served on site through the first
    steps of every fault; ``others`` are the other IT reductions (a ``migration`` block);
    ``required`` the scenario's binary u of a chance constraint (K4), None: always."""
    if not data.protected_steps:
        return
    kept = sorted({t for event in data.protected_steps for t in event})
    sized = dc.component("it_mw")
    load = sized if sized is not None else data.it_mw.tolist()
    unprotected = 1.0 - data.protected_share

    def rule(b: pyo.Block, t: int) -> pyo.Expression:
        reduced = dc.shed_it_mw[t] + b.it_mw[t] + pyo.quicksum(o.it_mw[t] for o in others)
        if required is None:
            return reduced <= unprotected * load[t]
        return reduced <= unprotected * load[t] + data.protected_share * load[t] * (1 - required)

    blk.protected_kept = pyo.Constraint(kept, rule=rule)  # H7
