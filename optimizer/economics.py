"""Investment economics of solved cases: up-front capital, NPV and simple payback vs a baseline.

The optimiser works with annualised costs: every capital cost enters the objective as
``CRF(r, lifetime) × investment`` per year (plus fixed O&M), so ``total_cost_jpy`` already is the
*annualised cost* of a case. Against a baseline case (e.g. the same site without a battery):

* ``net_benefit_jpy_per_year = total_cost(baseline) − total_cost(case)``, annualised;
* ``npv_jpy = net_benefit × AF(r, N)`` over an analysis period of N years, with the annuity factor
  ``AF = (1 − (1+r)^−N) / r`` (N when r = 0). With N equal to the asset's lifetime this is exactly
  ``−Δinvestment + AF × Δoperating saving``; for other N the capital is counted pro rata, which
  stands for replacements (N > lifetime) or residual value (N < lifetime);
* ``simple_payback_years = Δinvestment / Δoperating saving`` (undiscounted), where the operating
  cost is the annualised cost less its capital recovery; NaN where the saving is not positive.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from wattbit.case import Case
from wattbit.formulations.common import capital_recovery_factor
from wattbit.inputs import KW_PER_MW


def annuity_factor(rate: float | np.ndarray, years: float) -> float | np.ndarray:
    """Present value of 1 JPY a year for ``years`` years: ``(1 − (1+r)^−N) / r``, N at r = 0."""
    rate = np.asarray(rate, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = (1.0 - (1.0 + rate) ** -years) / rate
    return np.where(rate == 0, float(years), factor)


def capital(case: Case, kpis: Mapping[str, float]) -> tuple[float, float]:
    """Up-front investment (JPY) in the sized assets and its capital recovery (JPY/yr)."""
    assets: list[tuple[float, float]] = []  # (investment, lifetime)
    if case.battery is not None:
        bat = case.battery
        cost = (
            kpis["battery_power_mw"] * bat.power_capex_jpy_per_kw
            + kpis["battery_energy_mwh"] * bat.energy_capex_jpy_per_kwh
        ) * KW_PER_MW
        assets.append((cost, bat.lifetime_years))
    if case.pv is not None:
        assets.append(
            (kpis["pv_capacity_mw"] * case.pv.capex_jpy_per_kw * KW_PER_MW, case.pv.lifetime_years)
        )
    rate = case.economics.discount_rate
    investment = sum(cost for cost, _ in assets)
    recovery = sum(cost * capital_recovery_factor(rate, life) for cost, life in assets)
    return investment, recovery


def add_economics(
    ds: xr.Dataset, baseline: Mapping[str, int], analysis_years: float, label: str
) -> xr.Dataset:
    """Add ``net_benefit_jpy_per_year``, ``npv_jpy`` and ``simple_payback_years`` to a sweep.

    ``ds`` needs ``total_cost_jpy``, ``investment_jpy``, ``operating_cost_jpy_per_year`` and
    ``discount_rate``; ``baseline`` maps dimensions to the index of the baseline point along them,
    compared with every point that shares its other coordinates; ``label`` names it in the docs.
    """
    base = ds.isel(baseline, drop=True)
    benefit = base["total_cost_jpy"] - ds["total_cost_jpy"]
    saving = base["operating_cost_jpy_per_year"] - ds["operating_cost_jpy_per_year"]
    extra_investment = ds["investment_jpy"] - base["investment_jpy"]
    payback = (extra_investment.clip(min=0.0) / saving).where(saving > 0)
    npv = benefit * xr.apply_ufunc(annuity_factor, ds["discount_rate"], analysis_years)
    note = f"vs baseline {label}"
    return ds.assign(
        net_benefit_jpy_per_year=benefit.assign_attrs(units="JPY/yr", doc=f"annualised, {note}"),
        npv_jpy=npv.assign_attrs(units="JPY", doc=f"over {analysis_years:g} years, {note}"),
        simple_payback_years=payback.assign_attrs(units="yr", doc=f"undiscounted, {note}"),
    )
