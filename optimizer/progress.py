"""The hook a study reports its steps through, so that the command line can draw a progress bar
without the studies importing it: a callable taking the step's words and, where the study knows
them, how many steps are done of how many.

A study calls ``progress("solving battery_shaped × type2_fixed", done=3, total=12)`` before each
step (``done`` steps finished so far) and ``progress(text)`` where the count is not known (a
bisection); :func:`silent` is the default. The command line's hook is
:func:`wattbit.cli.common.progress_bar`.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(
        self, message: str, /, *, done: int | None = None, total: int | None = None
    ) -> None: ...


def silent(message: str, /, *, done: int | None = None, total: int | None = None) -> None:
    """The hook that reports nothing."""
