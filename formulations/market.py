"""Market services of the battery: balancing-market reserve products (需給調整市場) and the capacity
market (容量市場), co-optimised with its energy dispatch, each MW and MWh counted once.

.. math::

    d_t − c_t + \\textstyle\\sum_k r_{k,t} + [t ∈ O]\\, q \\le P                   \\quad (A1)

    \\textstyle\\sum_k r_{k,t} D_k/η_d + [t ∈ O]\\, q^E/η_d \\le \\min(e_{t−1}, e_t) − σ_{min} E   \\quad (A2)

    −\\bar P\\, b_{k,t} \\le r_{k,t} − r_{k,t−1} \\le \\bar P\\, b_{k,t},\\quad t \\ge 1          \\quad (A3)

    \\text{cost}_{reserve,k} = −α \\textstyle\\sum_t π_{k,t}\\, r_{k,t}\\, Δt             \\quad (A4)

    q = \\textstyle\\sum_i q_i \\le P,\\qquad q^E = \\textstyle\\sum_i D_i q_i,\\quad
    q^E/η_d \\le (σ_{max} − σ_{min}) E                                              \\quad (A5, A6)

    \\text{cost}_{capacity} = −κ\\, \\bar q,\\qquad \\bar q = \\textstyle\\sum_i f_i q_i       \\quad (A7)

=============  ==========================================================  ==========
symbol         meaning                                                     unit
=============  ==========================================================  ==========
r_{k,t}        upward reserve of product k held at step t                  MW
b_{k,t}        1 at the first step of a block of product k, else 0         –
\\bar P         upper bound of the battery's power (a reserve never          MW
               exceeds it): (A3) holds r constant within a block
D_k            required duration at full output of product k               h
π_{k,t}        reserve (ΔkW) price of product k                            JPY/MW/h
q_i            capacity committed at the de-rating row i (D_i h, factor    MW
               f_i); q their sum, q^E the energy they need, \\bar q the
               de-rated (credited) capacity paid κ per MW-year
O              obligation steps of the capacity market (may be empty)      –
κ              capacity-market price                                       JPY/MW/yr
P, E, c, d, e  the battery's power, energy, charge, discharge, SoC          MW, MWh
=============  ==========================================================  ==========

Upward reserve is held as power the battery can still add (discharge more or charge less, A1)
and the energy to keep that up for the product's duration (A2), at both ends of the step. The
capacity commitment is split over the de-rating rows so that the credited capacity is the concave
envelope of the de-rating table at the battery's duration. Activation energy is not modelled
(reserves are paid for the MW held).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # imported in define_market: the data classes serve a case's inputs, which
    # `wattbit validate` builds without Pyomo
    import pyomo.environ as pyo


@dataclass(frozen=True, eq=False)
class ReserveData:
    product: str
    price_jpy_per_mw_h: np.ndarray
    duration_h: float
    block_start: np.ndarray  # 1 at the first step of each block: one value per block


@dataclass(frozen=True, eq=False)
class CapacityData:
    price_jpy_per_mw_year: float
    durations_h: tuple[float, ...]
    factors: tuple[float, ...]
    obligation: np.ndarray  # 1 at the steps the commitment must be available


@dataclass(frozen=True, eq=False)
class MarketData:
    discharge_efficiency: float
    soc_min_fraction: float = 0.0
    soc_max_fraction: float = 1.0
    reserves: tuple[ReserveData, ...] = field(default_factory=tuple)
    capacity: CapacityData | None = None
    power_bound_mw: float = 1e6


def define_market(
    m: pyo.Block, data: MarketData, battery: pyo.Block, name: str = "market"
) -> pyo.Block:
    """Add the market block ``m.<name>`` (A1–A7) on the battery block ``battery``."""
    import pyomo.environ as pyo

    blk = pyo.Block()
    m.add_component(name, blk)
    T, dt, alpha = m.T, m.time.dt_h, m.time.annual_factor
    P, E = battery.power_mw, battery.energy_mwh
    inv_eta = 1.0 / data.discharge_efficiency
    reserves = []
    for res in data.reserves:
        r = pyo.Var(T, within=pyo.NonNegativeReals, doc=f"reserve {res.product} held")
        blk.add_component(f"reserve_{res.product}_mw", r)
        reserves.append((res, r))
        price = res.price_jpy_per_mw_h.tolist()
        blk.add_component(  # A4
            f"cost_reserve_{res.product}_jpy",
            pyo.Expression(expr=-alpha * dt * pyo.quicksum(price[t] * r[t] for t in T)),
        )
    # A3 as a ranged row at every step, its bounds data: the LP's shape does not depend on where
    # blocks start (a rolling-horizon window compiled once moves only bounds)
    steps = [(k, t) for k in range(len(reserves)) for t in T if t > 0]
    bound = data.power_bound_mw
    blk.reserve_block = pyo.Constraint(  # A3
        steps,
        rule=lambda b, k, t: pyo.inequality(
            -bound * float(reserves[k][0].block_start[t]),
            reserves[k][1][t] - reserves[k][1][t - 1],
            bound * float(reserves[k][0].block_start[t]),
        ),
    )

    held_mw = {t: pyo.quicksum(r[t] for _, r in reserves) for t in T}
    held_mwh = {t: pyo.quicksum(res.duration_h * r[t] for res, r in reserves) for t in T}
    cap = data.capacity
    if cap is not None:
        rows = range(len(cap.durations_h))
        q = []  # one scalar per de-rating row: results hold every scalar variable
        for i in rows:
            q.append(pyo.Var(within=pyo.NonNegativeReals, doc=f"committed at row {i}"))
            blk.add_component(f"capacity_row_{i}_mw", q[i])
        blk.capacity_mw = pyo.Var(within=pyo.NonNegativeReals, doc="capacity committed")
        blk.capacity_energy_mwh = pyo.Var(within=pyo.NonNegativeReals, doc="energy it needs")
        blk.capacity_credited_mw = pyo.Var(within=pyo.NonNegativeReals, doc="de-rated capacity")
        blk.capacity_sum = pyo.Constraint(expr=blk.capacity_mw == pyo.quicksum(q[i] for i in rows))
        blk.capacity_energy_sum = pyo.Constraint(
            expr=blk.capacity_energy_mwh == pyo.quicksum(cap.durations_h[i] * q[i] for i in rows)
        )
        blk.capacity_credit = pyo.Constraint(
            expr=blk.capacity_credited_mw == pyo.quicksum(cap.factors[i] * q[i] for i in rows)
        )
        blk.capacity_power_max = pyo.Constraint(expr=blk.capacity_mw <= P)  # A5
        blk.capacity_energy_max = pyo.Constraint(  # A6
            expr=inv_eta * blk.capacity_energy_mwh
            <= (data.soc_max_fraction - data.soc_min_fraction) * E
        )
        blk.cost_capacity_jpy = pyo.Expression(  # A7
            expr=-cap.price_jpy_per_mw_year * blk.capacity_credited_mw
        )
        for t in T:
            if cap.obligation[t] > 0:
                held_mw[t] += blk.capacity_mw
                held_mwh[t] += blk.capacity_energy_mwh
    held = [t for t in T if not isinstance(held_mw[t], int | float)]
    blk.headroom = pyo.Constraint(  # A1
        held,
        rule=lambda b, t: battery.discharge_mw[t] - battery.charge_mw[t] + held_mw[t] <= P,
    )
    floor = data.soc_min_fraction * E
    blk.soc_held_end = pyo.Constraint(  # A2
        held, rule=lambda b, t: inv_eta * held_mwh[t] <= battery.soc_mwh[t] - floor
    )
    blk.soc_held_start = pyo.Constraint(
        held,
        rule=lambda b, t: (
            inv_eta * held_mwh[t]
            <= (battery.soc_initial_mwh if t == 0 else battery.soc_mwh[t - 1]) - floor
        ),
    )
    return blk
