"""``wattbit network``: solve a network case, system-optimal or with merchant batteries."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from wattbit import api
from wattbit.cli.common import SetOpt, err_console, exits, out_console, overrides


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
) -> None:
    """Dispatch a grid of DCs, batteries, EV fleets and PV; congestion and per-owner accounts."""
    from wattbit.report import print_kpis

    with exits():
        result = api.solve_network(case, overrides(set_), mode=mode.value)
    print_kpis(result.kpis, f"{result.name} — {mode.value} — {result.status}", out_console)
    out_console.print("time: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items()))
    ver = result.verification
    verdict = "[green]ok[/]" if ver.ok else f"[red]FAILED[/] (worst: {ver.worst})"
    out_console.print(f"verifier: max violation {ver.max_violation:.2e} {verdict}")
    if result.status == "time_limit":
        err_console.print(f"[yellow]warning:[/] {result.run.solution.message}")
    if out is not None:
        paths = result.write(out, plot=plot)
        out_console.print("wrote " + ", ".join(str(p) for p in paths))
    if not ver.ok:
        raise typer.Exit(7)


def register(app: typer.Typer) -> None:
    """Add the ``network`` command to the ``wattbit`` app."""
    app.command("network")(network)
