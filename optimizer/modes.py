"""The grid-connection modes a case may name (``grid.mode``), in a module of their own that
imports nothing heavy, so that the command line's help text can list them without loading
pydantic or pandas (``wattbit --help`` starts in a fraction of a second)."""

from __future__ import annotations

from typing import Literal, get_args

Mode = Literal["firm", "type2_fixed", "type2_dynamic", "type2_forecast", "type3_n1"]
MODES: tuple[str, ...] = get_args(Mode)
