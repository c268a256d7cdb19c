"""``wattbit network``: solve a network case, system-optimal or with merchant batteries."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wattbit import api
from wattbit.cli.common import (
    KPI_COLUMNS,
    Column,
    Format,
    FormatOpt,
    MipGapOpt,
    Output,
    SetOpt,
    ThreadsOpt,
    TimeLimitOpt,
    check_out,
    escape,
    exits,
    message,
    output,
    overrides,
    progress_bar,
    show_run,
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
    with output(fmt) as shown:
        show_run(shown, result, f"{result.name} — {mode.value} — {result.status}", out, plot)
        if align:
            with exits():
                alignment = result.align(**options)
            show_alignment(shown, alignment, out)


def _jpy(value: float) -> str:
    return f"{value:,.0f}"


def show_alignment(shown: Output, alignment: Alignment, out: Path | None) -> None:
    """The contract's terms (table ``alignment_terms``; an infeasible response's system cost is
    empty/null) and the accounts per settlement (``alignment_accounts``, JPY/yr); written to
    alignment.csv and alignment.json with ``out``."""
    from wattbit.report import kpi_unit

    terms = ({"kpi": k, "value": v, "unit": kpi_unit(k)} for k, v in alignment.terms().items())
    title = "contract aligning " + escape(", ".join(alignment.parts))
    shown.table("alignment_terms", title, KPI_COLUMNS, terms)
    frame = alignment.table()
    settlements = [str(s) for s in frame.columns]
    columns = [Column("account", "account", left=True)]
    columns += [Column(s, f"{s} (JPY/yr)", _jpy) for s in settlements]
    rows = (
        {"account": str(account), **dict(zip(settlements, row.tolist(), strict=True))}
        for account, row in frame.iterrows()
    )
    title = "accounts (JPY/yr; negative = net revenue)"
    shown.table("alignment_accounts", title, columns, rows)
    if out is not None:
        paths = alignment.write(out)
        message("wrote " + ", ".join(escape(str(p)) for p in paths))


def register(app: typer.Typer) -> None:
    """Add the ``network`` command to the ``wattbit`` app."""
    app.command("network")(network)
