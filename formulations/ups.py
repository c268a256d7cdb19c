"""UPS: a small store rated in minutes at its power, that discharges only while the grid supply is
cut, bridging the generator's start (and the shutdown notice) until other sources take over.

.. math::

    c_t \\le U,\\qquad d_t \\le u_t U                                   \\quad (U1, U2)

    e_t \\le (m/60)\\, U                                                \\quad (U3)

    e_t = e_{t-1}(1-λ)^{Δt} + η_c c_t Δt − d_t Δt / η_d               \\quad (U4 = S1)

    e_{n-1} = e_{-1} \\le (m/60)\\, U                                   \\quad (U5)

    \\text{cost}_{capex} = k_U U                                        \\quad (U6)

=========  ================================================================  =========
symbol     meaning                                                           unit
=========  ================================================================  =========
U          rated power (fixed or sized)                                      MW
m          autonomy: minutes of discharge at rated power                     min
u_t        1 where the grid supply is cut at step t, else 0                  –
c_t, d_t   charge and discharge                                              MW
e_t        stored energy at the end of step t                                MWh
k_U        annualised capex + fixed O&M                                      JPY/MW/yr
=========  ================================================================  =========

(U5) is the cyclic rule of every store: the UPS ends the horizon as it began, so it neither gains
nor loses energy over the horizon. The injection into the site bus is ``d_t − c_t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from wattbit.formulations.common import Size, size_var
from wattbit.formulations.storage import StorageRule, define_state_of_charge

MINUTES_PER_HOUR = 60.0


@dataclass(frozen=True, eq=False)
class UPSData:
    power_mw: Size
    autonomy_minutes: float
    discharge_allowed: np.ndarray
    storage: StorageRule
    capex_jpy_per_mw_year: float = 0.0


def define_ups(m: pyo.Block, data: UPSData, name: str = "ups") -> pyo.Block:
    """Add the UPS block ``m.<name>`` (U1–U6)."""
    blk = pyo.Block()
    m.add_component(name, blk)
    T, dt = m.T, m.time.dt_h
    allowed = data.discharge_allowed.tolist()
    hours = data.autonomy_minutes / MINUTES_PER_HOUR

    U = size_var(blk, "power_mw", data.power_mw)
    blk.charge_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.discharge_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.soc_mwh = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.soc_initial_mwh = pyo.Var(within=pyo.NonNegativeReals)

    blk.charge_max = pyo.Constraint(T, rule=lambda b, t: b.charge_mw[t] <= U)  # U1
    blk.discharge_max = pyo.Constraint(  # U2
        T, rule=lambda b, t: b.discharge_mw[t] <= allowed[t] * U
    )
    blk.soc_max = pyo.Constraint(T, rule=lambda b, t: b.soc_mwh[t] <= hours * U)  # U3
    define_state_of_charge(  # U4
        blk,
        T,
        dt,
        data.storage,
        charge=blk.charge_mw,
        discharge=blk.discharge_mw,
        energy=blk.soc_mwh,
        initial=blk.soc_initial_mwh,
    )
    last = m.time.steps - 1
    blk.soc_cyclic = pyo.Constraint(expr=blk.soc_mwh[last] == blk.soc_initial_mwh)  # U5
    blk.soc_initial_max = pyo.Constraint(expr=blk.soc_initial_mwh <= hours * U)

    blk.injection_mw = pyo.Expression(T, rule=lambda b, t: b.discharge_mw[t] - b.charge_mw[t])
    blk.cost_capex_jpy = pyo.Expression(expr=data.capex_jpy_per_mw_year * U)  # U6
    return blk
