"""Real-time recourse of ``type2_forecast``: a committed plan meets the realised headroom.

Within a committed day the plan imports :math:`g_t`, charges :math:`c_t`, discharges :math:`d_t`
and serves a facility load :math:`L_t`; the grid then allows only :math:`H_t`. Step by step, in
this order (the cheapest first):

1. **stop charging**: the shortfall :math:`g_t − H_t` is first taken off :math:`c_t`;
2. **discharge more**, within the battery's power (:math:`d_t \\le P`, with charging stopped)
   and its energy above the floor (the realised state of charge, not the planned one);
3. **shed** (emergency curtailment of the DC's served load) only for what is left.

A planned discharge the realised state of charge cannot make (the battery was emptied earlier by
step 2) is replaced by more import where the headroom and the contract leave room, and shed
otherwise. The realised state of charge is carried from step to step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BatteryLimits:
    """What the recourse may ask of the battery."""

    power_mw: float
    floor_mwh: float
    keep_per_step: float  # (1 − standing loss per h) ** Δt
    charge_efficiency: float
    discharge_efficiency: float


@dataclass
class Realised:
    """The realised operation of a committed plan (MW per step; state of charge in MWh)."""

    import_mw: np.ndarray
    charge_mw: np.ndarray
    discharge_mw: np.ndarray
    soc_mwh: np.ndarray
    shed_facility_mw: np.ndarray


def recourse(
    import_mw: np.ndarray,
    facility_mw: np.ndarray,
    headroom_mw: np.ndarray,
    contract_mw: float,
    dt_h: float,
    charge_mw: np.ndarray | None = None,
    discharge_mw: np.ndarray | None = None,
    battery: BatteryLimits | None = None,
    soc_before_mwh: float = 0.0,
) -> Realised:
    """Operate a plan against the realised headroom (see module doc). ``facility_mw`` is the
    facility load the plan serves, the most that can be shed."""
    n = len(import_mw)
    planned_g = np.asarray(import_mw, dtype=float)
    planned_c = np.zeros(n) if charge_mw is None else np.asarray(charge_mw, dtype=float)
    planned_d = np.zeros(n) if discharge_mw is None else np.asarray(discharge_mw, dtype=float)
    g, c, d = planned_g.copy(), planned_c.copy(), planned_d.copy()
    shed, soc = np.zeros(n), np.zeros(n)
    limit = np.minimum(headroom_mw, contract_mw)
    previous = soc_before_mwh
    for t in range(n):  # a simulator of the realised operation, not model building
        short = max(planned_g[t] - headroom_mw[t], 0.0)
        stop = min(short, c[t])  # 1. stop charging
        c[t] -= stop
        short -= stop
        if battery is not None:
            stored = battery.keep_per_step * previous + battery.charge_efficiency * c[t] * dt_h
            can = max((stored - battery.floor_mwh) * battery.discharge_efficiency / dt_h, 0.0)
            more = max(min(short, battery.power_mw - d[t], can - d[t]), 0.0)  # 2. discharge
            d[t] = min(d[t] + more, can)  # and no planned discharge beyond what is stored
            previous = stored - d[t] * dt_h / battery.discharge_efficiency
            soc[t] = previous
        need = planned_g[t] - (planned_c[t] - c[t]) - (d[t] - planned_d[t])
        shed[t] = min(max(need - limit[t], 0.0), facility_mw[t])  # 3. shed what is left
        g[t] = need - shed[t]
    return Realised(g, c, d, soc, shed)
