"""The ``wattbit`` command line: one module per command group, each adding its commands with
``register``; shared options, consoles and the mapping of errors to exit codes in
:mod:`~wattbit.cli.common`.

Command modules import the solver stack (Pyomo, HiGHS, xarray, matplotlib) only inside their
commands, through :mod:`wattbit.api`, so that ``wattbit --help`` starts in a fraction of a second.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from wattbit.cli import economics, network, report, solve, sweep, type2, type3
from wattbit.cli.common import QUIET_ENV

app = typer.Typer(
    help="wattbit: value data-centre connections to a congested grid.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # click's plain help and usage errors: typer's rich formatter imports rich.markdown and
    # markdown-it, a third of the start-up time of `wattbit --help`.
    rich_markup_mode=None,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib import metadata

        typer.echo(f"wattbit {metadata.version('wattbit')}")
        raise typer.Exit()


def _set_for_this_command(ctx: typer.Context, name: str) -> None:
    """Set environment variable ``name`` to "1" while the command runs, and restore it after,
    so that a flag of one call of the app (a test's, a notebook's) does not leak into the next."""
    before = os.environ.get(name)
    os.environ[name] = "1"

    def restore() -> None:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before

    ctx.call_on_close(restore)


@app.callback()
def main(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
    log: Annotated[
        bool, typer.Option("--log", "-v", help="show HiGHS's log of every solve on stderr")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="no progress bars or progress lines on stderr")
    ] = False,
) -> None:
    """wattbit: value data-centre connections to a congested grid."""
    if quiet:
        _set_for_this_command(ctx, QUIET_ENV)  # read by progress_bar
    if log:
        from wattbit.solver_setup import LOG_ENV

        _set_for_this_command(ctx, LOG_ENV)  # read by every SolverOptions, in sweep workers too


for module in (solve, type2, sweep, network, type3, report, economics):
    module.register(app)
