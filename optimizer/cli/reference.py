"""The click command behind the typer app, for the generated command-line reference
(``docs/reference/cli.md``, rendered by mkdocs-click)."""

from __future__ import annotations

import typer

from wattbit.cli.app import app

command = typer.main.get_command(app)
