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

The investment and its recovery come from a result Dataset alone (:func:`capital`): the inputs
carry every size's up-front capital per unit and lifetime beside the annualised coefficient.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from wattbit.formulations.common import capital_recovery_factor
from wattbit.sizes import investment_name, lifetime_name, size_names


def annuity_factor(rate: float | np.ndarray, years: float) -> float | np.ndarray:
    """Present value of 1 JPY a year for ``years`` years: ``(1 − (1+r)^−N) / r``, N at r = 0
    (``1 / CRF``); a float for a float rate, an array for an array of rates."""
    rates = np.asarray(rate, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(rates == 0, float(years), (1.0 - (1.0 + rates) ** -years) / rates)
    return float(factor) if factor.ndim == 0 else factor


def capital(results: xr.Dataset) -> tuple[float, float]:
    """Up-front investment (JPY) in the sizes of a result and its capital recovery (JPY/yr).

    Every size with an up-front capital in the inputs (:mod:`wattbit.sizes`: PV, battery power
    and energy, generator, UPS) counts: ``I = Σ_j x_j · c_j`` with ``c_j`` the capital per MW or
    MWh, and the recovery ``Σ_j CRF(r, N_j) · x_j · c_j``, the capex part of the annualised cost.
    """
    rate = float(results.attrs["discount_rate"])
    investment = recovery = 0.0
    for size in size_names(results):
        if investment_name(size) not in results:
            continue
        cost = float(results[size]) * float(results[investment_name(size)])
        investment += cost
        recovery += cost * capital_recovery_factor(rate, float(results[lifetime_name(size)]))
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
