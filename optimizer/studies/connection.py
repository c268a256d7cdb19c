"""Connection choice: NPV over an analysis period of waiting for a firm connection vs connecting now.

Options, each for a connection of ``firm part + margin`` MW (the capacity type ③ offers):

* **firm (wait)** — the firm tier for that size (``[connect].firm_tiers``; the seed's example:
  below 2 MW high-voltage service in ~10 months for tens of MJPY, at 2 MW and above years and
  hundreds of MJPY); nothing runs until it is connected;
* **firm, split into blocks** — when the size is at or above the lowest threshold: ``n`` blocks
  just below it (``⌊size/threshold⌋ + 1``), each on the lowest tier (its cost × n, its lead time),
  offered only up to ``split_max_blocks`` blocks (what one site's distribution feeders can take);
* **type ③ now** — after ``type3_lead_time_months``, with the ride-through assets of the
  stochastic solve; **type ③ now, firm later** — the same until the firm connection arrives,
  then firm, still paying for the generator and UPS bought for type ③ (stranded: their
  annualised capex ``S`` stays to the end of the period);
* **type ② fixed / dynamic now** — the case under ``grid.mode`` ``type2_fixed`` /
  ``type2_dynamic`` (``wattbit.strategies.solve``), without the ride-through assets, at the full
  DC size;
* **type ② fixed / dynamic now, re-sized** — the same with the DC's size ``S`` a decision in
  ``[0, Ŝ]`` (Ŝ the desired peak IT power; the load profile scaled by ``f = S / Ŝ``, D0), each MW
  valued at ``v_S = m e − K_DC / Ŝ · (1+r)^{−L} / (AF(N) − AF(L))`` a year (``e`` the IT energy
  a year per MW of size, L the type ② lead time): the margin a MW earns less its share of the
  DC's capex spread over the years it runs. The option's margin is ``f R``, its DC capex
  ``f K_DC``, its annual cost ``C`` the solve's total cost without the size value (D4); since
  ``NPV = (AF(N) − AF(L)) (v_S S − C(S)) − K (1+r)^{−L}``, the solve's size is the NPV-best one.
  Offered when the case does not size its DC already and has no deferrable share.

With ``r`` the discount rate, ``N`` the analysis period, ``AF(L) = (1 − (1+r)^{−L}) / r`` (L at
r = 0), ``R = m D`` the annual compute margin of the DC's whole desired load (``m`` =
``margin_jpy_per_mwh``: revenue less the DC's running costs other than energy and ride-through,
per MWh of IT; ``D`` the IT demand a year), ``C`` an option's expected annual cost (energy,
capacity charge, annualised ride-through assets, lost compute at its value) and ``K_DC`` the DC's
own capex (``dc_capex_jpy``), spent when its connection arrives, so waiting defers it:

``NPV = (AF(N) − AF(L)) (R − C) − K (1+r)^{−L} − K_DC (1+r)^{−L}``

for an option connected after L years at connection cost K (paid on connection). "Margin lost
while waiting" is ``AF(min(L, N)) R``. Type ③ then firm adds ``(AF(L_f) − AF(L_3))(R − C_3)``
before the firm connection and ``(AF(N) − AF(L_f))(R − C_f − S)`` after it, less both connection
costs and ``K_DC (1+r)^{−L_3}``.

**Sensitivity** (:func:`sensitivity`): the table again for every firm lead time in
``sensitivity_lead_time_years`` × every margin ``m × sensitivity_margin_factors`` (the annual
costs and re-sized DC sizes as solved): the best option, and what type ③ now (then firm) gains
over waiting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from wattbit.case import Connect, FirmTier, load_case
from wattbit.economics import annuity_factor
from wattbit.errors import CaseError
from wattbit.input_dataset import KW_PER_MW
from wattbit.inputs import build_inputs
from wattbit.optimise import options_from_case
from wattbit.solve import SolverOptions
from wattbit.strategies import solve
from wattbit.strategies.stochastic import solve_stochastic
from wattbit.studies import checked
from wattbit.studies.ridethrough import RIDE_THROUGH, firm_reference_inputs

MONTHS_PER_YEAR = 12.0


@dataclass(frozen=True)
class Economics:
    """What every option shares: capacity, annual margin R, discount rate, period, DC capex."""

    capacity_mw: float
    margin_jpy_per_year: float
    rate: float
    years: float
    dc_capex_jpy: float = 0.0


@dataclass(frozen=True)
class Stage:
    """An option's operation from ``start_years`` on: its annual cost, and what connecting costs."""

    start_years: float
    annual_cost_jpy: float
    connection_cost_jpy: float


def npv(econ: Economics, stages: list[Stage]) -> float:
    """NPV of an option that runs each stage from its start until the next (module doc)."""
    r, total = econ.rate, 0.0
    for i, stage in enumerate(stages):
        end = stages[i + 1].start_years if i + 1 < len(stages) else econ.years
        end, start = min(end, econ.years), min(stage.start_years, econ.years)
        net = econ.margin_jpy_per_year - stage.annual_cost_jpy
        total += (annuity_factor(r, end) - annuity_factor(r, start)) * net
        if stage.start_years < econ.years:
            total -= stage.connection_cost_jpy * (1.0 + r) ** -stage.start_years
    if stages[0].start_years < econ.years:
        total -= econ.dc_capex_jpy * (1.0 + r) ** -stages[0].start_years
    return total


def firm_tier(tiers: list[FirmTier], capacity_mw: float) -> FirmTier:
    return next(t for t in tiers if t.below_mw is None or capacity_mw < t.below_mw)


def tier_cost(tier: FirmTier, capacity_mw: float) -> float:
    return tier.cost_jpy + tier.cost_jpy_per_kw * capacity_mw * KW_PER_MW


def option_rows(
    connect: Connect,
    econ: Economics,
    costs: dict[str, float],
    firm_lead_years: float | None = None,
    resized: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """One row per option; ``costs`` maps ``firm``, ``type3`` and the type ② modes solved to
    their expected annual cost (JPY/yr), and ``stranded`` to type ③'s generator and UPS capex a
    year (JPY/yr); ``firm_lead_years`` replaces the firm tier's lead time; ``resized`` maps a
    type ② mode to the share ``f`` of the desired DC size its re-sized solve chose (its annual
    cost in ``costs`` as ``<mode>_resized``)."""
    rows: list[dict[str, Any]] = []

    def row(name: str, stages: list[Stage], note: str, of: Economics = econ) -> None:
        first = stages[0]
        rows.append(
            {
                "option": name,
                "lead_time_years": first.start_years,
                "connection_cost_jpy": sum(s.connection_cost_jpy for s in stages),
                "annual_cost_jpy": first.annual_cost_jpy,
                "annual_margin_jpy": of.margin_jpy_per_year,
                "lost_margin_while_waiting_jpy": annuity_factor(
                    of.rate, min(first.start_years, of.years)
                )
                * of.margin_jpy_per_year,
                "npv_jpy": npv(of, stages),
                "note": note,
            }
        )

    size = econ.capacity_mw
    tier = firm_tier(connect.firm_tiers, size)
    lead = tier.lead_time_months / MONTHS_PER_YEAR if firm_lead_years is None else firm_lead_years
    firm = Stage(lead, costs["firm"], tier_cost(tier, size))
    below = "any size" if tier.below_mw is None else f"below {tier.below_mw:g} MW"
    row("firm (wait)", [firm], f"{size:g} MW firm tier ({below})")
    lowest = connect.firm_tiers[0]
    n = math.floor(size / lowest.below_mw) + 1 if lowest.below_mw is not None else 0
    if connect.split_blocks and lowest.below_mw is not None and 2 <= n <= connect.split_max_blocks:
        split = Stage(
            lowest.lead_time_months / MONTHS_PER_YEAR,
            costs["firm"],
            n * tier_cost(lowest, size / n),
        )
        row("firm, split into blocks", [split], f"{n} blocks of {size / n:.3g} MW")
    if "type3" in costs:
        t3 = Stage(
            connect.type3_lead_time_months / MONTHS_PER_YEAR, costs["type3"], connect.type3_cost_jpy
        )
        row("type ③ now", [t3], "N-1 margin with ride-through assets")
        if firm.start_years > t3.start_years:
            later = Stage(
                firm.start_years,
                costs["firm"] + costs.get("stranded", 0.0),
                firm.connection_cost_jpy,
            )
            note = "switch when the firm connection arrives; generator and UPS stranded"
            row("type ③ now, firm later", [t3, later], note)
    for mode in ("type2_fixed", "type2_dynamic"):
        if mode in costs:
            t2 = Stage(
                connect.type2_lead_time_months / MONTHS_PER_YEAR,
                costs[mode],
                connect.type2_cost_jpy,
            )
            row(f"type ② {mode.removeprefix('type2_')} now", [t2], "time-varying headroom")
        share = (resized or {}).get(mode)
        if share is not None and f"{mode}_resized" in costs:
            t2 = Stage(
                connect.type2_lead_time_months / MONTHS_PER_YEAR,
                costs[f"{mode}_resized"],
                connect.type2_cost_jpy,
            )
            scaled = replace(
                econ,
                margin_jpy_per_year=econ.margin_jpy_per_year * share,
                dc_capex_jpy=econ.dc_capex_jpy * share,
            )
            note = f"DC re-sized to {share:.1%} of its size for the headroom"
            row(f"type ② {mode.removeprefix('type2_')} now, re-sized", [t2], note, scaled)
    return rows


def sensitivity(
    connect: Connect,
    econ: Economics,
    costs: dict[str, float],
    resized: dict[str, float] | None = None,
) -> pd.DataFrame:
    """The best option and type ③'s gain over waiting for each firm lead time and margin
    (module doc)."""
    rows = []
    for lead in connect.sensitivity_lead_time_years:
        for factor in connect.sensitivity_margin_factors:
            scaled = replace(econ, margin_jpy_per_year=econ.margin_jpy_per_year * factor)
            table = pd.DataFrame(option_rows(connect, scaled, costs, lead, resized))
            npv_of = dict(zip(table["option"], table["npv_jpy"], strict=True))
            best = table.loc[table["npv_jpy"].idxmax()]
            type3 = max(
                (npv_of[o] for o in ("type ③ now", "type ③ now, firm later") if o in npv_of),
                default=math.nan,
            )
            rows.append(
                {
                    "firm_lead_time_years": lead,
                    "margin_jpy_per_mwh": connect.margin_jpy_per_mwh * factor,
                    "best_option": best["option"],
                    "best_npv_jpy": best["npv_jpy"],
                    "type3_gain_over_waiting_jpy": type3 - npv_of["firm (wait)"],
                }
            )
    return pd.DataFrame(rows)


@dataclass
class Choice:
    """The connection options of a case: one row per option with its NPV (module doc), and the
    sensitivity table."""

    table: pd.DataFrame
    sensitivity: pd.DataFrame | None = None

    def verdict(self) -> str:
        best = self.table.loc[self.table["npv_jpy"].idxmax()]
        firm = self.table.loc[self.table["option"] == "firm (wait)"].iloc[0]
        return (
            f"Best: {best['option']} (NPV {best['npv_jpy'] / 1e6:,.0f} MJPY), "
            f"{(best['npv_jpy'] - firm['npv_jpy']) / 1e6:+,.0f} MJPY against waiting "
            f"{firm['lead_time_years']:.2g} years for a firm connection."
        )

    def write(self, out: str | Path) -> list[Path]:
        """``connect.csv`` (the table), ``connect.txt`` (the verdict) and
        ``connect_sensitivity.csv`` in ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        csv, txt = out / "connect.csv", out / "connect.txt"
        self.table.to_csv(csv, index=False)
        txt.write_text(self.verdict() + "\n")
        if self.sensitivity is None:
            return [csv, txt]
        sens = out / "connect_sensitivity.csv"
        self.sensitivity.to_csv(sens, index=False)
        return [csv, txt, sens]


def value_of_size(connect: Connect, econ: Economics, size_mw: float, demand_mwh: float) -> float:
    """``v_S`` (module doc): the margin a MW of DC size earns a year, ``m e`` with ``e`` the IT
    energy a year per MW (``demand_mwh`` a year at ``size_mw``), less the DC's capex per MW
    spread over the years a type ② connection runs; NaN when it never runs."""
    lead = connect.type2_lead_time_months / MONTHS_PER_YEAR
    running = annuity_factor(econ.rate, econ.years) - annuity_factor(
        econ.rate, min(lead, econ.years)
    )
    if running <= 0 or size_mw <= 0:
        return math.nan
    capex = econ.dc_capex_jpy / size_mw * (1.0 + econ.rate) ** -lead / running
    return connect.margin_jpy_per_mwh * demand_mwh / size_mw - capex


def without_ride_through(ds: xr.Dataset) -> xr.Dataset:
    return ds.drop_vars([str(v) for v in ds.variables if str(v).startswith(RIDE_THROUGH)])


def connection_choice(
    case_path: Path,
    overrides: dict[str, Any] | None = None,
    options: SolverOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> Choice:
    """Solve type ③ (stochastic), the firm reference and type ② fixed/dynamic; the NPV table."""
    note = progress or (lambda _: None)
    base = {**(overrides or {}), "grid.mode": "type3_n1"}
    loaded = load_case(case_path, base)
    connect = loaded.case.connect
    if connect is None:
        raise CaseError(loaded.file, "connect", "`wattbit connect` needs a [connect] table")
    opts = options or options_from_case(loaded)
    inputs3 = build_inputs(loaded)
    modes = ("type2_fixed", "type2_dynamic")
    type2 = {
        mode: without_ride_through(build_inputs(load_case(case_path, {**base, "grid.mode": mode})))
        for mode in modes
    }
    note("solving type ③ (all scenarios)")
    runs = {"type3": checked(solve_stochastic(inputs3, opts), "type ③")}
    note("solving the firm reference")
    runs["firm"] = checked(solve(firm_reference_inputs(inputs3), opts), "firm")
    for mode, inputs in type2.items():
        note(f"solving {mode}")
        runs[mode] = checked(solve(inputs, opts), mode)
    t3 = loaded.case.type3
    alpha = float(inputs3.attrs["annual_factor"])
    demand = runs["firm"].kpis["dc_it_demand_mwh"] * alpha
    econ = Economics(
        capacity_mw=t3.firm_mw + t3.margin_mw,
        margin_jpy_per_year=connect.margin_jpy_per_mwh * demand,
        rate=loaded.case.economics.discount_rate,
        years=connect.analysis_years,
        dc_capex_jpy=connect.dc_capex_jpy,
    )
    costs = {name: run.kpis["total_cost_jpy"] for name, run in runs.items()}
    k3 = runs["type3"].kpis
    costs["stranded"] = k3.get("cost_generator_capex_jpy", 0.0) + k3.get("cost_ups_capex_jpy", 0.0)
    dc = loaded.case.dc
    size = dc.peak_it_mw or float(inputs3["dc_it_mw"].max())
    v_size = value_of_size(connect, econ, size, demand)
    resized: dict[str, float] = {}
    if dc.size_mw is None and dc.deferrable_share == 0 and not math.isnan(v_size):
        sizing = {"dc.size_mw": {"min": 0.0, "max": size}}
        sizing["dc.value_of_size_jpy_per_mw_year"] = max(v_size, 0.0)
        for mode in modes:
            note(f"solving {mode} with the DC re-sized")
            raw = load_case(case_path, {**base, **sizing, "grid.mode": mode})
            run = checked(solve(without_ride_through(build_inputs(raw)), opts), f"{mode} re-sized")
            k = run.kpis
            costs[f"{mode}_resized"] = k["total_cost_jpy"] - k.get("cost_dc_size_value_jpy", 0.0)
            resized[mode] = k["dc_size_mw"] / size
    return Choice(
        pd.DataFrame(option_rows(connect, econ, costs, resized=resized)),
        sensitivity(connect, econ, costs, resized),
    )
