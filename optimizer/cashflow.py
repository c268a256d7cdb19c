"""A battery's multi-year cash flow from one optimised year: yearly rows, NPV, IRR and payback.

**What is optimised, what is simulated.** The optimiser solves one representative year (a result
Dataset, annualised). The cash flow repeats that year over ``analysis_years`` (case
``[economics]``): year 0 pays the battery's up-front investment; every later year ``y`` earns the
year's revenue of each service, escalated by ``(1 + g_p)^(y−1)`` and scaled by the battery's usable
energy that year relative to nameplate (the state of health of :func:`wattbit.ageing.simulate`: an
assumption, exact for energy-limited services, conservative for power-limited ones), and pays fixed
O&M, the throughput cost (B9), augmentation and replacement, escalated by ``(1 + g_c)^(y−1)``.
The optimiser's own annualised capex (B8) and cycle-ageing proxy (B10) are replaced by the
investment in year 0 and the simulated maintenance. No residual value at the end (an assumption).

Revenues by service (JPY/yr in the optimised year):

* ``energy``: with a baseline result (the same case without the battery) the saving in every
  operating and non-battery cost term, ``Σ_j cost_j(baseline) − cost_j(case)`` over the terms that
  are neither the battery's, nor a market service's, nor export; without one, the arbitrage value
  at the grid energy price ``α Σ_t π_t (d_t − c_t) Δt``;
* ``export``: the export revenue (G5), less the baseline's;
* one row per market service of :mod:`wattbit.formulations.market` (``reserve_<product>``,
  ``capacity``): minus its cost term (A-tags).

NPV is ``Σ_y net_y (1 + r)^−y`` with the case's discount rate; the IRR is the rate that makes it
zero (a root of the NPV polynomial; NaN when no real rate > −1 does); the payback is the first time
the undiscounted cumulative net cash flow reaches zero, interpolated within the year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from wattbit import ageing
from wattbit.sizes import investment_name

EXPORT = "cost_grid_export_revenue_jpy"
MARKET = "cost_market_"


def npv(rate: float, flows: np.ndarray | list[float]) -> float:
    """``Σ_y flows_y (1 + r)^−y``, year 0 first."""
    flows = np.asarray(flows, dtype=float)
    return float(np.sum(flows / (1.0 + rate) ** np.arange(len(flows))))


def irr(flows: np.ndarray | list[float]) -> float:
    """The rate ``r > −1`` at which :func:`npv` is zero: the real roots ``x = 1/(1+r) > 0`` of
    ``Σ_y flows_y x^y``; of several, the one nearest 0 %; NaN when there is none."""
    flows = np.trim_zeros(np.asarray(flows, dtype=float), "b")
    if len(flows) < 2:
        return math.nan
    roots = np.roots(flows[::-1])
    real = roots[(np.abs(roots.imag) < 1e-9) & (roots.real > 0)].real
    if not len(real):
        return math.nan
    rates = 1.0 / real - 1.0
    return float(rates[np.argmin(np.abs(rates))])


def payback_years(flows: np.ndarray | list[float]) -> float:
    """First time the cumulative flow (year 0 first) reaches 0, interpolated linearly within the
    year that crosses it; NaN when it never does; 0 without an initial outlay."""
    cumulative = np.cumsum(np.asarray(flows, dtype=float))
    if cumulative[0] >= 0:
        return 0.0
    for y in range(1, len(cumulative)):
        if cumulative[y] >= 0:
            return (y - 1) + float(-cumulative[y - 1] / (cumulative[y] - cumulative[y - 1]))
    return math.nan


def _cost_terms(ds: xr.Dataset) -> dict[str, float]:
    return {
        str(n): float(ds[n])
        for n in ds.data_vars
        if str(n).startswith("cost_") and str(n).endswith("_jpy") and ds[n].ndim == 0
    }


def service_revenues(results: xr.Dataset, baseline: xr.Dataset | None = None) -> dict[str, float]:
    """Revenue of each service in the optimised year (JPY/yr), see the module doc."""
    case = _cost_terms(results)
    base = _cost_terms(baseline) if baseline is not None else {}
    out: dict[str, float] = {}
    if baseline is not None:
        site = [n for n in set(case) | set(base) if _is_site_term(n)]
        out["energy"] = sum(base.get(n, 0.0) - case.get(n, 0.0) for n in site)
    else:
        alpha, dt = float(results.attrs["annual_factor"]), float(results.attrs["dt_h"])
        flow = results["battery_discharge_mw"] - results["battery_charge_mw"]
        out["energy"] = alpha * dt * float((results["grid_energy_price_jpy_per_mwh"] * flow).sum())
    if EXPORT in case or EXPORT in base:
        out["export"] = base.get(EXPORT, 0.0) - case.get(EXPORT, 0.0)
    for name in sorted(case):
        if name.startswith(MARKET):
            out[name[len(MARKET) : -len("_jpy")]] = 0.0 - case[name]  # no −0.0
    return out


def _is_site_term(name: str) -> bool:
    return not (name.startswith(("cost_battery_", MARKET)) or name == EXPORT)


def battery_investment_jpy(results: xr.Dataset) -> float:
    """Up-front capital of the battery's power and energy (JPY)."""
    return sum(
        float(results[size]) * float(results[investment_name(size)])
        for size in ("battery_power_mw", "battery_energy_mwh")
        if investment_name(size) in results
    )


@dataclass(frozen=True)
class CashFlow:
    """Yearly rows (``table``, year 0 = investment) and the figures a financier reads."""

    table: pd.DataFrame
    discount_rate: float

    @property
    def net(self) -> np.ndarray:
        return self.table["net_jpy"].to_numpy()

    @property
    def npv_jpy(self) -> float:
        return npv(self.discount_rate, self.net)

    @property
    def irr(self) -> float:
        return irr(self.net)

    @property
    def payback_years(self) -> float:
        return payback_years(self.net)

    def summary(self) -> dict[str, float]:
        return {
            "investment_jpy": -float(self.table["investment_jpy"].sum()),
            "npv_jpy": self.npv_jpy,
            "irr": self.irr,
            "payback_years": self.payback_years,
        }

    def write(self, out: Path) -> list[Path]:
        """``cashflow.csv`` and ``cashflow.png`` in ``out``."""
        out.mkdir(parents=True, exist_ok=True)
        table = out / "cashflow.csv"
        self.table.to_csv(table, index_label="year")
        return [table, plot_cash_flow(self.table, out / "cashflow.png")]


def cash_flow(
    results: xr.Dataset,
    baseline: xr.Dataset | None = None,
    ageing_model: ageing.Ageing | None = None,
) -> CashFlow:
    """The battery's cash flow over the case's analysis period (module doc)."""
    attrs = results.attrs
    years = int(attrs.get("analysis_years", 15))
    rate = float(attrs["discount_rate"])
    g_price = float(attrs.get("price_escalation_rate", 0.0))
    g_cost = float(attrs.get("cost_escalation_rate", 0.0))
    a = ageing_model or ageing.from_dataset(results)
    P, E = float(results["battery_power_mw"]), float(results["battery_energy_mwh"])
    dt, alpha = float(attrs["dt_h"]), float(attrs["annual_factor"])
    charged = alpha * dt * float(results["battery_charge_mw"].sum())
    discharged = alpha * dt * float(results["battery_discharge_mw"].sum())
    sim = ageing.simulate(a, E, 0.5 * (charged + discharged), years)
    revenues = service_revenues(results, baseline)
    om = P * float(results.get("battery_om_jpy_per_mw_year", 0.0))
    throughput = float(results.get("cost_battery_degradation_jpy", 0.0))

    rows = [{"investment_jpy": -battery_investment_jpy(results)}]
    for row in sim:
        price = (1.0 + g_price) ** (row.year - 1)
        cost = (1.0 + g_cost) ** (row.year - 1)
        share = row.usable_energy_mwh / E if E > 0 else 0.0
        last = row.year < years  # nothing is bought at the end of the last year
        replace, aug = row.replaced and last, row.augmented_mwh
        rows.append(
            {
                "soh_start": row.soh_start,
                "usable_energy_mwh": row.usable_energy_mwh,
                "charged_mwh": charged,
                "discharged_mwh": discharged,
                **{f"revenue_{k}_jpy": v * price * share for k, v in revenues.items()},
                "om_jpy": -om * cost,
                "throughput_cost_jpy": -throughput * cost,
                "augmentation_jpy": -(
                    aug * a.augmentation_cost_jpy_per_mwh * cost if last else 0.0
                ),
                "replacement_jpy": -(E * a.replacement_cost_jpy_per_mwh * cost if replace else 0.0),
            }
        )
    table = pd.DataFrame(rows).fillna(0.0)
    money = [c for c in table.columns if c.endswith("_jpy")]
    table["net_jpy"] = table[money].sum(axis=1)
    table["discounted_jpy"] = table["net_jpy"] / (1.0 + rate) ** table.index
    table["cumulative_discounted_jpy"] = table["discounted_jpy"].cumsum()
    return CashFlow(table=table, discount_rate=rate)


def plot_cash_flow(table: pd.DataFrame, path: Path) -> Path:
    """Yearly net cash flow (bars) and the cumulative discounted cash flow (line), million JPY."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    years = table.index.to_numpy()
    net = table["net_jpy"].to_numpy() / 1e6
    ax.bar(years, net, color=np.where(net >= 0, "tab:green", "tab:red"), label="net cash flow")
    ax.plot(
        years,
        table["cumulative_discounted_jpy"].to_numpy() / 1e6,
        color="black",
        marker="o",
        label="cumulative, discounted",
    )
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel("year of operation (yr)")
    ax.set_ylabel("cash flow (million JPY)")
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    ax.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
