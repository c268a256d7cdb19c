"""Which HiGHS duals a run keeps (issue #16: the full-year town case with a sized DC ended optimal
with no duals). The objective is solved scaled (``user_objective_scale``); once the scale is
removed a reduced cost can sit a few hundredths of a JPY/yr on the wrong side of HiGHS's absolute
tolerance (1e-7) next to costs of ~1e8, and HiGHS calls the dual solution infeasible.
:func:`wattbit.solve.lp_duals` keeps such duals when HiGHS counts no infeasibility relative to
the costs, and says so (``RELATIVE_DUALS`` in ``duals_source``)."""

from __future__ import annotations

import highspy
import numpy as np
import pytest

from wattbit.solve import SolverOptions, _new_highs, lp_duals, objective_scale

BIG = 3e8  # JPY/yr per MW: the town sizing example's value of a DC's size


def _two_suppliers(scale: int, dear: float = BIG + 0.05) -> highspy._Highs:
    """min BIG·y + dear·x  s.t.  x + y ≥ 1,  0 ≤ x, y ≤ 10. By hand: y = 1, x = 0, the
    row's dual BIG, x's reduced cost +0.05 (0.05 JPY/yr more per unit of the dearer supplier).
    Presolve off so that the simplex, not presolve, settles the tie within its tolerance."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = 2, 1
    lp.col_cost_ = np.array([BIG, dear])
    lp.col_lower_, lp.col_upper_ = np.zeros(2), np.full(2, 10.0)
    lp.row_lower_, lp.row_upper_ = np.array([1.0]), np.array([highspy.kHighsInf])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_ = np.array([0, 1, 2]), np.array([0, 0])
    lp.a_matrix_.value_ = np.ones(2)
    h = _new_highs(SolverOptions())  # the run's settings (one thread: HiGHS's scheduler is shared)
    h.setOptionValue("presolve", "off")
    h.setOptionValue("user_objective_scale", scale)
    h.passModel(lp)
    h.run()
    return h


def test_unscaled_duals_are_exact() -> None:
    rows, columns, exact = lp_duals(_two_suppliers(0))
    assert exact
    assert rows[0] == pytest.approx(BIG, rel=1e-12)
    assert columns == pytest.approx([0.0, 0.05], abs=1e-6)


def test_scaled_duals_off_by_a_tolerance_are_kept_and_marked() -> None:
    """Scaled by 2^-19 (what :func:`objective_scale` picks for costs of 3e8), the 0.05 between
    the suppliers is below HiGHS's scaled tolerance: it ends "optimal" at the dearer one, one
    reduced cost −0.05 on the wrong side (absolute: infeasible; relative to 3e8: 1.7e-10). The
    duals are kept, marked not exact, and stay within that tolerance of the hand values."""
    scale = objective_scale(np.array([BIG, BIG + 0.05]))
    assert scale == -19
    h = _two_suppliers(scale)
    info = h.getInfo()
    assert info.dual_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible
    assert info.num_relative_dual_infeasibilities == 0
    rows, columns, exact = lp_duals(h)
    assert not exact
    assert rows[0] == pytest.approx(BIG, rel=1e-9)
    assert np.abs(columns).max() == pytest.approx(0.05, abs=1e-6)


def test_duals_off_relative_to_a_small_cost_are_dropped() -> None:
    """The second supplier at −0.005 (it pays to take, up to 10): by hand x = 10. Scaled by
    2^-19, HiGHS stops at x = 1 (0.005 per unit is below its scaled tolerance), a dual
    infeasibility of 0.005 on a column whose own cost is 0.005, infeasible relative to it
    too: no duals."""
    h = _two_suppliers(objective_scale(np.array([BIG, -0.005])), dear=-0.005)
    assert h.getInfo().num_relative_dual_infeasibilities > 0
    assert lp_duals(h) is None
