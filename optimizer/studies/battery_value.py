"""The value of a battery over its life: the case solved, the same case without the battery (the
baseline), and the cash flow between them (:mod:`wattbit.cashflow`), for ``wattbit cashflow``."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wattbit.case import load_case
from wattbit.cashflow import CashFlow, cash_flow, service_revenues
from wattbit.errors import CaseError
from wattbit.optimise import Run, options_from_case
from wattbit.report import write_results
from wattbit.strategies import solve_case
from wattbit.studies import checked

NO_BATTERY = {"battery.power_mw": 0.0, "battery.energy_mwh": 0.0}


@dataclass
class BatteryValue:
    """A case with its battery, its baseline without, and the battery's cash flow."""

    name: str
    run: Run
    baseline: Run
    cash_flow: CashFlow

    def summary(self) -> dict[str, float]:
        """Sizes, the optimised year's revenue by service (JPY/yr) and the cash flow's figures."""
        ds = self.run.results
        out = {
            "battery_power_mw": float(ds["battery_power_mw"]),
            "battery_energy_mwh": float(ds["battery_energy_mwh"]),
        }
        revenues = service_revenues(ds, self.baseline.results)
        out.update({f"revenue_{k}_jpy_per_year": v for k, v in revenues.items()})
        out.update(self.cash_flow.summary())
        return out

    def write(self, out: Path) -> list[Path]:
        """The case's results (``results.nc``, KPIs), ``cashflow.csv``, ``cashflow.png`` and
        ``battery_value.json`` in ``out``."""
        out = Path(out)
        paths = write_results(self.run.results, self.run.kpis, out)
        paths += self.cash_flow.write(out)
        summary = {k: (None if math.isnan(v) else v) for k, v in self.summary().items()}
        path = out / "battery_value.json"
        path.write_text(json.dumps({"case": self.name, **summary}, indent=2))
        return [*paths, path]


def battery_value(
    case: Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    baseline: Run | None = None,
    time_limit_s: float | None = None,
) -> BatteryValue:
    """Solve ``case`` and (unless given) its baseline with the battery's sizes fixed at 0, and
    build the battery's cash flow."""
    loaded = load_case(case, dict(overrides or {}))
    if loaded.case.battery is None:
        raise CaseError(loaded.file, "battery", "the case has no [battery] to value")
    options = options_from_case(loaded, time_limit_s=time_limit_s)
    run = checked(solve_case(loaded, options), f"{loaded.case.name}")
    if baseline is None:
        base_case = load_case(case, {**dict(overrides or {}), **NO_BATTERY})
        baseline = checked(solve_case(base_case, options), f"{loaded.case.name} without battery")
    flow = cash_flow(run.results, baseline.results)
    return BatteryValue(loaded.case.name, run, baseline, flow)
