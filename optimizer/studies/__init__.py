"""Studies built from solves: the type ② comparison and breakeven, the type ③ ride-through
(cost, survival) and the connection choice (NPV of waiting for firm vs connecting now), the
headroom potential of a case; their result objects write the files the command line writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wattbit.errors import SolveError

if TYPE_CHECKING:
    from wattbit.optimise import Run


def checked(run: Run, what: str) -> Run:
    """``run`` if it solved and its verifier passed; else :class:`SolveError` with the exit code
    the command line uses (the solver status's, 7 for a verifier violation)."""
    from wattbit.solve import EXIT_CODES  # here: the package stays light for the command line

    if not run.ok:
        raise SolveError(
            f"{what}: {run.solution.status}: {run.solution.message}",
            EXIT_CODES[run.solution.status],
        )
    if not run.verification.ok:
        raise SolveError(f"{what}: verifier found a violation ({run.verification.worst})", 7)
    return run
