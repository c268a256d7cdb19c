"""Data-centre load: IT power × PUE, with sheddable IT load at a value of lost compute, and
optionally the DC's size (peak IT power) as a decision.

.. math::

    L^{IT}_t = \\ell_t\\,S \\ \\text{(sized)}\\quad\\text{or given}                      \\quad (D0)

    0 \\le s_t \\le L^{IT}_t                                                       \\quad (D1)

    \\text{injection}_t = −(L^{IT}_t − s_t)\\,\\mathrm{PUE}_t                       \\quad (D2)

    \\text{cost}_{lost\\ compute} = α\\, v \\textstyle\\sum_t s_t Δt,\\qquad
    \\text{cost}_{size\\ value} = −v_S\\, S                                         \\quad (D3, D4)

==========  ==========================================================  ==========
symbol      meaning                                                     unit
==========  ==========================================================  ==========
L^IT_t      desired IT power (profile, or idle + (peak − idle)·u_t)     MW
ℓ_t         IT profile per MW of size (sized DC only)                   –
S           DC size, peak IT power (fixed by the profile, or sized)     MW
PUE_t       power usage effectiveness (facility / IT)                   –
s_t         IT load shed (work not done)                                MW
v           value of lost compute, per MWh of IT energy not served      JPY/MWh
v_S         value of one MW of DC size per year (compute it sells)      JPY/MW/yr
==========  ==========================================================  ==========

A sized DC answers "how large a DC can connect": each MW of size earns v_S but brings load that
must be served or shed at v.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from wattbit.formulations.common import Size, size_var


@dataclass(frozen=True, eq=False)
class DataCentreData:
    it_mw: np.ndarray
    pue: np.ndarray
    value_of_lost_compute_jpy_per_mwh: float
    size_mw: Size | None = None
    it_per_mw: np.ndarray | None = None
    value_of_size_jpy_per_mw_year: float = 0.0


def define_data_centre(m: pyo.Block, data: DataCentreData, name: str = "dc") -> pyo.Block:
    """Add the DC block ``m.<name>`` (D0–D4)."""
    blk = pyo.Block()
    m.add_component(name, blk)
    T, dt = m.T, m.time.dt_h
    pue = data.pue.tolist()

    if data.size_mw is not None:  # D0
        S = size_var(blk, "size_mw", data.size_mw)
        shape = data.it_per_mw.tolist()
        blk.it_mw = pyo.Expression(T, rule=lambda b, t: shape[t] * S)
        blk.cost_size_value_jpy = pyo.Expression(expr=-data.value_of_size_jpy_per_mw_year * S)
        demand = blk.it_mw
    else:
        demand = data.it_mw.tolist()

    blk.shed_it_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.shed_max = pyo.Constraint(T, rule=lambda b, t: b.shed_it_mw[t] <= demand[t])  # D1
    blk.injection_mw = pyo.Expression(  # D2
        T, rule=lambda b, t: -pue[t] * demand[t] + pue[t] * b.shed_it_mw[t]
    )
    blk.cost_lost_compute_jpy = pyo.Expression(  # D3
        expr=m.time.annual_factor
        * data.value_of_lost_compute_jpy_per_mwh
        * dt
        * pyo.quicksum(blk.shed_it_mw[t] for t in T)
    )
    return blk
