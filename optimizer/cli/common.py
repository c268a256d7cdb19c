"""Pieces every command module shares: consoles, the case argument, ``--set``, ``fail`` and the
mapping of the API's errors to exit codes."""

from __future__ import annotations

import os
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

# emoji=False: a user's ":fire:" is text, quoted as typed, not an emoji.
out_console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

CaseArg = Annotated[Path, typer.Argument(help="case TOML file", show_default=False)]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="override a case field: PATH=VALUE (TOML value), repeatable"),
]

TimeLimitOpt = Annotated[float | None, typer.Option(help="solver time limit, s")]
MipGapOpt = Annotated[float | None, typer.Option(help="relative MIP gap")]
ThreadsOpt = Annotated[int | None, typer.Option(help="HiGHS threads (at most the CPUs)")]


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


def check_out(out: Path | None, *inputs: Path) -> None:
    """``--out`` usable as a results folder, checked before any solve: not an existing file
    (such as the case file), not under a file, and writable; :class:`CaseError` naming
    ``--out`` otherwise."""
    if out is None:
        return
    if out.exists() and not out.is_dir():
        given = {p.resolve() for p in inputs if p.exists()}
        what = "is the case file" if out.resolve() in given else "is a file"
        raise CaseError("--out", str(out), f"{what}, not a folder")
    existing = next(p for p in (out, *out.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise CaseError("--out", str(out), f"{existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CaseError("--out", str(out), f"{existing} is not writable")


def solver_options(
    time_limit: float | None, mip_gap: float | None = None, threads: int | None = None
) -> dict[str, Any]:
    """``--time-limit``, ``--mip-gap`` and ``--threads`` checked by the case file's own
    ``[solver]`` rules (:class:`CaseError` naming the flag); ``--threads`` above the CPUs this
    process may use is capped there, with a warning. Returns the API's keyword arguments."""
    from pydantic import ValidationError

    from wattbit.case.messages import validation_message
    from wattbit.case.schema import Solver

    flags = {
        "time_limit_s": ("--time-limit", time_limit),
        "mip_gap": ("--mip-gap", mip_gap),
        "threads": ("--threads", threads),
    }
    options: dict[str, Any] = {}
    for field, (flag, value) in flags.items():
        if value is None:
            continue
        try:
            Solver.model_validate({field: value})
        except ValidationError as exc:
            typed = f"{value:g}" if isinstance(value, float) else str(value)
            raise CaseError(flag, typed, validation_message(exc, Solver)[1]) from None
        options[field] = value
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if threads is not None and cpus and threads > cpus:
        err_console.print(
            f"[yellow]warning:[/] --threads {threads}: capped at the {cpus} CPUs this process "
            "may use",
            highlight=False,
        )
        options["threads"] = cpus
    return options


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

    print_kpis(result.kpis, escape(title), out_console)
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
