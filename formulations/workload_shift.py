"""Temporal workload shift: a deferrable share of IT work may wait up to a maximum delay.

Work arrives as :math:`f_t = φ L^{IT}_t`; it is served later (:math:`w_t`) or dropped at the value
of lost compute (:math:`x_t`). The backlog of waiting work is bounded so that, served first in
first out, no work waits longer than D steps; the horizon ends with no backlog (work conserved),
or with the ``cyclic`` rule the backlog wraps round.

.. math::

    b_t = b_{t-1} + (f_t − w_t − x_t)\\,Δt,\\quad b_{-1} = b_0
    \\ \\text{or, cyclic, } b_{-1} = b_{n-1}                                      \\quad (W1)

    b_t \\le \\textstyle\\sum_{k=t-D+1}^{t} f_{k \\bmod n} Δt                     \\quad (W2)

(``b_0`` = 0 unless a rolling-horizon window carries a backlog in; the arrivals in (W2) then
include those before the window. With the ``cyclic`` rule the work waiting at the horizon's end
wraps to its start, as if the horizon repeated: :math:`b_{-1} = b_{n-1}`, the arrivals in (W2)
wrap too (:math:`k \\bmod n`), and (W4) is dropped.)

    w_t \\le K^{IT} − (1 − φ) L^{IT}_t                                         \\quad (W3)

    b_{n-1} = 0 \\quad \\text{(rule "empty"; none when cyclic)}                   \\quad (W4)

    \\text{injection}_t = −\\mathrm{PUE}_t\\, w_t                                \\quad (W5)

    \\text{cost}_{lost\\ compute} = α v \\textstyle\\sum_t x_t Δt,\\quad
    \\text{cost}_{deferral} = α c_b \\textstyle\\sum_t b_t Δt                   \\quad (W6, W7)

==========  ======================================================  ============
symbol      meaning                                                 unit
==========  ======================================================  ============
φ           deferrable share of the desired IT load                 –
D           maximum delay in whole steps, ``⌊max_delay_h / Δt⌋``    –
f_t         deferrable work arriving                                MW
w_t         deferrable work served                                  MW
x_t         deferrable work dropped                                 MW
b_t         backlog of waiting work at the end of step t            MWh
K^IT        IT capacity: the most IT power the DC can draw          MW
            (≥ the desired IT load at every step, checked on input)
c_b         cost of keeping work waiting                            JPY/MWh/h
==========  ======================================================  ============

The inflexible share :math:`(1−φ)L^{IT}_t` stays in :mod:`wattbit.formulations.dc_load`; (W3) keeps the
two together within the DC's IT capacity: served IT power
:math:`(1−φ)L^{IT}_t − s_t + w_t \\le K^{IT}`. Since :math:`K^{IT} \\ge L^{IT}_t` (the desired load
fits the DC) and shedding :math:`s_t` frees no room the DC could not use anyway, (W3) is stated on
the unshed inflexible load, which implies the bound on what is served.

The delay is rounded *down* to whole steps, so no work waits longer than ``max_delay_h``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo


def delay_steps(max_delay_h: float, dt_h: float) -> int:
    """D = ⌊max_delay_h / Δt⌋: the longest wait in whole steps, never above ``max_delay_h``
    (a relative 1e-9 absorbs floating-point error, so 3 h at 0.1 h steps is 30 steps)."""
    return math.floor(max_delay_h / dt_h * (1.0 + 1e-9))


@dataclass(frozen=True, eq=False)
class WorkloadShiftData:
    arrivals_it_mw: np.ndarray
    room_it_mw: np.ndarray
    pue: np.ndarray
    max_delay_steps: int
    value_of_lost_compute_jpy_per_mwh: float
    deferral_cost_jpy_per_mwh_h: float = 0.0
    initial_backlog_mwh: float = 0.0
    backlog_max_mwh: np.ndarray | None = None
    cyclic: bool = False

    def __post_init__(self) -> None:
        if np.any(self.room_it_mw < -1e-9):
            t = int(np.argmin(self.room_it_mw))
            raise ValueError(
                f"IT capacity below the inflexible IT load at step {t} "
                f"(room {self.room_it_mw[t]:.6g} MW): (W3) would be infeasible"
            )

    def backlog_bound(self, dt_h: float) -> np.ndarray:
        """Right-hand side of (W2): arrivals in the last D steps (unless given), wrapping round
        the horizon when cyclic."""
        if self.backlog_max_mwh is not None:
            return self.backlog_max_mwh
        n, steps = len(self.arrivals_it_mw), self.max_delay_steps
        before = np.resize(self.arrivals_it_mw[::-1], min(steps, n))[::-1] if self.cyclic else []
        arrivals = np.concatenate((before, self.arrivals_it_mw))
        arrived = np.concatenate(([0.0], np.cumsum(arrivals) * dt_h))
        end = np.arange(len(before) + 1, len(arrived))
        return arrived[end] - arrived[np.maximum(end - steps, 0)]


def define_workload_shift(m: pyo.Block, data: WorkloadShiftData, name: str = "shift") -> pyo.Block:
    """Add the workload-shift block ``m.<name>`` (W1–W7)."""
    blk = pyo.Block()
    m.add_component(name, blk)
    T, dt, alpha = m.T, m.time.dt_h, m.time.annual_factor
    backlog_max = data.backlog_bound(dt).tolist()
    room = np.maximum(data.room_it_mw, 0.0).tolist()  # ≥ −1e-9 by construction
    pue = data.pue.tolist()
    arrivals = data.arrivals_it_mw.tolist()
    b0 = data.initial_backlog_mwh
    n = m.time.steps

    blk.served_it_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.dropped_it_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.backlog_mwh = pyo.Var(T, within=pyo.NonNegativeReals)

    def backlog_balance(b: pyo.Block, t: int) -> pyo.Expression:  # W1
        prev = b.backlog_mwh[t - 1] if t > 0 else (b.backlog_mwh[n - 1] if data.cyclic else b0)
        return b.backlog_mwh[t] == prev + dt * (
            arrivals[t] - b.served_it_mw[t] - b.dropped_it_mw[t]
        )

    blk.backlog_balance = pyo.Constraint(T, rule=backlog_balance)
    blk.backlog_max = pyo.Constraint(  # W2
        T, rule=lambda b, t: b.backlog_mwh[t] <= backlog_max[t]
    )
    blk.served_max = pyo.Constraint(T, rule=lambda b, t: b.served_it_mw[t] <= room[t])  # W3
    if not data.cyclic:
        blk.backlog_terminal = pyo.Constraint(expr=blk.backlog_mwh[n - 1] == 0)  # W4
    blk.injection_mw = pyo.Expression(T, rule=lambda b, t: -pue[t] * b.served_it_mw[t])  # W5
    blk.cost_lost_compute_jpy = pyo.Expression(  # W6
        expr=alpha
        * data.value_of_lost_compute_jpy_per_mwh
        * dt
        * pyo.quicksum(blk.dropped_it_mw[t] for t in T)
    )
    blk.cost_deferral_jpy = pyo.Expression(  # W7
        expr=alpha
        * data.deferral_cost_jpy_per_mwh_h
        * dt
        * pyo.quicksum(blk.backlog_mwh[t] for t in T)
    )
    return blk
