"""An aggregate EV fleet: one pooled battery, chargers available while plugged in, driving drain,
a minimum energy at departure, optional vehicle-to-grid (V2G); charger power fixed or sized.

.. math::

    c_t \\le a_t P,\\qquad v_t \\le a_t P\\ \\ (\\text{V2G; else } v_t = 0)     \\quad (V1, V2)

    e_t \\le E                                                                \\quad (V3)

    e_t \\ge E^{dep}\\quad ∀t ∈ \\mathcal{D}                                    \\quad (V4)

    e_t = e_{t-1}(1-λ)^{Δt} + η_c c_t Δt − (v_t + η_v u_t) Δt / η_v          \\quad (V5 = S1)

    \\text{cyclic: } e_{n-1} = e_{-1} \\le E;\\qquad
    \\text{fixed: } e_{-1} = σ_0 E,\\ e_{n-1} \\ge σ_0 E                       \\quad (V6)

    \\text{injection}_t = v_t − c_t                                           \\quad (V7)

    \\text{cost}_{capex} = k_P P,\\qquad
    \\text{cost}_{degradation} = α k_d \\textstyle\\sum_t v_t Δt                \\quad (V8, V9)

    c_t \\le a_t \\bar P z_t,\\quad v_t \\le a_t \\bar P (1 − z_t),\\ z_t ∈ \\{0,1\\},\\ t ∈ X   \\quad (V10)

===========  =========================================================  ===========
symbol       meaning                                                    unit
===========  =========================================================  ===========
E            pooled battery: vehicles × battery size                    MWh
P            fleet charger power (fixed or sized)                       MW
a_t          share of the fleet plugged in                              –
u_t          driving drain: energy the fleet uses per hour on the road  MW
c_t, v_t     charging, and V2G discharge to the grid                    MW
e_t          pooled stored energy at the end of step t                  MWh
𝒟            departure steps: those that end at a departure hour        –
E^{dep}      fleet energy required at departure (vehicles × per-vehicle) MWh
η_c, η_v     charge and V2G discharge efficiency                        –
k_P          annualised charger capex + fixed O&M                       JPY/MW/yr
k_d          cost per MWh of V2G discharge (battery wear)               JPY/MWh
\\bar P       upper bound of P: the tight big-M of (V10)                 MW
z_t          1 if the fleet may charge (not V2G) at step t              –
X            steps given an exclusivity binary (may be empty)           –
===========  =========================================================  ===========

(V5) is the shared state-of-charge rule :mod:`wattbit.formulations.storage` with the outflow
``v_t + η_v u_t``: V2G pays the discharge loss, driving draws ``u_t`` from the pool as measured.
Charge and V2G discharge at once is allowed on steps outside X (LP); (V10) forbids it on the
steps X that the exclusivity rule (:func:`wattbit.optimise.solve_exclusive`) chose, as (B7) does
for a battery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pyomo.environ as pyo

from wattbit.formulations.common import Size, size_var
from wattbit.formulations.storage import StorageRule, define_state_of_charge


@dataclass(frozen=True, eq=False)
class EVFleetData:
    energy_mwh: float
    charger_mw: Size
    plugged_in: np.ndarray
    driving_mw: np.ndarray
    departure: np.ndarray
    departure_energy_mwh: float
    storage: StorageRule
    v2g: bool = False
    soc_rule: Literal["cyclic", "fixed"] = "cyclic"
    initial_soc_fraction: float = 0.5
    charger_capex_jpy_per_mw_year: float = 0.0
    v2g_cost_jpy_per_mwh: float = 0.0
    exclusive_steps: tuple[int, ...] = field(default_factory=tuple)


def define_ev_fleet(m: pyo.Block, data: EVFleetData, name: str = "ev") -> pyo.Block:
    """Add the EV fleet block ``m.<name>`` (V1–V10)."""
    blk = pyo.Block()
    m.add_component(name, blk)
    T, dt = m.T, m.time.dt_h
    avail = data.plugged_in.tolist()
    drive = data.driving_mw.tolist()
    eta_v = data.storage.discharge_efficiency
    E = data.energy_mwh

    P = size_var(blk, "charger_mw", data.charger_mw)
    blk.charge_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.v2g_mw = pyo.Var(T, within=pyo.NonNegativeReals, bounds=(0, None if data.v2g else 0))
    blk.soc_mwh = pyo.Var(T, within=pyo.NonNegativeReals, bounds=(0, E))  # V3
    blk.soc_initial_mwh = pyo.Var(within=pyo.NonNegativeReals, bounds=(0, E))

    blk.charge_max = pyo.Constraint(T, rule=lambda b, t: b.charge_mw[t] <= avail[t] * P)  # V1
    if data.v2g:
        blk.v2g_max = pyo.Constraint(T, rule=lambda b, t: b.v2g_mw[t] <= avail[t] * P)  # V2
    departures = [t for t in T if data.departure[t] > 0]
    blk.departure_min = pyo.Constraint(  # V4
        departures, rule=lambda b, t: b.soc_mwh[t] >= data.departure_energy_mwh
    )
    blk.outflow_mw = pyo.Expression(T, rule=lambda b, t: b.v2g_mw[t] + eta_v * drive[t])
    define_state_of_charge(  # V5
        blk,
        T,
        dt,
        data.storage,
        charge=blk.charge_mw,
        discharge=blk.outflow_mw,
        energy=blk.soc_mwh,
        initial=blk.soc_initial_mwh,
    )
    last = m.time.steps - 1
    if data.soc_rule == "cyclic":  # V6
        blk.soc_cyclic = pyo.Constraint(expr=blk.soc_mwh[last] == blk.soc_initial_mwh)
    else:
        sigma0 = data.initial_soc_fraction * E
        blk.soc_initial_fixed = pyo.Constraint(expr=blk.soc_initial_mwh == sigma0)
        blk.soc_terminal_min = pyo.Constraint(expr=blk.soc_mwh[last] >= sigma0)

    if data.v2g and data.exclusive_steps:  # V10, big-M = plugged-in share × largest charger power
        big_m = data.charger_mw.upper
        blk.X = pyo.Set(initialize=data.exclusive_steps, ordered=True)
        blk.charging = pyo.Var(blk.X, within=pyo.Binary)
        blk.charge_exclusive = pyo.Constraint(
            blk.X, rule=lambda b, t: b.charge_mw[t] <= avail[t] * big_m * b.charging[t]
        )
        blk.v2g_exclusive = pyo.Constraint(
            blk.X, rule=lambda b, t: b.v2g_mw[t] <= avail[t] * big_m * (1 - b.charging[t])
        )

    blk.injection_mw = pyo.Expression(T, rule=lambda b, t: b.v2g_mw[t] - b.charge_mw[t])  # V7
    blk.cost_capex_jpy = pyo.Expression(expr=data.charger_capex_jpy_per_mw_year * P)  # V8
    blk.cost_degradation_jpy = pyo.Expression(  # V9
        expr=m.time.annual_factor
        * data.v2g_cost_jpy_per_mwh
        * dt
        * pyo.quicksum(blk.v2g_mw[t] for t in T)
    )
    return blk
