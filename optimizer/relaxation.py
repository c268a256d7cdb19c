"""A MILP's LP relaxation solved from a guess of its sizes (docs/milp.md, "Why the relaxation
was slow").

With sizes in units and gensets that commit, the relaxation's few size columns (the units of the
battery, the PV, the gensets) couple every step twice over: through the capacity rows of the
continuous LP and through the commitment's rows (O1–O4) of the per-step integer columns. Solved
from HiGHS's slack basis, the dual simplex then spends about as many iterations as on the LP
without commitment, but each costs four times as much (winter quarter of the full-year example:
15,418 iterations in 8.9 s of CPU against 12,258 in 1.9 s). With the sizes fixed the same
relaxation takes 0.4 s: each step's columns then meet only their neighbours'.

So the relaxation is solved in three LPs, every one to optimality by the dual simplex:

1. **The guess.** The relaxation without the rows of its per-step integer columns (a relaxation
   of the relaxation, as fast as the LP without units): its sizes are the guess.
2. **Sizes fixed** at the guess, the whole relaxation solved: the per-step columns settle, with
   cheap iterations.
3. **Sizes freed**, from that basis: the last iterations move the sizes to their optimum.

The end is the relaxation's optimum whatever the guess (stage 3 solves the relaxation itself);
the guess only decides how many iterations it takes. A stage that does not end optimal (a guess
that leaves the relaxation infeasible, a time limit) hands on no basis: stage 3 then starts
from scratch.
"""

from __future__ import annotations

import highspy
import numpy as np

OPTIMAL = highspy.HighsModelStatus.kOptimal
# The relaxation's LPs are priced with Devex weights rather than HiGHS's default dual steepest
# edge: on the full-year example with units (benchmarks/milp.py --only example) the guess took
# 24.9 s of CPU against 42.3 s and the sizes fixed and freed 8.0 s against 13.5 s. Not for every
# LP: the shipped example's LP took 0.64x its time with Devex, type2_flexible_dc's 2.28x
# (benchmarks/highs_options.py; docs/milp.md, "Devex pricing and warm bases").
DEVEX = 1  # HiGHS's simplex_dual_edge_weight_strategy


def price_with_devex(highs: highspy._Highs) -> None:
    """Have ``highs``'s dual simplex price with Devex weights (see :data:`DEVEX`)."""
    highs.setOptionValue("simplex_dual_edge_weight_strategy", DEVEX)


def rows_of(lp: highspy.HighsLp, columns: np.ndarray) -> np.ndarray:
    """The rows in which any of ``columns`` has a coefficient (``lp``'s matrix is column-wise)."""
    start = np.asarray(lp.a_matrix_.start_)
    index = np.asarray(lp.a_matrix_.index_)
    picked = [index[start[j] : start[j + 1]] for j in columns]
    return np.unique(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int32)


def guess_sizes(
    guess: highspy._Highs, lp: highspy.HighsLp, sizes: np.ndarray, steps: np.ndarray
) -> np.ndarray | None:
    """Stage 1: the sizes of ``lp`` (integrality relaxed) without the rows of the per-step integer
    columns ``steps``, solved in ``guess`` (a fresh HiGHS instance); ``None`` if not optimal."""
    rows = rows_of(lp, steps).astype(np.int32)
    guess.passModel(lp)
    if lp.integrality_:
        guess.changeColsIntegrality(
            lp.num_col_,
            np.arange(lp.num_col_, dtype=np.int32),
            np.full(lp.num_col_, highspy.HighsVarType.kContinuous),
        )
    guess.deleteRows(len(rows), rows)
    guess.run()
    if guess.getModelStatus() != OPTIMAL:
        return None
    return np.asarray(guess.getSolution().col_value)[sizes]


def solve_from_guess(
    h: highspy._Highs, lp: highspy.HighsLp, sizes: np.ndarray, guess: np.ndarray | None
) -> None:
    """Stages 2 and 3: ``h`` holds ``lp`` with its integrality relaxed and not yet solved; the
    ``sizes`` columns are fixed at ``guess``, solved, freed and solved again from that basis
    (with no guess, solved at once)."""
    if guess is not None and len(sizes):
        lower = np.asarray(lp.col_lower_)[sizes]
        upper = np.asarray(lp.col_upper_)[sizes]
        fixed = np.clip(guess, lower, upper)
        h.changeColsBounds(len(sizes), sizes, fixed, fixed)
        h.run()
        if h.getModelStatus() != OPTIMAL:
            h.clearSolver()
        h.changeColsBounds(len(sizes), sizes, lower, upper)
    h.run()
