"""Backup generator: rated power (fixed or sized), start delay, a fuel tank on the shared SoC rule,
refuelling, running-hour limits per event and per year, fuel cost and emissions.

The fuel tank holds fuel as the electrical energy it yields (MWh); its capacity is ``h`` hours at
rated power. Fuel is priced when burned, so the tank starts full and its end state costs nothing.
Running hours are counted as equivalent full-load hours (energy / rated power), the LP measure of
a cap on running hours: a generator at half load for 2 h counts 1 h (without on/off binaries the
model cannot tell hours at part load apart). With the gensets in units, ``running_hours = "on"``
counts hours on instead: (O9), (O10) of :mod:`wattbit.formulations.commitment` replace (F9),
(F10).

.. math::

    0 \\le y_t \\le a_t P                                                \\quad (F1)

    f_t \\le h P                                                         \\quad (F2)

    f_t = f_{t-1} + r_t Δt − y_t Δt,\\qquad f_{-1} = h P                \\quad (F3 = S1, F4)

    0 \\le r_t \\le q_t P                                                \\quad (F5)

    \\textstyle\\sum_{t ∈ \\mathcal{T}_e} y_t Δt \\le H_e P \\quad ∀e           \\quad (F9)

    α \\textstyle\\sum_t y_t Δt \\le H_y P                               \\quad (F10)

    \\text{cost}_{capex} = k_g P,\\quad
    \\text{cost}_{fuel} = α c_f \\textstyle\\sum_t y_t Δt,\\quad
    \\text{cost}_{emissions} = α π_{CO_2} ε \\textstyle\\sum_t y_t Δt    \\quad (F6–F8)

=========  ===================================================================  =========
symbol     meaning                                                              unit
=========  ===================================================================  =========
P          rated power (fixed or sized)                                         MW
y_t        generator output                                                     MW
a_t        share of step t the generator can run: in a fault, the share after
           its start delay; in planned maintenance 1 only with a prime-mover
           permit; outside events 0 unless it may run there                     –
h          fuel tank, in hours at rated power                                   h
f_t        fuel in the tank at the end of step t, as electrical energy          MWh
r_t        refuelling                                                           MW
q_t        most refuelling per MW of P: ``h/Δt + 1`` where no fault cuts
           (the tank is refilled between faults), else the contracted
           deliveries' rate once their lead time has passed (0 without one)     –
𝒯_e        the steps of fault e (a listed or sampled fault, not maintenance)    –
H_e        most running hours per fault (none: no F9)                           h
H_y        most running hours per year (none: no F10)                           h
k_g        annualised capex + fixed O&M                                         JPY/MW/yr
c_f        fuel cost per MWh generated                                          JPY/MWh
ε          emissions factor                                                     t/MWh
π_CO2      carbon price                                                         JPY/t
=========  ===================================================================  =========

The block's injection into the site bus is ``y_t``. A plant of several genset types
(:mod:`wattbit.formulations.gensets`) has P, c_f and k_g per type: P and the terms of (F6) and
(F7) are the types' summed (J1, J4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from wattbit.formulations.commitment import (
    CommitmentData,
    define_commitment,
    define_running_hours,
)
from wattbit.formulations.common import Size, size_var
from wattbit.formulations.gensets import GensetTypeData, define_genset_types
from wattbit.formulations.storage import StorageRule, define_state_of_charge

LOSSLESS = StorageRule(charge_efficiency=1.0, discharge_efficiency=1.0, standing_loss_per_h=0.0)


@dataclass(frozen=True, eq=False)
class GeneratorData:
    power_mw: Size
    availability: np.ndarray
    refuel_limit: np.ndarray
    fuel_tank_h: float
    capex_jpy_per_mw_year: float = 0.0
    fuel_cost_jpy_per_mwh: float = 0.0
    emissions_t_per_mwh: float = 0.0
    carbon_price_jpy_per_t: float = 0.0
    events: tuple[tuple[int, ...], ...] = ()
    max_run_h_per_event: float | None = None
    max_run_h_per_year: float | None = None
    commitment: CommitmentData | None = None
    types: tuple[GensetTypeData, ...] = ()  # several genset types: P and costs are theirs (J1–J4)
    redundant_units: int = 0  # N+k over the types (J3); one type has it in ``commitment``


def define_generator(m: pyo.Block, data: GeneratorData, name: str = "generator") -> pyo.Block:
    """Add the generator block ``m.<name>`` (F1–F10), with its unit commitment
    (:mod:`wattbit.formulations.commitment`) when ``data.commitment`` is given, or its genset
    types (:mod:`wattbit.formulations.gensets`) when ``data.types`` are."""
    blk = pyo.Block()
    m.add_component(name, blk)
    T, dt, alpha = m.T, m.time.dt_h, m.time.annual_factor
    avail = data.availability.tolist()
    refuel = data.refuel_limit.tolist()
    h = data.fuel_tank_h

    if data.types:  # the plant's rating, the types' summed (J1)
        P = blk.power_mw = pyo.Var(
            within=pyo.NonNegativeReals, bounds=(data.power_mw.lower, data.power_mw.upper)
        )
    else:
        P = size_var(blk, "power_mw", data.power_mw)
    blk.output_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.refuel_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.fuel_mwh = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.fuel_initial_mwh = pyo.Expression(expr=h * P)  # F4

    blk.output_max = pyo.Constraint(T, rule=lambda b, t: b.output_mw[t] <= avail[t] * P)  # F1
    blk.fuel_max = pyo.Constraint(T, rule=lambda b, t: b.fuel_mwh[t] <= h * P)  # F2
    define_state_of_charge(  # F3
        blk,
        T,
        dt,
        LOSSLESS,
        charge=blk.refuel_mw,
        discharge=blk.output_mw,
        energy=blk.fuel_mwh,
        initial=blk.fuel_initial_mwh,
    )
    blk.refuel_max = pyo.Constraint(T, rule=lambda b, t: b.refuel_mw[t] <= refuel[t] * P)  # F5

    if data.types:  # J1–J4: several genset types (docs/milp.md)
        capex, fuel = define_genset_types(blk, data.types, P, blk.output_mw, data.redundant_units)
    elif data.commitment is not None:  # O1–O8: gensets in units (docs/milp.md)
        define_commitment(blk, data.commitment, blk.power_mw_units, blk.output_mw)
    blk.injection_mw = pyo.Expression(T, rule=lambda b, t: b.output_mw[t])
    generated = dt * pyo.quicksum(blk.output_mw[t] for t in T)
    if hours_on(data):  # O9, O10: hours of the units on, per genset type
        for prefix in [f"{j.name}_" for j in data.types] or [""]:
            units = blk.component(f"{prefix}power_mw_units")
            cap_e, cap_y = data.max_run_h_per_event, data.max_run_h_per_year
            define_running_hours(blk, units, data.events, cap_e, cap_y, prefix)
    elif data.max_run_h_per_event is not None and data.events:
        cap, events = data.max_run_h_per_event, data.events
        blk.E = pyo.RangeSet(0, len(events) - 1)
        blk.run_hours_per_event_max = pyo.Constraint(  # F9
            blk.E,
            rule=lambda b, e: dt * pyo.quicksum(b.output_mw[t] for t in events[e]) <= cap * P,
        )
    if data.max_run_h_per_year is not None and not hours_on(data):
        blk.run_hours_per_year_max = pyo.Constraint(  # F10
            expr=alpha * generated <= data.max_run_h_per_year * P
        )
    if not data.types:
        capex = data.capex_jpy_per_mw_year * P
        fuel = alpha * data.fuel_cost_jpy_per_mwh * generated
    blk.cost_capex_jpy = pyo.Expression(expr=capex)  # F6
    blk.cost_fuel_jpy = pyo.Expression(expr=fuel)  # F7
    blk.cost_emissions_jpy = pyo.Expression(  # F8
        expr=alpha * data.carbon_price_jpy_per_t * data.emissions_t_per_mwh * generated
    )
    return blk


def hours_on(data: GeneratorData) -> bool:
    """Whether the running-hour caps count the units on (O9, O10) instead of F9, F10."""
    found = [j.commitment for j in data.types] or [data.commitment]
    return any(c is not None and c.hours_on for c in found)
