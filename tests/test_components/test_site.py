"""Site balance and objective (E1–E2) built alone, with hand-derived values."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from test_components.closing import (
    MW,
    REL,
    STEP_LENGTHS,
    close,
    given,
    model,
    solve,
    supply,
    values,
)
from wattbit.formulations.site import cost_terms


@STEP_LENGTHS
def test_balance_takes_the_cheapest_supply_and_the_total_sums_every_term(dt_h):
    """(E1), (E2). 3 steps, α Δt = 2920. Load [1, 2, 3] MW; supply A at 10 000 JPY/MWh up to 2 MW,
    supply B at 20 000 unlimited. (E1) makes A + B = load at every step; (E2) takes A first:
    A = [1, 2, 2], B = [0, 0, 1]. Terms "a.energy" = α · 10 000 · 5 = 146 000 000 and
    "b.energy" = α · 20 000 · 1 = 58 400 000; total = 204 400 000 JPY/yr."""
    m = model(3, dt_h)
    given(m, "demand", [-1.0, -2.0, -3.0])
    a = supply(m, "a", price=10_000.0, max_mw=2.0)
    b = supply(m, "b", price=20_000.0)
    m.a.note = pyo.Expression(expr=1e9 * a.p_mw[0])  # not a cost term: no cost_ prefix
    close(m)
    solve(m)
    np.testing.assert_allclose(values(a.p_mw), [1.0, 2.0, 2.0], atol=MW)
    np.testing.assert_allclose(values(b.p_mw), [0.0, 0.0, 1.0], atol=MW)
    terms = {key: pyo.value(expr) for key, expr in cost_terms(m).items()}
    assert terms == pytest.approx({"a.energy": 146_000_000.0, "b.energy": 58_400_000.0}, rel=REL)
    assert pyo.value(m.total_cost_jpy) == pytest.approx(204_400_000.0, rel=REL)
    assert pyo.value(m.objective) == pytest.approx(204_400_000.0, rel=REL)


def test_balance_that_cannot_close_is_infeasible():
    """(E1) with a given injection of +1 MW and nothing to take it: infeasible."""
    m = model(3)
    given(m, "source", [1.0, 1.0, 1.0])
    supply(m, "grid", price=10_000.0)
    close(m)
    solve(m, status="infeasible")
