"""``wattbit network``: solve a network case, system-optimal or with merchant batteries."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from wattbit.errors import CaseError
from wattbit.network.case import load_network_case
from wattbit.network.plots import plot_branch_loading, plot_schematic
from wattbit.network.run import solve_network_case
from wattbit.report import print_kpis, write_results
from wattbit.solve import EXIT_CODES

out_console = Console()
err_console = Console(stderr=True)


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
) -> None:
    """Dispatch a grid of DCs, batteries, EV fleets and PV; congestion and per-owner accounts."""
    try:
        run = solve_network_case(load_network_case(case), mode.value)
    except CaseError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    sol = run.solution
    if not run.ok:
        err_console.print(
            f"[bold red]error:[/] {case}: {sol.status}: {sol.message}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_CODES[sol.status])
    print_kpis(
        run.kpis, f"{run.results.attrs['case_name']} — {mode.value} — {sol.status}", out_console
    )
    out_console.print("time: " + ", ".join(f"{k} {v:.2f} s" for k, v in run.timings.items()))
    ver = run.verification
    verdict = "[green]ok[/]" if ver.ok else f"[red]FAILED[/] (worst: {ver.worst})"
    out_console.print(f"verifier: max violation {ver.max_violation:.2e} {verdict}")
    if sol.status == "time_limit":
        err_console.print(f"[yellow]warning:[/] {sol.message}")
    if out is not None:
        paths = write_results(run.results, run.kpis, out)
        if plot:
            paths.append(plot_branch_loading(run.results, out / "branch_loading.png"))
            paths.append(plot_schematic(run.results, out / "schematic.png"))
        out_console.print("wrote " + ", ".join(str(p) for p in paths))
    if not ver.ok:
        raise typer.Exit(7)


def register(app: typer.Typer) -> None:
    """Add the ``network`` command to the ``wattbit`` app."""
    app.command("network")(network)
