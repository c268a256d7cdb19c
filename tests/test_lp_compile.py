"""The lean standard form (:mod:`wattbit.lp_compile`) equals Pyomo's compiler, entry for entry.

``compile_model`` hands HiGHS what :func:`standard_form` gives; everything downstream (duals by
row, values by column, warm re-solves that compare matrices) takes its rows and columns in
Pyomo's order, so the check is exact: the same rows and senses, the same columns, the same
matrix, costs and right-hand sides, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest
from conftest import EXAMPLE, REPO
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from wattbit.case import load_case
from wattbit.inputs import build_inputs
from wattbit.lp_compile import standard_form
from wattbit.model import create_model
from wattbit.network.case import load_network_case
from wattbit.network.inputs import build_network_inputs
from wattbit.network.model import create_network_model

TOWN = REPO / "cases" / "town" / "case.toml"


def pyomo_form(m: pyo.ConcreteModel):
    return LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)


def assert_same(m: pyo.ConcreteModel) -> None:
    ours, theirs = standard_form(m), pyomo_form(m)
    assert [id(v) for v in ours.columns] == [id(v) for v in theirs.columns]
    assert [(id(c), s) for c, s in ours.rows] == [(id(c), s) for c, s in theirs.rows]
    for a, b in ((ours.A, theirs.A), (ours.c, theirs.c)):
        assert a.shape == b.shape
        assert np.array_equal(a.indptr, b.indptr)
        assert np.array_equal(a.indices, b.indices)
        assert np.array_equal(a.data, b.data)
    assert np.array_equal(np.asarray(ours.rhs, float), np.asarray(theirs.rhs, float))
    assert np.array_equal(ours.c_offset, theirs.c_offset)


def test_the_town_network_compiles_as_pyomo_does() -> None:
    """Every row family of the town case (KVL, limits, balances, deferral, migration, EVs)."""
    ds = build_network_inputs(load_network_case(TOWN, {"horizon.steps": 48}))
    assert_same(create_network_model(ds, {"bess_north": {3, 4}, "buses": {5}}))


def test_the_example_site_compiles_as_pyomo_does() -> None:
    ds = build_inputs(load_case(EXAMPLE, {"horizon.steps": 48}))
    assert_same(create_model(ds, [0, 1, 2]))


def hand_model() -> pyo.ConcreteModel:
    """Each row shape the lean reader reads itself or leaves to Pyomo's walker."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(3), bounds=(0, 10))
    m.y = pyo.Var()
    m.z = pyo.Var(bounds=(0, 1))  # appears only with a zero coefficient: dropped
    m.f = pyo.Var(initialize=2.0)
    m.f.fix()  # first seen fixed: a constant
    m.g = pyo.Var(range(2), initialize=3.0)
    m.g[1].fix()  # seen after its component: a column moved to the right-hand side
    m.e = pyo.Expression(expr=2 * m.x[0] - m.y)
    m.single = pyo.Constraint(expr=m.x[1] <= 4)
    m.scaled = pyo.Constraint(expr=3 * m.x[2] >= 1)
    m.ranged = pyo.Constraint(expr=pyo.inequality(-1, m.x[0] + 2 * m.y + 1, 5))
    m.equal = pyo.Constraint(expr=m.x[0] + m.x[0] + 0 * m.z + m.f == 7)
    m.named = pyo.Constraint(expr=m.e + m.x[1] <= 3)  # a named Expression: Pyomo's walker
    m.negated = pyo.Constraint(expr=-(m.x[2] + m.y) >= -8)
    m.both = pyo.Constraint(expr=m.g[0] + m.g[1] + m.y <= 9)
    m.vanishing = pyo.Constraint(expr=m.x[1] - m.x[1] + 1 <= 2)  # no term left, holds: skipped
    m.cost = pyo.Objective(expr=m.x[0] + 5 * m.y + m.f + 3)
    return m


def test_a_hand_model_of_every_shape_compiles_as_pyomo_does() -> None:
    m = hand_model()
    assert_same(m)
    form = standard_form(m)
    assert id(m.z) not in {id(v) for v in form.columns}
    assert [c.local_name for c, _ in form.rows] == [
        "single",
        "scaled",
        "ranged",
        "ranged",
        "equal",
        "named",
        "negated",
        "both",
    ]
    assert [s for _, s in form.rows] == [1, -1, 1, -1, 0, 1, -1, 1]
    # x[0] twice in `equal`: 2·x[0] = 7 − f = 5; g[1] fixed at 3 moves to the right: y + g[0] ≤ 6
    row = {c.local_name: i for i, (c, _) in reversed(list(enumerate(form.rows)))}
    assert form.rhs[row["equal"]] == 5.0 and form.rhs[row["both"]] == 6.0
    assert form.A.toarray()[row["equal"]].tolist().count(2.0) == 1
    assert float(form.c_offset[0]) == 5.0  # 3 + f


def test_a_row_of_constants_that_fails_raises_as_pyomo_does() -> None:
    m = hand_model()
    m.broken = pyo.Constraint(expr=m.x[1] - m.x[1] + 3 <= 2)
    with pytest.raises(InfeasibleConstraintException, match="broken"):
        standard_form(m)
    with pytest.raises(InfeasibleConstraintException, match="broken"):
        pyomo_form(m)
