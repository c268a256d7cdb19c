"""The one state-of-charge rule shared by every stored energy (battery, EV fleet, UPS, fuel).

.. math::

    e_t = e_{t-1}\\,(1-\\lambda)^{Δt} + η_c\\,c_t\\,Δt − d_t\\,Δt/η_d          \\quad (S1)

with :math:`e_{-1}` the initial state. ``e_t`` is the energy at the *end* of step ``t``.

=========  ==========================================  =====
symbol     meaning                                     unit
=========  ==========================================  =====
e_t        stored energy at the end of step t          MWh
c_t, d_t   charge and discharge power                  MW
η_c, η_d   charge and discharge efficiency             –
λ          standing loss per hour (fraction of e)      1/h
=========  ==========================================  =====
"""

from __future__ import annotations

from dataclasses import dataclass

import pyomo.environ as pyo


@dataclass(frozen=True)
class StorageRule:
    charge_efficiency: float
    discharge_efficiency: float
    standing_loss_per_h: float


def define_state_of_charge(
    blk: pyo.Block,
    T: pyo.Set,
    dt_h: float,
    rule: StorageRule,
    *,
    charge: pyo.Var,
    discharge: pyo.Var,
    energy: pyo.Var,
    initial: pyo.Var | pyo.Expression,
) -> None:
    """Add ``blk.soc_balance[t]`` (S1)."""
    keep = (1.0 - rule.standing_loss_per_h) ** dt_h
    eta_c = rule.charge_efficiency
    inv_eta_d = 1.0 / rule.discharge_efficiency

    def soc_balance(b: pyo.Block, t: int) -> pyo.Expression:
        prev = initial if t == 0 else energy[t - 1]
        return energy[t] == keep * prev + eta_c * dt_h * charge[t] - inv_eta_d * dt_h * discharge[t]

    blk.soc_balance = pyo.Constraint(T, rule=soc_balance)
