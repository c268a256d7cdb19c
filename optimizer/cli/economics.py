"""``wattbit cashflow``: a battery's life-cycle value, its cash flow, NPV, IRR and payback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wattbit.cli.common import (
    CaseArg,
    Column,
    Format,
    FormatOpt,
    SetOpt,
    TimeLimitOpt,
    check_out,
    escape,
    exits,
    message,
    output,
)
from wattbit.cli.common import overrides as parse_overrides

UNITS = {
    "_jpy_per_year": "JPY/yr",
    "_jpy": "JPY",
    "_mwh": "MWh",
    "_mw": "MW",
    "_years": "yr",
    "irr": "1/yr",
}


def _unit(key: str) -> str:
    return next((unit for end, unit in UNITS.items() if key.endswith(end)), "")


def _number(value: float) -> str:
    return f"{value:,.3f}" if abs(value) < 1e3 else f"{value:,.0f}"


SUMMARY = (
    Column("figure", "figure", left=True),
    Column("value", "value", _number),
    Column("unit", "unit", left=True),
)
YEARS = (
    Column("year", "year"),
    Column("usable_energy_mwh", "usable MWh", "{:,.2f}"),
    Column("net_jpy", "net MJPY", "{:,.1f}", scale=1e6),
    Column("cumulative_discounted_jpy", "cumulative PV MJPY", "{:,.1f}", scale=1e6),
)


def cashflow(
    case: CaseArg,
    out: Annotated[Path | None, typer.Option(help="folder for results (default: none)")] = None,
    set_: SetOpt = None,
    time_limit: TimeLimitOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Solve a case with its battery and without it; print the battery's NPV, IRR, payback,
    revenue by service and yearly cash flow; write them (CSV, PNG, JSON) with --out."""
    from wattbit.studies.battery_value import battery_value

    with exits():
        check_out(out, case)
        value = battery_value(case, parse_overrides(set_), time_limit_s=time_limit)
    with output(fmt) as shown:
        rows = ({"figure": k, "value": v, "unit": _unit(k)} for k, v in value.summary().items())
        shown.table("summary", f"{escape(value.name)}: battery value", SUMMARY, rows)
        table = value.cash_flow.table.reset_index(names="year")
        shown.table("years", "cash flow by year", YEARS, table.to_dict("records"))
        if out is not None:
            paths = value.write(out)
            message("wrote " + ", ".join(escape(str(p)) for p in paths))


def register(app: typer.Typer) -> None:
    """Add ``cashflow`` to the ``wattbit`` command line."""
    app.command()(cashflow)
