"""A MIP start from the LP relaxation, in three stages: the sizes, then the steps rounded, then
the steps searched with the sizes fixed.

The relaxation of a model with sizes in units and gensets that commit (docs/milp.md) has two
kinds of integer columns: a few scalar ones (the units of each size, N+k's binary) and one per
step (gensets on, exclusivity binaries). Rounding every one up keeps the relaxation's dispatch
possible but buys every size the next whole unit: on the winter quarter of the full-year example
the relaxation's 1.25 PCS blocks became 2 (4.6819e9 JPY/yr with the commitment still relaxed)
where 1 block costs 4.6764e9, and the best of the sizes alone was worth 0.12 % of the cost.

1. **Sizes.** The scalar integer columns with a fractional relaxed value are branched on, every
   combination up to ``2**MAX_ENUMERATED`` (more fractional sizes: all rounded up, no branch):
   each either at most its floor or at least its ceiling, the other sizes free and the per-step
   integers relaxed, the LP re-solved from the relaxation's basis, in the order of
   :func:`branches`. Every integer point lies in one of these branches, so the cheapest branch's
   optimum bounds the MIP (:attr:`Rounding.bound`), a bound above the relaxation's by what whole
   units cost. Branching stops once a whole candidate is within the MIP gap of the relaxation's
   bound; the branches left are solved after stage 2 only if its point is not, for their bound.
   A branch's sizes, rounded up where still fractional and fixed, give a candidate (the branch's
   optimum itself where its sizes are whole), tried cheapest branch first and only while its
   branch's optimum is below the cheapest feasible candidate so far (fixed inside the branch, it
   cannot cost less); the cheapest feasible candidate is kept. Once a branch's optimum is a
   whole candidate, the dual simplex of each later branch stops where its dual objective passes
   it (HiGHS's ``objective_bound``): that branch holds nothing cheaper, and its dual objective
   there still bounds it.
2. **Steps.** With those sizes fixed, the per-step integer columns are rounded from that LP, up
   where their fraction exceeds a threshold (each of :data:`STEP_THRESHOLDS` in turn, from every
   fraction up to the nearest), fixed, and the continuous columns re-solved from the cheapest
   candidate's basis; the cheapest feasible rounding is kept, or the first within the MIP gap of
   the bound. Rounding every fraction up keeps the relaxation's dispatch possible but runs
   gensets at their minimum load for slivers of a unit; rounding to the nearest can leave a step
   short (e.g. a genset count above its minimum load).
3. **Steps, searched.** If that point is not within the MIP gap of the bound (the
   relaxation's, or stage 1's branches' where higher), HiGHS branches on the per-step integers
   alone, the sizes fixed, for a share of the limits (:func:`polish_steps`, :data:`POLISH_SHARE`);
   its best point is the start.

If stage 2 finds no rounding of the steps, every integer column is rounded up at once from the
relaxation (to the nearest where that is infeasible); if that fails too, stage 3 searches the
steps from no start, the sizes fixed at stage 1's. Rounding can fail where a step's minimum load
ties it to its neighbours: type ③ with gensets over the full year, whose rounded-up gensets
burn more fuel at minimum load than the tank the relaxation's sizes hold (docs/milp.md).

Stages 1 and 2 are a few LPs re-solved from the relaxation's basis, seconds where the relaxation
takes minutes, and run to their end even when the relaxation has spent the solve's CPU budget
(they get at least :data:`ROUNDING_GRACE` of it): interrupted, they would read as "no feasible
rounding" and leave the MIP without a start (type ③ with gensets over the full year, whose
relaxation took the whole 300 s budget: docs/milp.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np

# Of the time (and CPU) limit left, for stage 3. The MIP's gap is mostly the start's: on the
# full-year example the branches on the sizes bound it closer than HiGHS's root does, and 0.25
# left stage 3 too short to improve the rounded point (0.140 % at the limit) where 0.75 found
# one 0.053 % above the bound (docs/milp.md).
POLISH_SHARE = 0.75
ROUNDING_GRACE = 0.1  # of the CPU budget, the least stages 1 and 2 get even once it is spent
MAX_ENUMERATED = 3  # fractional sizes tried at floor and ceiling: at most 2^3 = 8 LPs
ROUNDING_TOL = 1e-6  # an LP value this close above an integer rounds down to it
# Stage 2 rounds a per-step integer up where its fraction exceeds each of these in turn and keeps
# the cheapest feasible rounding (0.5: to the nearest). On the full-year example 0.1 ended
# 0.076 % above the bound where rounding every fraction up ended 0.140 % above it (docs/milp.md).
STEP_THRESHOLDS = (ROUNDING_TOL, 0.1, 0.25, 0.5)
# HiGHS compares ``objective_bound`` with its LP's objective scaled by 2 to the power of these
_USER_SCALES = ("user_objective_scale", "user_bound_scale")


@dataclass
class RelaxationStart:
    """A feasible point of a MIP made from its LP relaxation, and that relaxation's optimum."""

    values: np.ndarray  # every column
    objective: float  # the point's cost
    bound: float  # the LP relaxation's optimum: no integer point costs less

    @property
    def gap(self) -> float:
        """HiGHS's relative gap of the point against the bound: (primal − dual) / |primal|."""
        return relative_gap(self.objective, self.bound)


def relative_gap(objective: float, bound: float) -> float:
    """HiGHS's relative MIP gap of a point of cost ``objective`` against ``bound``."""
    return (objective - bound) / max(abs(objective), 1e-9)


def _solve_fixed(
    highs: highspy._Highs, columns: np.ndarray, values: np.ndarray
) -> np.ndarray | None:
    """Fix ``columns`` at ``values`` and re-solve; the solution, ``None`` if not optimal."""
    if len(columns):
        highs.changeColsBounds(len(columns), columns, values, values)
    highs.run()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.asarray(highs.getSolution().col_value)


@dataclass
class Rounding:
    """What stages 1 and 2 found: every column's value at a feasible point (``None`` if no
    rounding was feasible), the cheapest feasible sizes of stage 1 (``None`` if none was) and the
    bound of stage 1's branches on the sizes, objective offset excluded (``None`` where they were
    not all solved: too many fractional sizes, a branch that ended other than optimal,
    infeasible or at the cut-off, branches left because the start was within the gap of the
    relaxation's bound)."""

    values: np.ndarray | None
    sizes: np.ndarray | None
    bound: float | None = None


def branches(relaxed: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> list[tuple]:
    """Stage 1's branches on the sizes: ``(lower, upper)`` bounds of the size columns, each
    fractional size at most its floor or at least its ceiling; the other sizes keep their
    bounds. No branch (``[]``) for more than :data:`MAX_ENUMERATED` fractional sizes.

    Order: the branch likeliest to hold a whole optimum first, whose cost then cuts off the later
    branches. Those with fewer binaries at 0 come first (a binary size guards others, as N+k's
    ``installed`` does the units: at 0 it switches them off, a move far larger than its own
    fraction; on type ③ with gensets that branch took 217 s of CPU against 6 s for the one
    installed, docs/milp.md), then those nearest the relaxed sizes (the least total distance the
    fractional sizes move to enter them)."""
    up = np.minimum(np.ceil(relaxed - ROUNDING_TOL), upper)
    down = np.maximum(np.floor(relaxed + ROUNDING_TOL), lower)
    fractional = np.flatnonzero(up != down)
    if len(fractional) > MAX_ENUMERATED:
        return []
    binary = (lower[fractional] == 0) & (upper[fractional] == 1)
    out = []
    for picks in itertools.product((True, False), repeat=len(fractional)):
        low, high = lower.copy(), upper.copy()
        low[fractional] = np.where(picks, up[fractional], lower[fractional])
        high[fractional] = np.where(picks, upper[fractional], down[fractional])
        moved = np.where(picks, up[fractional], down[fractional]) - relaxed[fractional]
        off = int(np.sum(binary & ~np.asarray(picks, dtype=bool)))
        out.append((off, float(np.abs(moved).sum()), low, high))
    return [(low, high) for *_, low, high in sorted(out, key=lambda branch: branch[:2])]


def round_in_stages(
    highs: highspy._Highs,
    integer: np.ndarray,
    scalar: np.ndarray,
    costs: np.ndarray,
    enough: Callable[[float, float], bool] = lambda cost, bound: False,
) -> Rounding:
    """Stages 1 and 2 above. ``highs`` holds the model with its integrality relaxed, solved to
    optimality; its column bounds are changed here.

    ``integer``: the integer columns; ``scalar``: for each, whether it is a size (not per step);
    ``costs``: the objective's column costs, to compare the size combinations; ``enough(cost,
    bound)``: whether a point of that cost is within the MIP gap of that bound (both objective
    offset excluded): stage 2 keeps the first rounding that is rather than trying the rest
    (default: never, every rounding tried)."""
    relaxed = np.asarray(highs.getSolution().col_value)
    lp = highs.getLp()
    lower = np.asarray(lp.col_lower_)[integer]
    upper = np.asarray(lp.col_upper_)[integer]
    staged = _staged(highs, integer, scalar, costs, relaxed, lower, upper, enough)
    if staged.values is not None:
        return staged
    for rounded in (np.ceil(relaxed[integer] - ROUNDING_TOL), np.round(relaxed[integer])):
        fixed = np.minimum(rounded, upper)
        start = _solve_fixed(highs, integer, fixed)
        if start is not None:
            start[integer] = fixed
            return Rounding(start, fixed[scalar], staged.bound)
    return staged


@dataclass
class Candidate:
    """Stage 1's cheapest feasible point: every column's value, its whole sizes and HiGHS's
    basis there (stage 2 starts from it: fixing the sizes at their values keeps it optimal)."""

    values: np.ndarray
    sizes: np.ndarray
    basis: highspy.HighsBasis
    cost: float  # objective offset excluded


@dataclass
class Branching:
    """Stage 1's state: the branches not yet solved, the least optimum of those solved (``None``
    where one ended other than optimal, infeasible or at the cut-off), the cheapest candidate so
    far, the fractional branches' (cost, sizes rounded up) and the relaxation's basis, from
    which every branch is solved."""

    leaves: list[tuple]
    bound: float | None
    best: Candidate | None
    fractional: list[tuple[float, np.ndarray]]
    relaxation: highspy.HighsBasis

    @property
    def best_cost(self) -> float:
        return np.inf if self.best is None else self.best.cost


def _solve_branches(
    highs: highspy._Highs,
    sizes: np.ndarray,
    costs: np.ndarray,
    branching: Branching,
    enough: Callable[[float], bool] = lambda cost: False,
) -> None:
    """Solve ``branching``'s leaves in turn until none is left or the cheapest whole candidate's
    cost is ``enough`` (within the gap of the relaxation's bound: the rest could only raise
    the bound, and are solved later only if the start needs it)."""
    while branching.leaves and not enough(branching.best_cost):
        low, high = branching.leaves.pop(0)
        highs.setBasis(branching.relaxation)
        status, value = _solve_branch(highs, sizes, low, high, branching.best_cost)
        if status == highspy.HighsModelStatus.kInfeasible:
            continue  # no integer point in this branch
        if status not in (
            highspy.HighsModelStatus.kOptimal,
            highspy.HighsModelStatus.kObjectiveBound,
        ):
            branching.bound = None
            continue
        if branching.bound is not None:
            branching.bound = min(branching.bound, value)
        if status == highspy.HighsModelStatus.kObjectiveBound:
            continue  # nothing in this branch costs less than the best candidate
        solved = np.asarray(highs.getSolution().col_value)
        cost = float(costs @ solved)
        whole = np.round(solved[sizes])
        if np.all(np.abs(solved[sizes] - whole) <= ROUNDING_TOL):
            if cost < branching.best_cost:
                branching.best = Candidate(solved, whole, highs.getBasis(), cost)
        else:
            ceiling = np.minimum(np.ceil(solved[sizes] - ROUNDING_TOL), high)
            branching.fractional.append((cost, ceiling))
    highs.setOptionValue("objective_bound", np.inf)


def _branched_sizes(
    highs: highspy._Highs,
    sizes: np.ndarray,
    costs: np.ndarray,
    relaxed: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    enough: Callable[[float], bool] = lambda cost: False,
) -> Branching:
    """Stage 1: the branches solved until a whole candidate is ``enough`` (see
    :func:`_solve_branches`), then the fractional branches' candidates fixed and solved."""
    leaves = branches(relaxed, lower, upper)
    branched = bool(leaves)
    branching = Branching(leaves, np.inf if branched else None, None, [], highs.getBasis())
    _solve_branches(highs, sizes, costs, branching, enough)
    candidates = list(branching.fractional)
    if not branched:
        candidates.append((-np.inf, np.minimum(np.ceil(relaxed - ROUNDING_TOL), upper)))
    tried = set()
    for branch_cost, choice in sorted(candidates, key=lambda c: c[0]):
        if branch_cost >= branching.best_cost:
            break  # fixed inside its branch, no candidate costs less than the branch's optimum
        if tuple(choice) in tried:
            continue
        tried.add(tuple(choice))
        solved = _solve_fixed(highs, sizes, choice)
        cost = np.inf if solved is None else float(costs @ solved)
        if cost < branching.best_cost:
            branching.best = Candidate(solved, choice, highs.getBasis(), cost)
    return branching


def _solve_branch(
    highs: highspy._Highs, sizes: np.ndarray, low: np.ndarray, high: np.ndarray, cutoff: float
) -> tuple[highspy.HighsModelStatus, float]:
    """One branch's LP from the basis ``highs`` holds, its dual simplex stopped once its objective
    passes ``cutoff``: the status and the objective, offset excluded (at such a stop, status
    ``kObjectiveBound``, the dual objective reached, a lower bound of the branch)."""
    offset = highs.getObjectiveOffset()[1]
    scale = 2.0 ** sum(highs.getOptionValue(o)[1] for o in _USER_SCALES)
    if len(sizes):
        highs.changeColsBounds(len(sizes), sizes, low, high)
    highs.setOptionValue("objective_bound", scale * cutoff + offset)
    highs.run()
    return highs.getModelStatus(), highs.getInfo().objective_function_value - offset


def _staged(
    highs: highspy._Highs,
    integer: np.ndarray,
    scalar: np.ndarray,
    costs: np.ndarray,
    relaxed: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    enough: Callable[[float, float], bool],
) -> Rounding:
    """Stages 1 and 2; no values if no size combination or no rounding of the steps is
    feasible. ``enough(cost, bound)``: whether a point of that cost is within the gap of that
    bound (offset excluded from both): stage 1 stops branching once a whole candidate is within
    the gap of the relaxation's bound, stage 2 at the first rounding within the gap of the bound
    so far; the branches left are solved at the end only if the point is not."""
    sizes, steps = integer[scalar], integer[~scalar]
    relaxation = float(costs @ relaxed)
    branching = _branched_sizes(
        highs,
        sizes,
        costs,
        relaxed[sizes],
        lower[scalar],
        upper[scalar],
        lambda cost: enough(cost, relaxation),
    )
    best = branching.best
    if best is None:
        return Rounding(None, None, _branches_bound(branching))
    if len(steps) == 0:
        best.values[sizes] = best.sizes
        point, point_cost = best.values, best.cost
    else:
        highs.setBasis(best.basis)
        highs.changeColsBounds(len(sizes), sizes, best.sizes, best.sizes)
        bound = _branches_bound(branching)
        lowest = relaxation if bound is None else max(relaxation, bound)
        on, point, point_cost, tried = best.values[steps], None, np.inf, set()
        for threshold in STEP_THRESHOLDS:
            fixed = np.clip(np.ceil(on - threshold), lower[~scalar], upper[~scalar])
            if fixed.tobytes() in tried:
                continue
            tried.add(fixed.tobytes())
            solved = _solve_fixed(highs, steps, fixed)
            if solved is not None and float(costs @ solved) < point_cost:
                point, point_cost = solved, float(costs @ solved)
                point[sizes], point[steps] = best.sizes, fixed
                if enough(point_cost, lowest):
                    break
    if branching.leaves and (point is None or not enough(point_cost, relaxation)):
        highs.changeColsBounds(len(steps), steps, lower[~scalar], upper[~scalar])
        _solve_branches(highs, sizes, costs, branching)  # the bound the point needs
    return Rounding(point, best.sizes, _branches_bound(branching))


def _branches_bound(branching: Branching) -> float | None:
    """The branches' bound on the MIP: ``None`` while some are not solved."""
    return None if branching.leaves else branching.bound


def polish_steps(
    highs: highspy._Highs,
    sizes: np.ndarray,
    values: np.ndarray,
    gap: float,
    start: np.ndarray | None = None,
) -> np.ndarray | None:
    """Stage 3: HiGHS's branch and bound on the per-step integers alone, the ``sizes`` columns
    fixed at ``values``, from ``start`` (every column; none: HiGHS looks for a first point
    itself), to ``gap``; its best point, ``None`` if it has none.

    ``highs`` holds the MIP with its limits (a :data:`POLISH_SHARE` of the solve's). With the
    sizes fixed the LP is several times faster (the winter quarter of the example: 0.7 s of CPU
    against 7.5 s) and the commitment closes to ~0.01 % within seconds (docs/milp.md)."""
    highs.changeColsBounds(len(sizes), sizes, values, values)
    if start is not None:
        point = highspy.HighsSolution()
        point.col_value = list(start)
        point.value_valid = True
        highs.setSolution(point)
    highs.setOptionValue("mip_rel_gap", gap)
    highs.run()
    info = highs.getInfo()
    if info.primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
        return None
    return np.asarray(highs.getSolution().col_value)
