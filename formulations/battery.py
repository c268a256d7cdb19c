"""On-site battery: sizing, state of charge, degradation and optional charge/discharge exclusivity.

.. math::

    c_t \\le P,\\quad d_t \\le P                                        \\quad (B1, B2)

    σ_{min} E \\le e_t \\le σ_{max} E                                   \\quad (B3, B4)

    e_t = e_{t-1}(1-λ)^{Δt} + η_c c_t Δt − d_t Δt / η_d                \\quad (B5 = S1)

    \\text{cyclic: } e_{n-1} = e_{-1},\\ σ_{min}E \\le e_{-1} \\le σ_{max}E;\\qquad
    \\text{fixed: } e_{-1} = σ_0 E,\\ e_{n-1} \\ge σ_n E               \\quad (B6)

    c_t \\le \\bar P z_t,\\quad d_t \\le \\bar P (1 − z_t),\\ z_t ∈ \\{0,1\\},\\ t ∈ X   \\quad (B7)

    \\text{cost}_{capex} = k_P P + k_E E,\\qquad
    \\text{cost}_{degradation} = α\\,k_d \\textstyle\\sum_t d_t Δt        \\quad (B8, B9)

=============  ===================================================  ===========
symbol         meaning                                              unit
=============  ===================================================  ===========
P, E           power and energy capacity (fixed or sized)           MW, MWh
\\bar P        upper bound of P: the tight big-M of (B7)             MW
c_t, d_t, e_t  charge, discharge, stored energy                     MW, MW, MWh
σ_min, σ_max   state-of-charge bounds as fractions of E             –
σ_0, σ_n       initial and minimum terminal state, rule "fixed"     –
               (σ_n = σ_0 unless given)
X              steps given an exclusivity binary (may be empty)     –
k_P, k_E       annualised capex (CRF × capex + fixed O&M)           JPY/MW/yr, JPY/MWh/yr
k_d            throughput (degradation) cost per MWh discharged     JPY/MWh
k_a            life-cycle cost of cycle fade per MWh of equivalent  JPY/MWh
               cycle throughput (wattbit.ageing; built when > 0)
=============  ===================================================  ===========

The block's injection into the site bus is ``d_t − c_t``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pyomo.environ as pyo

from wattbit.formulations.common import Size, size_var
from wattbit.formulations.storage import StorageRule, define_state_of_charge


@dataclass(frozen=True)
class BatteryData:
    power_mw: Size
    energy_mwh: Size
    storage: StorageRule
    soc_min_fraction: float = 0.0
    soc_max_fraction: float = 1.0
    soc_rule: Literal["cyclic", "fixed"] = "cyclic"
    initial_soc_fraction: float = 0.5
    terminal_soc_fraction: float | None = None
    power_capex_jpy_per_mw_year: float = 0.0
    energy_capex_jpy_per_mwh_year: float = 0.0
    throughput_cost_jpy_per_mwh: float = 0.0
    ageing_cost_jpy_per_mwh: float = 0.0
    exclusive_steps: tuple[int, ...] = field(default_factory=tuple)


def define_battery(m: pyo.Block, data: BatteryData, name: str = "battery") -> pyo.Block:
    """Add the battery block ``m.<name>`` (B1–B10)."""
    blk = pyo.Block()
    m.add_component(name, blk)
    T, dt = m.T, m.time.dt_h

    P = size_var(blk, "power_mw", data.power_mw)
    E = size_var(blk, "energy_mwh", data.energy_mwh)
    blk.charge_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.discharge_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.soc_mwh = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.soc_initial_mwh = pyo.Var(within=pyo.NonNegativeReals)

    blk.charge_max = pyo.Constraint(T, rule=lambda b, t: b.charge_mw[t] <= P)  # B1
    blk.discharge_max = pyo.Constraint(T, rule=lambda b, t: b.discharge_mw[t] <= P)  # B2
    blk.soc_max = pyo.Constraint(T, rule=lambda b, t: b.soc_mwh[t] <= data.soc_max_fraction * E)
    if data.soc_min_fraction > 0:
        blk.soc_min = pyo.Constraint(
            T, rule=lambda b, t: b.soc_mwh[t] >= data.soc_min_fraction * E
        )  # B4
    define_state_of_charge(  # B5
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
    if data.soc_rule == "cyclic":  # B6
        blk.soc_cyclic = pyo.Constraint(expr=blk.soc_mwh[last] == blk.soc_initial_mwh)
        blk.soc_initial_max = pyo.Constraint(expr=blk.soc_initial_mwh <= data.soc_max_fraction * E)
        blk.soc_initial_min = pyo.Constraint(expr=blk.soc_initial_mwh >= data.soc_min_fraction * E)
    else:
        blk.soc_initial_fixed = pyo.Constraint(
            expr=blk.soc_initial_mwh == data.initial_soc_fraction * E
        )
        terminal = data.initial_soc_fraction
        if data.terminal_soc_fraction is not None:
            terminal = data.terminal_soc_fraction
        blk.soc_terminal_min = pyo.Constraint(expr=blk.soc_mwh[last] >= terminal * E)

    if data.exclusive_steps:  # B7, big-M = the largest power the battery may be sized to
        big_m = data.power_mw.upper
        blk.X = pyo.Set(initialize=data.exclusive_steps, ordered=True)
        blk.charging = pyo.Var(blk.X, within=pyo.Binary)
        blk.charge_exclusive = pyo.Constraint(
            blk.X, rule=lambda b, t: b.charge_mw[t] <= big_m * b.charging[t]
        )
        blk.discharge_exclusive = pyo.Constraint(
            blk.X, rule=lambda b, t: b.discharge_mw[t] <= big_m * (1 - b.charging[t])
        )

    blk.injection_mw = pyo.Expression(T, rule=lambda b, t: b.discharge_mw[t] - b.charge_mw[t])
    blk.cost_capex_jpy = pyo.Expression(  # B8
        expr=data.power_capex_jpy_per_mw_year * P + data.energy_capex_jpy_per_mwh_year * E
    )
    alpha = m.time.annual_factor
    blk.cost_degradation_jpy = pyo.Expression(  # B9
        expr=alpha
        * data.throughput_cost_jpy_per_mwh
        * dt
        * pyo.quicksum(blk.discharge_mw[t] for t in T)
    )
    if data.ageing_cost_jpy_per_mwh > 0:  # B10
        blk.cost_ageing_jpy = pyo.Expression(
            expr=alpha
            * data.ageing_cost_jpy_per_mwh
            * dt
            * 0.5
            * pyo.quicksum(blk.charge_mw[t] + blk.discharge_mw[t] for t in T)
        )
    return blk
