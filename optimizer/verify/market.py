"""Component check of the battery's market services (A1–A7): the power headroom and the state of
charge held for every reserve product and the capacity commitment, one value per block, and each
service's revenue, re-derived from the result's arrays (formulas written here again)."""

from __future__ import annotations

import numpy as np

from wattbit.verify.checks import Checks, Result, excess


def verify_market(r: Result) -> Checks:
    """Market services (A1–A7)."""
    v = Checks()
    products = [p for p in str(r.ds.attrs.get("market_reserves", "")).split(",") if p]
    capacity = "market_capacity_mw" in r
    if not products and not capacity:
        return v
    P, E = r.scalar("battery_power_mw"), r.scalar("battery_energy_mwh")
    c, d, e = r["battery_charge_mw"], r["battery_discharge_mw"], r["battery_soc_mwh"]
    start = np.concatenate([[r.scalar("battery_soc_initial_mwh")], e[:-1]])
    inv_eta = 1.0 / r.scalar("battery_discharge_efficiency")
    floor = r.scalar("battery_soc_min_fraction") * E
    held_mw, held_mwh = np.zeros_like(d), np.zeros_like(d)
    worst_block = 0.0
    for p in products:
        res = r[f"market_reserve_{p}_mw"]
        held_mw = held_mw + res
        held_mwh = held_mwh + r.scalar(f"market_reserve_{p}_duration_h") * res
        same = r[f"market_reserve_{p}_block_start"][1:] == 0
        worst_block = max(worst_block, float(np.max(np.abs(np.diff(res))[same], initial=0.0)))
        revenue = -r.annual_sum(r[f"market_reserve_{p}_price_jpy_per_mw_h"], res)
        v.cost(r, "A4", f"cost_market_reserve_{p}_jpy", revenue)
        v[f"A4 reserve {p} ≥ 0"] = excess(-res, 0.0)
    if capacity:
        q, qe = r.scalar("market_capacity_mw"), r.scalar("market_capacity_energy_mwh")
        obligation = r["market_capacity_obligation"] > 0
        held_mw = held_mw + np.where(obligation, q, 0.0)
        held_mwh = held_mwh + np.where(obligation, qe, 0.0)
        v["A5 capacity committed ≤ power"] = excess(q, P)
        soc_max = r.scalar("battery_soc_max_fraction") * E
        v["A6 capacity energy ≤ usable energy"] = excess(inv_eta * qe, soc_max - floor)
        durations = np.asarray(r.ds.attrs["market_capacity_derating_h"], dtype=float)
        factors = np.asarray(r.ds.attrs["market_capacity_derating_factor"], dtype=float)
        credited = r.scalar("market_capacity_credited_mw")
        # the credit is Σ f_i q_i over q_i ≥ 0 with Σ q_i = q and Σ D_i q_i = q^E: at most the
        # best factor, and only with a duration mix that the energy allows
        v["A7 credited ≤ best factor × committed"] = excess(credited, float(factors.max()) * q)
        v["A6 capacity energy within the rows' durations"] = max(
            excess(float(durations.min()) * q, qe), excess(qe, float(durations.max()) * q)
        )
        price = r.scalar("market_capacity_price_jpy_per_mw_year")
        v.cost(r, "A7", "cost_market_capacity_jpy", -price * credited)
    v["A1 discharge − charge + held ≤ power"] = excess(d - c + held_mw, P)
    v["A2 SoC held for the duration"] = max(
        excess(inv_eta * held_mwh, e - floor), excess(inv_eta * held_mwh, start - floor)
    )
    v["A3 reserve one value per block"] = worst_block
    return v
