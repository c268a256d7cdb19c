"""``wattbit network``: solve a network case, system-optimal or with merchant batteries."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from wattbit import api
from wattbit.cli.common import (
    Format,
    FormatOpt,
    MipGapOpt,
    SetOpt,
    ThreadsOpt,
    TimeLimitOpt,
    check_out,
    exits,
    out_console,
    overrides,
    progress_bar,
    report_run,
    solver_options,
)
from wattbit.errors import CaseError

if TYPE_CHECKING:
    from wattbit.network.align import Alignment


class Mode(StrEnum):
    system = "system"
    merchant = "merchant"


def network(
    case: Annotated[Path, typer.Argument(help="network case TOML file", show_default=False)],
    mode: Annotated[
        Mode, typer.Option(help="system: coordinated; merchant: batteries trade for profit first")
    ] = Mode.system,
    out: Annotated[Path | None, typer.Option(help="folder for results (default: none)")] = None,
    plot: Annotated[bool, typer.Option(help="write branch_loading.png, schematic.png")] = True,
    align: Annotated[
        bool,
        typer.Option(
            help="system mode: also the contract that aligns the merchant batteries, and the "
            "accounts under flat prices, nodal prices and the contract (alignment.csv, .json)"
        ),
    ] = False,
    set_: SetOpt = None,
    time_limit: TimeLimitOpt = None,
    mip_gap: MipGapOpt = None,
    threads: ThreadsOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Dispatch a grid of DCs, batteries, EV fleets and PV; congestion and per-owner accounts."""
    with exits(), progress_bar(f"solving the network ({mode.value})"):
        check_out(out, case)
        if align and mode is not Mode.system:
            raise CaseError("--align", mode.value, "the contract starts from --mode system")
        options = solver_options(time_limit, mip_gap, threads)
        result = api.solve_network(case, overrides(set_), mode=mode.value, **options)
    report_run(result, f"{result.name} — {mode.value} — {result.status}", out, plot, fmt)
    if align:
        with exits():
            alignment = result.align(**options)
        report_alignment(alignment, out)


def report_alignment(alignment: Alignment, out: Path | None) -> None:
    """Print the contract's terms and the accounts per settlement; write them with ``out``."""
    from rich.table import Table

    from wattbit.report import print_kpis

    print_kpis(
        alignment.terms(), "contract aligning " + escape(", ".join(alignment.parts)), out_console
    )
    table = Table(title="accounts (JPY/yr; negative = net revenue)")
    frame = alignment.table()
    table.add_column("account")
    for settlement in frame.columns:
        table.add_column(str(settlement), justify="right")
    for account, row in frame.iterrows():
        table.add_row(escape(str(account)), *(f"{v:,.0f}" for v in row))
    out_console.print(table)
    if out is not None:
        paths = alignment.write(out)
        out_console.print("wrote " + ", ".join(str(p) for p in paths))


def register(app: typer.Typer) -> None:
    """Add the ``network`` command to the ``wattbit`` app."""
    app.command("network")(network)
