"""The LP relaxation solved from a guess of its sizes (optimizer/relaxation.py): the same optimum
as solved cold, on a hand-solved two-step genset case and on two days of the example.

Hand case (tests/test_milp_start.py's, with the gensets installed n free in [0, 3]): output
0.5 u_t ≤ y_t ≤ u_t, u_t ≤ n, demand y_t + g_t ≥ d_t with d = (1.5, 0.2) MW, costs
n + Σ y_t + 10 Σ g_t + 5 Σ s_t, starts s_0 ≥ u_0, s_1 ≥ u_1 − u_0.

* The guess (every row of the u_t dropped): y_t is then free of the gensets and costs 1 < 10, so
  y = d and nothing is installed: n = 0.
* The relaxation: a MWh generated at step 0 costs 1 + 1 (n) + 5 (a start) = 7 < 10, so
  n = u_0 = y_0 = s_0 = 1.5 and y_1 = 0.2 with u_1 ≤ u_0 (no start): 1.5 + 1.7 + 7.5 = 10.7.
  With the sizes fixed at the guess (n = 0) every MWh comes from the grid (17); freed, the
  dual simplex ends at 10.7 from there.
* The start's bound (optimizer/mip_start.py, stage 1's branches on n = 1.5): n ≤ 1 leaves 0.5 MWh
  of step 0 to the grid, 1 + 1.2 + 5 + 5 = 12.2; n ≥ 2 costs 2 + 1.7 + 7.5 = 11.2; so 11.2.
"""

from __future__ import annotations

import highspy
import numpy as np
import pytest
from test_milp_start import gensets

from wattbit.case import load_case
from wattbit.inputs import build_inputs
from wattbit.model import create_model
from wattbit.relaxation import guess_sizes, solve_from_guess
from wattbit.solve import SolverOptions, _new_highs, compile_model, rounded_relaxation


def _relaxation(cm, warm: bool) -> tuple[np.ndarray, float, np.ndarray | None]:
    """Every column's value and the objective of the relaxation, solved from the guess (``warm``)
    or cold; and the guess."""
    options = SolverOptions()
    integer = np.flatnonzero(
        [t == highspy.HighsVarType.kInteger for t in cm.lp.integrality_]
    ).astype(np.int32)
    scalar = np.array([not cm.columns[i].parent_component().is_indexed() for i in integer])
    h = _new_highs(options, cm.lp)
    h.passModel(cm.lp)
    h.changeColsIntegrality(
        len(integer), integer, np.full(len(integer), highspy.HighsVarType.kContinuous)
    )
    guess = None
    if warm:
        fresh = _new_highs(options, cm.lp)
        guess = guess_sizes(fresh, cm.lp, integer[scalar], integer[~scalar])
    solve_from_guess(h, cm.lp, integer[scalar], guess)
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    x = np.asarray(h.getSolution().col_value)
    return x, float(np.asarray(cm.lp.col_cost_) @ x) + cm.objective_offset, guess


@pytest.mark.parametrize("grid_mw", [None, 0.0], ids=["grid", "no-grid"])
def test_the_relaxation_from_the_guess_is_the_cold_one(grid_mw):
    """With no grid the guess (n = 0) leaves the relaxation with its sizes fixed infeasible
    (y_0 ≥ 1.5 ≤ u_0 ≤ n): the solve starts afresh and still ends at 10.7 (n = 1.5)."""
    m = gensets((0, 3), grid_mw)
    cm = compile_model(m)
    n = next(i for i, v in enumerate(cm.columns) if v is m.n)
    warm, warm_cost, guess = _relaxation(cm, warm=True)
    _, cold_cost, _ = _relaxation(cm, warm=False)
    assert guess == pytest.approx([0.0], abs=1e-9)
    assert warm_cost == pytest.approx(10.7, rel=1e-9)
    assert cold_cost == pytest.approx(10.7, rel=1e-9)
    assert warm[n] == pytest.approx(1.5, abs=1e-6)
    assert rounded_relaxation(cm, SolverOptions()).bound == pytest.approx(11.2, rel=1e-9)


def test_two_days_of_the_example_relax_to_the_cold_optimum():
    """The units case of tests/test_milp.py (battery, PV and 2.5 MW gensets in units, minimum
    load, start cost, 2 h minimum up time, N+1): objective to 1e-9, sizes to 1e-6."""
    from test_milp import EXAMPLE, UNITS

    cm = compile_model(create_model(build_inputs(load_case(EXAMPLE, UNITS))))
    sizes = [i for i, v in enumerate(cm.columns) if not v.parent_component().is_indexed()]
    warm, warm_cost, guess = _relaxation(cm, warm=True)
    cold, cold_cost, _ = _relaxation(cm, warm=False)
    assert guess is not None
    assert warm_cost == pytest.approx(cold_cost, rel=1e-9)
    assert warm[sizes] == pytest.approx(cold[sizes], abs=1e-6)
