"""Pieces every command module shares: consoles, the case argument, ``--set``, ``--format``
(:class:`Output`: tables on stdout for people, or as CSV/JSON for programs), progress bars,
``fail`` and the mapping of the API's errors to exit codes.

Streams: stdout carries the result only (tables, verdicts); messages, warnings, progress bars
and the files written go to stderr, so ``wattbit compare … --format csv > table.csv`` works.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as default
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wattbit.errors import CaseError, SolveError

if TYPE_CHECKING:
    from rich.console import Console

    from wattbit.api import NetworkResult, SolveResult
    from wattbit.progress import Progress


# rich is imported at the first line printed, not with the command line: `wattbit --help`
# needs none of it (issue #13, goal 6). emoji=False: a user's ":fire:" is text, not an emoji.
@cache
def out_console() -> Console:
    """The console of the result (stdout)."""
    from rich.console import Console

    return Console(emoji=False)


@cache
def err_console() -> Console:
    """The console of messages, warnings and progress (stderr)."""
    from rich.console import Console

    return Console(stderr=True, emoji=False)


def escape(text: str) -> str:
    """``text`` as rich markup prints it verbatim (``rich.markup.escape``)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


CaseArg = Annotated[Path, typer.Argument(help="case TOML file", show_default=False, metavar="CASE")]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=VALUE",
        help="override a case field: PATH=VALUE (TOML value), repeatable",
    ),
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
        err_console().print(
            f"[yellow]warning:[/] --threads {threads}: capped at the {cpus} CPUs this process "
            "may use",
            highlight=False,
        )
        options["threads"] = cpus
    return options


def fail(message: str, code: int) -> typer.Exit:
    # escape: a user's column or key such as "load[mw]" or "x[/]" is text, not rich markup.
    err_console().print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def overrides(assignments: list[str] | None) -> dict[str, Any]:
    """``--set`` assignments as the API's overrides dict."""
    return dict(parse_assignment(a) for a in assignments or [])


QUIET_ENV = "WATTBIT_QUIET"  # set by ``wattbit --quiet``


@contextmanager
def progress_bar(first: str = "starting") -> Iterator[Progress]:
    """The progress hook (:class:`wattbit.progress.Progress`) a command passes into a study: a
    rich bar on stderr (steps done of the total where the study counts them, a pulse and the
    elapsed time where not), removed when the block ends; one dim line per step when stderr
    is no terminal (a log keeps them); nothing with ``wattbit --quiet``."""
    from wattbit.progress import silent

    if os.environ.get(QUIET_ENV) == "1":
        yield silent
        return
    if not err_console().is_terminal:

        def line(message: str, /, *, done: int | None = None, total: int | None = None) -> None:
            count = f" ({done + 1}/{total})" if done is not None and total else ""
            err_console().print(f"[dim]{escape(message)}{count}[/]", highlight=False)

        yield line
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as Bar

    columns = (
        SpinnerColumn(),
        TimeElapsedColumn(),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
    )
    room = max(20, err_console().width - 44)  # the description gives way, not the counts

    def short(message: str) -> str:
        return escape(message if len(message) <= room else message[: room - 1] + "…")

    with Bar(*columns, console=err_console(), transient=True) as bar:
        task = [bar.add_task(short(first), total=None)]

        def update(message: str, /, *, done: int | None = None, total: int | None = None) -> None:
            if total is None and bar.tasks[0].total is not None:  # uncounted steps: a pulse
                bar.remove_task(task[0])
                task[0] = bar.add_task(short(message), total=None)
            bar.update(task[0], description=short(message), completed=done or 0, total=total)

        yield update


@contextmanager
def exits() -> Iterator[None]:
    """Run API calls; bad input exits 2 and a failed solve with its status's code, in one line."""
    try:
        yield
    except (CaseError, SolveError) as exc:
        raise fail(str(exc), exc.exit_code) from None


# --- --format: the result on stdout as a table, CSV or JSON -------------------------------------


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format",
        help="stdout as tables for people, or csv / json for programs (raw values in base "
        "units; messages stay on stderr)",
    ),
]


@dataclass(frozen=True)
class Column:
    """One column: ``key`` names it in CSV and JSON (the raw value, base units); the table shows
    ``header`` (short, with its unit) and the value divided by ``scale`` in ``fmt``."""

    key: str
    header: str
    fmt: str | Callable[[Any], str] = "{}"
    scale: float = 1.0
    left: bool = False

    def cell(self, value: Any) -> str:
        """The table's text of a raw value (a callable ``fmt`` also shortens text values)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = value / self.scale if self.scale != 1.0 else value
            return self.fmt(value) if callable(self.fmt) else self.fmt.format(value)
        return escape(self.fmt(value) if callable(self.fmt) else str(value))


def _plain(value: Any) -> Any:
    """A JSON- and CSV-ready value: numpy scalars as Python numbers, NaN as null/empty."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class Output:
    """What a command prints on stdout, in the ``--format`` asked for.

    With ``table`` each :meth:`table` and :meth:`line` prints at once, for people. With ``csv``
    and ``json`` they are collected and :meth:`emit` prints them at the end: CSV is one block per
    table (a ``# name`` line first when there are several, blocks apart by an empty line); JSON
    is one object ``{table name: [row, …], …, "notes": [line, …]}``. Lines go to stderr then."""

    format: Format = Format.table
    tables: dict[str, list[dict[str, Any]]] = default(default_factory=dict)
    notes: list[str] = default(default_factory=list)

    def table(
        self,
        name: str,
        title: str,
        columns: Sequence[Column],
        rows: Iterable[Mapping[str, Any]],
    ) -> None:
        """A table of ``rows`` (mappings holding each column's ``key``)."""
        records = [{c.key: _plain(row.get(c.key)) for c in columns} for row in rows]
        if self.format is not Format.table:
            self.tables[name] = records
            return
        from rich import box
        from rich.table import Table

        table = Table(
            title=title,
            box=box.SIMPLE_HEAD,
            collapse_padding=True,
            pad_edge=False,
            title_justify="left",
        )
        for c in columns:  # numbers never wrap; text columns fold when 80 columns are short
            justify = "left" if c.left else "right"
            table.add_column(c.header, justify=justify, no_wrap=not c.left, overflow="fold")
        for record in records:
            table.add_row(*(c.cell(record[c.key]) for c in columns))
        out_console().print(table)

    def data(self, name: str, rows: Iterable[Mapping[str, Any]]) -> None:
        """Rows for CSV and JSON only, where the table view prints them as sentences."""
        if self.format is not Format.table:
            self.tables[name] = [{k: _plain(v) for k, v in row.items()} for row in rows]

    def line(self, text: str, soft_wrap: bool = False) -> None:
        """A sentence of the result (a verdict, the verifier): stdout with tables, else stderr
        and, in JSON, the ``notes`` list (``text`` may hold rich markup); ``soft_wrap`` keeps
        it on one line for the terminal to wrap (a message quoted whole, e.g. a failed case)."""
        if self.format is Format.table:
            out_console().print(text, highlight=False, soft_wrap=soft_wrap)
            return
        from rich.markup import render

        self.notes.append(render(text).plain)
        err_console().print(text, highlight=False, soft_wrap=soft_wrap)

    def emit(self) -> None:
        """Print what was collected as CSV or JSON (nothing with ``table``)."""
        if self.format is Format.json:
            json.dump({**self.tables, "notes": self.notes}, sys.stdout, indent=1)
            sys.stdout.write("\n")
        elif self.format is Format.csv:
            several = len(self.tables) > 1
            for i, (name, records) in enumerate(self.tables.items()):
                if i:
                    sys.stdout.write("\n")
                if several:
                    sys.stdout.write(f"# {name}\n")
                if records:
                    writer = csv.DictWriter(sys.stdout, fieldnames=list(records[0]))
                    writer.writeheader()
                    writer.writerows(records)
        sys.stdout.flush()


@contextmanager
def output(fmt: Format) -> Iterator[Output]:
    """An :class:`Output` that emits on leaving the block, also when the command exits with a
    code of its own (a verifier failure), not after an error."""
    result = Output(fmt)
    try:
        yield result
    except typer.Exit:
        result.emit()
        raise
    result.emit()


def message(text: str) -> None:
    """A message that is no part of the result (files written, timings): stderr."""
    err_console().print(text, highlight=False, soft_wrap=True)


def _kpi_value(value: float) -> str:
    return f"{value:,.3f}" if abs(value) < 1e3 else f"{value:,.0f}"


KPI_COLUMNS = (
    Column("kpi", "KPI", left=True),
    Column("value", "value", _kpi_value),
    Column("unit", "unit", left=True),
)


def report_run(
    result: SolveResult | NetworkResult,
    title: str,
    out: Path | None,
    plot: bool,
    fmt: Format = Format.table,
) -> None:
    """Print a solved run (KPIs, the verifier's verdict; timings and a time-limit warning on
    stderr) in ``fmt``; write it with ``out``; exit 7 if the verifier found a violation."""
    with output(fmt) as shown:
        show_run(shown, result, title, out, plot)


def show_run(
    shown: Output, result: SolveResult | NetworkResult, title: str, out: Path | None, plot: bool
) -> None:
    """:func:`report_run` into an open :class:`Output`, for a command that prints more tables
    after the run's (``wattbit network --align``)."""
    from wattbit.report import kpi_unit

    rows = ({"kpi": k, "value": v, "unit": kpi_unit(k)} for k, v in result.kpis.items())
    shown.table("kpis", escape(title), KPI_COLUMNS, rows)
    message("time: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items()))
    ver = result.verification
    verdict = "[green]ok[/]" if ver.ok else f"[red]FAILED[/] (worst: {escape(str(ver.worst))})"
    shown.line(f"verifier: max violation {ver.max_violation:.2e} {verdict}")
    if result.status == "time_limit":
        err_console().print(f"[yellow]warning:[/] {result.run.solution.message}")
    if out is not None:
        paths = result.write(out, plot=plot)
        message("wrote " + ", ".join(escape(str(p)) for p in paths))
    if not ver.ok:
        raise typer.Exit(7)
