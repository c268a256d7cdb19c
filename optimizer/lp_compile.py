"""A Pyomo model's standard form, as Pyomo's :class:`LinearStandardFormCompiler` gives it (with
``mixed_form=True``), in less memory and time.

Pyomo's compiler keeps every row's coefficient dictionary until the end, when it builds the
matrix: on the full-year town network (560 k rows) that is +650 MiB for a moment, more than the
Pyomo model itself (docs/network.md, "Peak memory"). Here each row's coefficients go into two flat
arrays (8 + 4 bytes a nonzero) as soon as the row is read. Rows of the shapes the formulations
write — variables, numbers, ``c · x``, sums, negations, products with a number and named
expressions — are read by :meth:`_Rows.terms`, which follows Pyomo's walker
(:class:`LinearRepnVisitor`) node for node: a multiplier, a constant and coefficients per node,
merged in the same order with the same arithmetic; any other row goes through that walker itself.
Columns are recorded with the compiler's own recorder in the same order. So rows, columns, matrix,
costs and right-hand sides equal Pyomo's bit for bit (``tests/test_lp_compile.py``), and so do
the solutions HiGHS finds from them.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

import numpy as np
import pyomo.environ as pyo
import scipy.sparse
from pyomo.common.errors import InfeasibleConstraintException, InvalidConstraintError
from pyomo.common.gc_manager import PauseGC
from pyomo.core.base.expression import ExpressionData, ScalarExpression
from pyomo.core.base.var import ScalarVar, VarData
from pyomo.core.expr import (
    LinearExpression,
    MonomialTermExpression,
    NegationExpression,
    ProductExpression,
    SumExpression,
)
from pyomo.core.expr.numvalue import native_numeric_types, native_types
from pyomo.repn.linear import LinearRepnVisitor
from pyomo.repn.plugins.standard_form import (
    LinearStandardFormCompiler,
    LinearStandardFormInfo,
    RowEntry,
)
from pyomo.repn.util import (
    FileDeterminism_to_SortComponents,
    TemplateVarRecorder,
    ordered_active_constraints,
)

_VARS = frozenset((VarData, ScalarVar))
_SUMS = frozenset((SumExpression, LinearExpression))
_NAMED = frozenset((ExpressionData, ScalarExpression))


class _Rows:
    """The matrix's rows as they are read: flat coefficient arrays and a row start per row."""

    def __init__(self, var_map: dict, recorder: TemplateVarRecorder) -> None:
        self.var_map, self.recorder = var_map, recorder
        self.data, self.index, self.start = array("d"), array("i"), array("q", [0])
        self.named: dict[int, tuple[float, float, dict[int, float]]] = {}  # Pyomo's cache

    def terms(self, body: object) -> tuple[dict[int, float], float] | None:
        """``body``'s coefficients by ``id(var)`` and its constant, as Pyomo's walker computes
        them (:class:`LinearRepnVisitor`: each node a multiplier, a constant and coefficients,
        merged in the same order), or ``None`` for a shape this does not read (left to the
        walker): anything but variables, numbers, ``c · x``, sums, negations, products with a
        number and named expressions."""
        node = self._node(body)
        if node is None:
            return None
        mult, constant, linear = node
        if mult == 1:
            return {k: v for k, v in linear.items() if v}, constant
        if not mult:
            return None  # Pyomo's walker also checks the cleared terms for NaN
        scaled = {k: mult * v for k, v in linear.items()}
        return {k: v for k, v in scaled.items() if v}, constant * mult

    def _node(self, e: object) -> tuple[float, float, dict[int, float]] | None:
        """(multiplier, constant, coefficients) of the expression node ``e``; a node without
        coefficients comes back as the number it is: (1, value, {})."""
        cls = e.__class__
        if cls in native_numeric_types:
            return 1, e, {}
        if cls in _VARS:
            return self._monomial(1, e)
        if cls is MonomialTermExpression:
            coef, var = e._args_
            if coef.__class__ not in native_numeric_types or var.__class__ not in _VARS:
                return None
            return self._monomial(coef, var)
        if cls in _SUMS:
            return self._sum(e.args)
        if cls is NegationExpression:
            inner = self._node(e.args[0])
            if inner is None or not inner[2]:
                return inner and (1, -inner[1], {})
            return inner[0] * -1, inner[1], inner[2]
        if cls is ProductExpression:
            a, b = e.args
            if a.__class__ in native_numeric_types:
                number, inner = a, self._node(b)
            elif b.__class__ in native_numeric_types:
                number, inner = b, self._node(a)
            else:
                return None
            if inner is None or not inner[2]:
                return inner and (1, number * inner[1], {})
            return inner[0] * number, inner[1], inner[2]
        if cls in _NAMED:
            cached = self.named.get(id(e))
            if cached is None:
                cached = self._node(e.expr)
                if cached is None:
                    return None
                self.named[id(e)] = cached
            return cached
        return None

    def _monomial(self, coef: float, var: VarData) -> tuple[float, float, dict[int, float]] | None:
        """Pyomo's ``record_monomial``: a fixed variable not yet a column is a number."""
        vid = id(var)
        if vid not in self.var_map:
            if var.fixed:
                if var.value is None:
                    return None  # the walker reports it
                return 1, coef * var.value, {}
            self.recorder.add(var)
        return 1, 0, ({vid: coef} if coef else {})

    def _sum(self, args: Iterable) -> tuple[float, float, dict[int, float]] | None:
        """Pyomo's ``LinearRepn.append`` of each term, in order."""
        constant, linear = 0, {}
        var_map = self.var_map
        for arg in args:
            cls = arg.__class__
            if cls in native_numeric_types:
                constant += arg
                continue
            if cls in _VARS or cls is MonomialTermExpression:  # the common terms, inline
                coef, var = (1, arg) if cls in _VARS else arg._args_
                if coef.__class__ in native_numeric_types and var.__class__ in _VARS:
                    vid = id(var)
                    if vid in var_map or not var.fixed:
                        if vid not in var_map:
                            self.recorder.add(var)
                        if vid in linear:
                            linear[vid] += coef
                        elif coef:
                            linear[vid] = coef
                        continue
            node = self._node(arg)
            if node is None:
                return None
            mult, value, terms = node
            if not terms:
                constant += value
            elif mult == 1:
                constant += value
                for vid, coef in terms.items():
                    if vid in linear:
                        linear[vid] += coef
                    else:
                        linear[vid] = coef
            elif mult:
                if value:
                    constant += mult * value
                for vid, coef in terms.items():
                    if vid in linear:
                        linear[vid] += mult * coef
                    else:
                        linear[vid] = mult * coef
        return 1, constant, linear

    def add(self, linear: dict[int, float], order: dict[int, int], copies: int) -> None:
        """Append ``linear`` as ``copies`` rows (2 for a ranged constraint)."""
        index, data = self.index, self.data
        for _ in range(copies):
            index.extend(map(order.__getitem__, linear))
            data.extend(linear.values())
            self.start.append(len(data))


def _matrix(data: np.ndarray, index: np.ndarray, start: np.ndarray, n_cols: int):
    """Pyomo's compiler's CSR → CSC conversion (duplicates summed, zeros dropped)."""
    a = scipy.sparse.csr_array((data, index, start), [len(start) - 1, n_cols]).tocsc()
    a.sum_duplicates()
    a.eliminate_zeros()
    return a


def standard_form(model: pyo.ConcreteModel) -> LinearStandardFormInfo:
    """``LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)``, the same
    rows (a ranged row as its upper then its lower row), columns, matrix and vectors."""
    config = LinearStandardFormCompiler.CONFIG(dict(mixed_form=True, set_sense=None))
    with PauseGC():
        return _write(model, config)


def _write(model: pyo.ConcreteModel, config: object) -> LinearStandardFormInfo:
    sorter = FileDeterminism_to_SortComponents(config.file_determinism)
    var_map: dict = {}
    recorder = TemplateVarRecorder(var_map, sorter)
    visitor = LinearRepnVisitor({}, var_recorder=recorder)
    objectives = list(
        model.component_data_objects(pyo.Objective, active=True, descend_into=True, sort=sorter)
    )
    obj_offset, obj_terms = [], []
    for obj in objectives:
        repn = visitor.walk_expression(obj.expr)
        if repn.nonlinear is not None:
            raise InvalidConstraintError(f"Model objective ({obj.name}) is not linear.")
        obj_terms.append(dict(repn.linear))
        obj_offset.append(repn.constant)
    rows, rhs, out = [], array("d"), _Rows(var_map, recorder)
    for con in ordered_active_constraints(model, config):
        lb, body, ub = con.to_bounded_expression()
        if lb.__class__ not in native_types:
            lb = pyo.value(lb)
        if ub.__class__ not in native_types:
            ub = pyo.value(ub)
        read = out.terms(body)
        if read is None:
            repn = visitor.walk_expression(body)
            if repn.nonlinear is not None:
                raise InvalidConstraintError(f"Model constraint ({con.name}) is not linear.")
            read = repn.linear, repn.constant
        linear, offset = read
        if lb is None and ub is None:
            continue
        if not linear and offset.__class__ in native_types:
            if (lb is None or lb <= offset) and (ub is None or ub >= offset):
                continue
            raise InfeasibleConstraintException(
                f"model contains a trivially infeasible constraint, '{con.name}'"
            )
        order = recorder.var_order
        if lb == ub:
            rows.append(RowEntry(con, 0))
            rhs.append(ub - offset)
            out.add(linear, order, 1)
            continue
        if ub is not None:
            rows.append(RowEntry(con, 1))
            rhs.append(ub - offset)
        if lb is not None:
            rows.append(RowEntry(con, -1))
            rhs.append(lb - offset)
        out.add(linear, order, (ub is not None) + (lb is not None))
    columns = list(var_map.values())
    n_cols = len(columns)
    order = recorder.var_order
    c = _matrix(
        np.fromiter((v for t in obj_terms for v in t.values()), float),
        np.fromiter((order[k] for t in obj_terms for k in t), np.int32),
        np.cumsum([0] + [len(t) for t in obj_terms], dtype=np.int64),
        n_cols,
    )
    a = _matrix(
        np.frombuffer(out.data, dtype=float),
        np.frombuffer(out.index, dtype=np.int32),
        np.frombuffer(out.start, dtype=np.int64),
        n_cols,
    )
    del out
    return _without_unused_columns(c, np.array(obj_offset), a, rhs, rows, columns, objectives)


def _without_unused_columns(
    c, obj_offset: np.ndarray, a, rhs: array, rows: list, columns: list, objectives: list
) -> LinearStandardFormInfo:
    """Pyomo's last step: columns in no row and not in the objective are dropped, fixed ones
    move to the right-hand sides and the objective's constant."""
    rhs_vector = np.frombuffer(rhs, dtype=float)
    active = (np.diff(a.indptr) > 0) | (np.diff(c.indptr) > 0)
    fixed = np.array([v.fixed for v in columns], dtype=bool) & active
    if fixed.any():
        x = np.array([columns[i].value for i in np.flatnonzero(fixed)])
        obj_offset = obj_offset + c[:, fixed] @ x
        rhs_vector = rhs_vector - a[:, fixed] @ x
        active &= ~fixed
    if not active.all():
        c, a = c[:, active], a[:, active]
        columns = [v for keep, v in zip(active.tolist(), columns, strict=True) if keep]
    return LinearStandardFormInfo(c, obj_offset, a, rhs_vector, rows, columns, objectives, [])
