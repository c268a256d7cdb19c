"""Pieces every command module shares: consoles, the case argument, ``--set``, ``fail`` and the
mapping of the API's errors to exit codes."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from wattbit.errors import CaseError, SolveError

if TYPE_CHECKING:
    from wattbit.api import NetworkResult, SolveResult

out_console = Console()
err_console = Console(stderr=True)

CaseArg = Annotated[Path, typer.Argument(help="case TOML file", show_default=False)]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="override a case field: PATH=VALUE (TOML value), repeatable"),
]


def parse_assignment(text: str) -> tuple[str, Any]:
    """``battery.power_mw=5`` → ``("battery.power_mw", 5.0)``; the value is read as TOML."""
    path, sep, value = text.partition("=")
    parts = [part.strip() for part in path.split(".")]
    if not sep or not all(parts):  # "=5", "battery..power_mw=5", "battery.power_mw"
        raise CaseError("--set", text, "expected PATH=VALUE, e.g. battery.power_mw=5")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    if isinstance(parsed, int) and not isinstance(parsed, bool):
        parsed = float(parsed)
    return ".".join(parts), parsed


def fail(message: str, code: int) -> typer.Exit:
    # escape: a user's column or key such as "load[mw]" or "x[/]" is text, not rich markup.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def overrides(assignments: list[str] | None) -> dict[str, Any]:
    """``--set`` assignments as the API's overrides dict."""
    return dict(parse_assignment(a) for a in assignments or [])


def progress(message: str) -> None:
    """A study's progress note, dimmed on stderr."""
    err_console.print(f"[dim]{message}[/]")


@contextmanager
def exits() -> Iterator[None]:
    """Run API calls; bad input exits 2 and a failed solve with its status's code, in one line."""
    try:
        yield
    except (CaseError, SolveError) as exc:
        raise fail(str(exc), exc.exit_code) from None


def report_run(
    result: SolveResult | NetworkResult, title: str, out: Path | None, plot: bool
) -> None:
    """Print a solved run (KPIs, timings, verifier, a time-limit warning); write it with ``out``;
    exit 7 if the verifier found a violation."""
    from wattbit.report import print_kpis

    print_kpis(result.kpis, title, out_console)
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
