"""``wattbit network``: solve a network case, system-optimal or with merchant batteries."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from wattbit import api
from wattbit.cli.common import (
    MipGapOpt,
    SetOpt,
    ThreadsOpt,
    TimeLimitOpt,
    check_out,
    exits,
    overrides,
    report_run,
    solver_options,
)


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
    set_: SetOpt = None,
    time_limit: TimeLimitOpt = None,
    mip_gap: MipGapOpt = None,
    threads: ThreadsOpt = None,
) -> None:
    """Dispatch a grid of DCs, batteries, EV fleets and PV; congestion and per-owner accounts."""
    with exits():
        check_out(out, case)
        options = solver_options(time_limit, mip_gap, threads)
        result = api.solve_network(case, overrides(set_), mode=mode.value, **options)
    report_run(result, f"{result.name} — {mode.value} — {result.status}", out, plot)


def register(app: typer.Typer) -> None:
    """Add the ``network`` command to the ``wattbit`` app."""
    app.command("network")(network)
