"""A Pyomo model's standard form, as Pyomo's :class:`LinearStandardFormCompiler` gives it (with
``mixed_form=True``), in less memory and time.

Pyomo's compiler keeps every row's coefficient dictionary until the end, when it builds the
matrix: on the full-year town network (560 k rows) that is +550 MiB for a moment, more than the
Pyomo model itself (docs/network.md, "Peak memory"). Here each row's coefficients go into two flat
arrays (8 + 4 bytes a nonzero) as soon as the row is read, and the rows of the shapes the
formulations write — a variable, ``c · x``, or a sum of such terms and numbers — are read
directly, without Pyomo's expression walker; any other row goes through that walker
(:class:`LinearRepnVisitor`, the compiler's own). Columns are recorded with the compiler's own
recorder in the same order, so rows, columns, matrix, costs and right-hand sides equal Pyomo's
(``tests/test_lp_compile.py``), and so do the solutions HiGHS finds from them.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

import numpy as np
import pyomo.environ as pyo
import scipy.sparse
from pyomo.common.errors import InfeasibleConstraintException, InvalidConstraintError
from pyomo.common.gc_manager import PauseGC
from pyomo.core.base.var import ScalarVar, VarData
from pyomo.core.expr import LinearExpression, MonomialTermExpression, SumExpression
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


class _Rows:
    """The matrix's rows as they are read: flat coefficient arrays and a row start per row."""

    def __init__(self, var_map: dict, recorder: TemplateVarRecorder) -> None:
        self.var_map, self.recorder = var_map, recorder
        self.data, self.index, self.start = array("d"), array("i"), array("q", [0])

    def terms(self, body: object) -> tuple[dict[int, float], float] | None:
        """``body``'s coefficients by ``id(var)`` and its constant, as Pyomo's walker records
        them (:meth:`LinearBeforeChildDispatcher.record_monomial`), or ``None`` for a shape this
        does not read (left to the walker)."""
        cls = body.__class__
        if cls in _VARS:
            args: Iterable = (body,)
        elif cls is MonomialTermExpression or cls in _SUMS:
            args = (body,) if cls is MonomialTermExpression else body.args
        else:
            return None
        linear: dict[int, float] = {}
        constant = 0
        var_map = self.var_map
        for arg in args:
            cls = arg.__class__
            if cls in _VARS:
                coef, var = 1, arg
            elif cls is MonomialTermExpression:
                coef, var = arg._args_
                if coef.__class__ not in native_numeric_types or var.__class__ not in _VARS:
                    return None
            elif cls in native_numeric_types:
                constant += arg
                continue
            else:
                return None
            vid = id(var)
            if vid not in var_map:
                if var.fixed:
                    if var.value is None:
                        return None  # the walker reports it
                    constant += coef * var.value
                    continue
                self.recorder.add(var)
            if vid in linear:
                linear[vid] += coef
            elif coef:
                linear[vid] = coef
        return {k: v for k, v in linear.items() if v}, constant

    def add(self, linear: dict[int, float], order: dict[int, int], copies: int) -> None:
        """Append ``linear`` as ``copies`` rows (2 for a ranged constraint)."""
        index = [order[vid] for vid in linear]
        values = list(linear.values())
        for _ in range(copies):
            self.index.extend(index)
            self.data.extend(values)
            self.start.append(len(self.data))


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
