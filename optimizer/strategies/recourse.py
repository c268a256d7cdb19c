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
    # Python floats step by step: the same IEEE arithmetic as NumPy scalars, several times faster
    planned_g = np.asarray(import_mw, dtype=float).tolist()
    planned_c = [0.0] * n if charge_mw is None else np.asarray(charge_mw, dtype=float).tolist()
    planned_d = (
        [0.0] * n if discharge_mw is None else np.asarray(discharge_mw, dtype=float).tolist()
    )
    headroom = np.asarray(headroom_mw, dtype=float).tolist()
    limit = np.minimum(headroom_mw, contract_mw).tolist()
    facility = np.asarray(facility_mw, dtype=float).tolist()
    g, c, d = [0.0] * n, list(planned_c), list(planned_d)
    shed, soc = [0.0] * n, [0.0] * n
    previous = soc_before_mwh
    if battery is not None:
        keep, eta_c, eta_d = (
            battery.keep_per_step,
            battery.charge_efficiency,
            battery.discharge_efficiency,
        )
        floor, power = battery.floor_mwh, battery.power_mw
    for t in range(n):  # a simulator of the realised operation, not model building
        short = max(planned_g[t] - headroom[t], 0.0)
        stop = min(short, c[t])  # 1. stop charging
        c[t] -= stop
        short -= stop
        if battery is not None:
            stored = keep * previous + eta_c * c[t] * dt_h
            can = max((stored - floor) * eta_d / dt_h, 0.0)
            more = max(min(short, power - d[t], can - d[t]), 0.0)  # 2. discharge
            d[t] = min(d[t] + more, can)  # and no planned discharge beyond what is stored
            previous = stored - d[t] * dt_h / eta_d
            soc[t] = previous
        need = planned_g[t] - (planned_c[t] - c[t]) - (d[t] - planned_d[t])
        shed[t] = min(max(need - limit[t], 0.0), facility[t])  # 3. shed what is left
        g[t] = need - shed[t]
    return Realised(*(np.array(x) for x in (g, c, d, soc, shed)))


def refill(
    done: Realised,
    headroom_mw: np.ndarray,
    contract_mw: float,
    dt_h: float,
    battery: BatteryLimits,
    soc_max_mwh: float,
    target_mwh: float,
) -> float:
    """Bring the realised state of charge at the end back up to ``target_mwh`` (the energy the
    horizon started with, which the plans kept but the recourse may have spent): backwards from
    the last step, discharge less, then charge more, where the headroom, the contract and the
    battery's power allow and no later state of charge exceeds ``soc_max_mwh``. The extra import
    is priced like any other. Changes ``done`` in place; returns the deficit left (MWh)."""
    n = len(done.soc_mwh)
    deficit = target_mwh - done.soc_mwh[-1]
    keep = battery.keep_per_step
    for t in range(n - 1, -1, -1):
        if deficit <= 1e-9:
            break
        decay = keep ** np.arange(n - t)  # how 1 MWh stored at t carries to the later steps
        room = float(np.min((soc_max_mwh - done.soc_mwh[t:]) / decay))
        wanted = min(deficit / decay[-1], room)  # MWh to store at t
        grid = min(headroom_mw[t], contract_mw) - done.import_mw[t]
        eta_c, eta_d = battery.charge_efficiency, battery.discharge_efficiency
        less = max(min(done.discharge_mw[t], grid, wanted * eta_d / dt_h), 0.0)
        stored = less * dt_h / eta_d
        more = 0.0
        if done.discharge_mw[t] - less <= 1e-12:  # charge only once the discharge is gone
            cap = min(battery.power_mw - done.charge_mw[t], grid - less)
            more = max(min(cap, (wanted - stored) / (eta_c * dt_h)), 0.0)
            stored += eta_c * more * dt_h
        done.discharge_mw[t] -= less
        done.charge_mw[t] += more
        done.import_mw[t] += less + more
        done.soc_mwh[t:] += stored * decay
        deficit -= stored * decay[-1]
    return deficit if deficit > 1e-9 else 0.0
