"""The ``wattbit`` command line: one module per command group, shared pieces in :mod:`.common`."""

from wattbit.cli.app import app

__all__ = ["app"]
