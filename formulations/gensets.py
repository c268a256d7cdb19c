"""A generator plant of several genset types: each type j has its own units of rating ū_j and
count bounds (I1), availability a_{j,t} (its start delay), fuel cost, capital and commitment
((O1)–(O5), (O7), (O8) of :mod:`wattbit.formulations.commitment`, per type). The plant's rating,
output, fuel tank and running-hour caps (F1–F10) are the types' summed, and N+k holds over all
types: k units of the largest rating installed may fail.

.. math::

    P = \\textstyle\\sum_j P_j,\\qquad P_j = ū_j n_j\\ \\text{(I1)}                         \\quad (J1)

    y_t = \\textstyle\\sum_j y_{j,t},\\qquad 0 \\le y_{j,t} \\le a_{j,t} P_j               \\quad (J2)

    y_t \\le P − k\\, ū_j b_j,\\quad k\\, ū_j b_j \\le P,\\quad b_j \\le n_j \\le \\bar N_j b_j,\\
    b_j ∈ \\{0, 1\\}\\qquad ∀j,\\ t ∈ \\mathcal{C}                                         \\quad (J3)

    \\text{cost}_{capex} = \\textstyle\\sum_j k_{g,j} P_j,\\qquad
    \\text{cost}_{fuel} = α \\textstyle\\sum_j c_{f,j} \\sum_t y_{j,t} Δt                  \\quad (J4)

=========  ======================================================================  =========
symbol     meaning                                                                 unit
=========  ======================================================================  =========
P, y_t     the plant's rating and output (F1–F10)                                   MW
P_j, n_j   type j's rating and units installed (``<type>_power_mw``, ``_units``)    MW, –
ū_j        type j's unit rating                                                     MW
N̄_j        most units of type j                                                     –
y_{j,t}    type j's output (``<type>_output_mw``)                                   MW
a_{j,t}    share of step t type j may run (the plant's, with type j's start delay)  –
𝒞          steps where the plant may run, ``a_t = max_j a_{j,t} > 0``               –
k          redundant units (N+k)                                                    –
b_j        1 if type j is installed (only with k > 0)                               –
k_{g,j}    type j's annualised capex + fixed O&M                                    JPY/MW/yr
c_{f,j}    type j's fuel cost per MWh generated                                     JPY/MWh
=========  ======================================================================  =========

(J3) is N+k over types: the output at every step the plant may run is carried by the plant's
rating less k units of the largest rating installed. For k = 1 that is the largest unit failing,
whichever type it is; for k ≥ 2 every failed unit is counted at the largest rating, which is
conservative when fewer than k units of that type are installed (an assumption). With one type it
is (O6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from wattbit.formulations.commitment import CommitmentData, define_commitment
from wattbit.formulations.common import Size, size_var


@dataclass(frozen=True, eq=False)
class GensetTypeData:
    name: str
    power_mw: Size  # in whole units: unit = the type's rating
    availability: np.ndarray
    commitment: CommitmentData  # redundant_units 0: N+k is the plant's (J3)
    capex_jpy_per_mw_year: float = 0.0
    fuel_cost_jpy_per_mwh: float = 0.0


def define_genset_types(
    blk: pyo.Block,
    types: tuple[GensetTypeData, ...],
    power: pyo.Var,
    output: pyo.Var,
    redundant_units: int = 0,
) -> tuple[pyo.Expression, pyo.Expression]:
    """Add (J1)–(J3) and each type's commitment to the generator block ``blk``, whose rating is
    ``power`` and output ``output``; return the plant's capex and fuel cost (J4) as expressions."""
    m = blk.parent_block()
    T, dt, alpha = m.T, m.time.dt_h, m.time.annual_factor
    sizes, outputs = {}, {}
    for j in types:
        P_j = size_var(blk, f"{j.name}_power_mw", j.power_mw)  # I1
        y_j = pyo.Var(T, within=pyo.NonNegativeReals)
        blk.add_component(f"{j.name}_output_mw", y_j)
        a = j.availability.tolist()
        blk.add_component(  # J2
            f"{j.name}_type_output_max",
            pyo.Constraint(T, rule=lambda b, t, y=y_j, a=a, P=P_j: y[t] <= a[t] * P),
        )
        units = getattr(blk, f"{j.name}_power_mw_units")
        define_commitment(blk, j.commitment, units, y_j, prefix=f"{j.name}_")
        sizes[j.name], outputs[j.name] = P_j, y_j
    blk.power_by_types = pyo.Constraint(expr=power == pyo.quicksum(sizes.values()))  # J1
    blk.output_by_types = pyo.Constraint(  # J2
        T, rule=lambda b, t: output[t] == pyo.quicksum(y[t] for y in outputs.values())
    )
    if redundant_units > 0:
        k = redundant_units
        plant_may = np.max([j.availability for j in types], axis=0)
        blk.C = pyo.Set(initialize=[t for t in T if plant_may[t] > 0], ordered=True)
        blk.J = pyo.Set(initialize=[j.name for j in types], ordered=True)
        spec = {j.name: j for j in types}
        blk.installed = pyo.Var(blk.J, within=pyo.Binary)
        has, n = blk.installed, {j.name: getattr(blk, f"{j.name}_power_mw_units") for j in types}
        blk.types_output_max_redundant = pyo.Constraint(  # J3
            blk.J,
            blk.C,
            rule=lambda b, j, t: output[t] <= power - k * spec[j].commitment.unit_mw * has[j],
        )
        blk.types_spares_installed = pyo.Constraint(  # J3
            blk.J, rule=lambda b, j: power >= k * spec[j].commitment.unit_mw * has[j]
        )
        blk.types_units_only_installed = pyo.Constraint(  # J3
            blk.J, rule=lambda b, j: n[j] <= n[j].ub * has[j]
        )
        blk.types_installed_if_units = pyo.Constraint(blk.J, rule=lambda b, j: has[j] <= n[j])  # J3
    capex = pyo.quicksum(j.capex_jpy_per_mw_year * sizes[j.name] for j in types)  # J4
    fuel = (
        alpha
        * dt
        * pyo.quicksum(  # J4
            j.fuel_cost_jpy_per_mwh * pyo.quicksum(outputs[j.name][t] for t in T) for j in types
        )
    )
    return capex, fuel
