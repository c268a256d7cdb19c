"""Grid connection at a single point: import limit H(t), optional export, energy and capacity charges.

.. math::

    0 \\le g_t \\le H_t                                              \\quad (G1)

    g_t \\le C                                                       \\quad (G2)

    0 \\le x_t \\le X_t                                              \\quad (G3)

    \\text{cost}_{energy} = α \\textstyle\\sum_t π_t g_t Δt,\\quad
    \\text{cost}_{export} = −α \\textstyle\\sum_t π^x_t x_t Δt,\\quad
    \\text{cost}_{capacity} = κ C                                    \\quad (G4–G6)

======  ===================================================================  =========
symbol  meaning                                                              unit
======  ===================================================================  =========
H_t     import limit: constant, a series, or limit − base_flow(t) (≥ 0)      MW
g_t     grid import (+ = drawn from the grid)                                MW
C       contracted capacity (fixed or sized), charged per kW-year           MW
x_t     export (reverse flow); absent when the export limit is 0            MW
X_t     export limit                                                         MW
π_t     energy price                                                         JPY/MWh
π^x_t   export price                                                         JPY/MWh
κ       capacity (basic) charge                                              JPY/MW/yr
======  ===================================================================  =========
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from wattbit.formulations.common import Size, size_var


@dataclass(frozen=True, eq=False)
class ConnectionData:
    import_limit_mw: np.ndarray
    energy_price_jpy_per_mwh: np.ndarray
    contract_mw: Size
    capacity_charge_jpy_per_mw_year: float = 0.0
    export_limit_mw: np.ndarray | None = None
    export_price_jpy_per_mwh: np.ndarray | None = None

    @property
    def allows_export(self) -> bool:
        return self.export_limit_mw is not None and bool(np.any(self.export_limit_mw > 0))


def define_connection(m: pyo.Block, data: ConnectionData, name: str = "grid") -> pyo.Block:
    """Add the connection block ``m.<name>`` (G1–G6)."""
    blk = pyo.Block()
    m.add_component(name, blk)
    T, dt, alpha = m.T, m.time.dt_h, m.time.annual_factor
    limit = data.import_limit_mw.tolist()
    price = data.energy_price_jpy_per_mwh.tolist()

    C = size_var(blk, "contract_mw", data.contract_mw)
    blk.import_mw = pyo.Var(T, within=pyo.NonNegativeReals)
    blk.import_max = pyo.Constraint(T, rule=lambda b, t: b.import_mw[t] <= limit[t])  # G1
    blk.import_max_contract = pyo.Constraint(T, rule=lambda b, t: b.import_mw[t] <= C)  # G2
    blk.cost_energy_jpy = pyo.Expression(  # G4
        expr=alpha * dt * pyo.quicksum(price[t] * blk.import_mw[t] for t in T)
    )
    blk.cost_capacity_charge_jpy = pyo.Expression(  # G6
        expr=data.capacity_charge_jpy_per_mw_year * C
    )

    if data.allows_export:
        xlim = data.export_limit_mw.tolist()
        xprice = data.export_price_jpy_per_mwh.tolist()
        blk.export_mw = pyo.Var(T, within=pyo.NonNegativeReals)
        blk.export_max = pyo.Constraint(T, rule=lambda b, t: b.export_mw[t] <= xlim[t])  # G3
        blk.cost_export_revenue_jpy = pyo.Expression(  # G5
            expr=-alpha * dt * pyo.quicksum(xprice[t] * blk.export_mw[t] for t in T)
        )
        blk.injection_mw = pyo.Expression(T, rule=lambda b, t: b.import_mw[t] - b.export_mw[t])
    else:
        blk.injection_mw = pyo.Expression(T, rule=lambda b, t: b.import_mw[t])
    return blk
