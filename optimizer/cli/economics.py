"""``wattbit cashflow``: a battery's life-cycle value, its cash flow, NPV, IRR and payback."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from wattbit.cli.common import CaseArg, SetOpt, TimeLimitOpt, check_out, exits, message, out_console
from wattbit.cli.common import overrides as parse_overrides


def cashflow(
    case: CaseArg,
    out: Annotated[Path | None, typer.Option(help="folder for results (default: none)")] = None,
    set_: SetOpt = None,
    time_limit: TimeLimitOpt = None,
) -> None:
    """Solve a case with its battery and without it; print the battery's NPV, IRR, payback and
    revenue by service; write the yearly cash flow (CSV, PNG) with --out."""
    from wattbit.studies.battery_value import battery_value

    with exits():
        check_out(out, case)
        value = battery_value(case, parse_overrides(set_), time_limit_s=time_limit)
    for key, number in value.summary().items():
        shown = "–" if math.isnan(number) else f"{number:,.4g}"
        out_console.print(f"{escape(key)}: {shown}", highlight=False)
    if out is not None:
        paths = value.write(out)
        message("wrote " + ", ".join(escape(str(p)) for p in paths))


def register(app: typer.Typer) -> None:
    """Add ``cashflow`` to the ``wattbit`` command line."""
    app.command()(cashflow)
