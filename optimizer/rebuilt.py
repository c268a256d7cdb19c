"""Solve an LP with its Pyomo model freed while HiGHS runs, and load the solution into the model
built again.

HiGHS's working copies of a large LP and the Pyomo model that produced it need not be in memory
at once: on the full-year town case the model holds ~360 MiB and HiGHS adds ~480 MiB of its own
(docs/network.md, "Peak memory"). :func:`solve_rebuilt` compiles the model, notes each compiled
column's and row's position among the model's variables and constraints, frees the model and the
compiler's maps, runs HiGHS, then builds the model again with the same builder — the same
variables and constraints in the same order — and loads the values, reduced costs and duals by
those positions, as :func:`wattbit.solve.solve_model` loads them into the first model. The price
is a second build (on the full-year town case 8 s of CPU, +31 %, for a peak of 947 instead of
1,313 MiB: docs/network.md), so it is paid only where memory matters: an LP of fewer than
:data:`REBUILD_ROWS` rows is solved with its model kept. A MIP takes the usual path too (its
start and rounding read the compiled columns' components), and so does the explanation of an
infeasible LP (on a third build).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import time
from collections.abc import Callable

import numpy as np
import pyomo.environ as pyo

from wattbit.infeasibility import describe, diagnose
from wattbit.solve import (
    CompiledModel,
    Solution,
    SolverOptions,
    compile_checked,
    load_duals,
    load_reduced_costs,
    load_values,
    solve_compiled,
)

REBUILD_ROWS = 100_000
"""The fewest rows an LP has for :func:`solve_rebuilt` to free its model while HiGHS runs."""

WarmStart = Callable[[pyo.ConcreteModel], dict[int, float] | None]


def _positions(
    m: pyo.ConcreteModel, cm: CompiledModel
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Each compiled column's position among ``m``'s variables, each row's among its constraints
    (in :func:`_components`' order), and how many of each ``m`` has."""
    at = {id(v): i for i, v in enumerate(_components(m, pyo.Var))}
    columns = np.fromiter((at[id(v)] for v in cm.columns), np.int64, len(cm.columns))
    n_vars = len(at)
    at = {id(c): i for i, c in enumerate(_components(m, pyo.Constraint))}
    rows = np.fromiter((at[id(c)] for c in cm.rows), np.int64, len(cm.rows))
    return columns, rows, (n_vars, len(at))


def _components(m: pyo.ConcreteModel, kind: type) -> list:
    return list(m.component_data_objects(kind, active=None, descend_into=True))


def _load(m: pyo.ConcreteModel, cm: CompiledModel, sol: Solution, options: SolverOptions) -> None:
    """What :func:`wattbit.solve.solve_model` loads into its model after the solve."""
    if sol.has_values:
        load_values(m, cm, sol.column_values)
    if sol.reduced_costs is not None:
        load_reduced_costs(m, cm, sol.reduced_costs)
    load_duals(m, cm, sol, options)


def _give_back_freed_memory() -> None:
    """Return the C heap HiGHS freed to the system (glibc's ``malloc_trim``; nothing elsewhere):
    glibc keeps it for the next ``malloc``, but the Python objects of the second build come from
    Python's own arenas, which would not reuse it."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def solve_rebuilt(
    build: Callable[[], pyo.ConcreteModel], options: SolverOptions, warm_start: WarmStart
) -> tuple[Solution, pyo.ConcreteModel]:
    """Build, compile and solve; the solution loaded into the model of a second ``build()``
    (into the first for a MIP or an LP of fewer than :data:`REBUILD_ROWS` rows).

    ``warm_start(model)`` maps ``id(var)`` to a MIP start value (or is ``None``). Seconds of each
    phase in ``Solution.timings``, the builds under ``build``."""
    t0 = time.perf_counter()
    m = build()
    t1 = time.perf_counter()
    cm, conflict = compile_checked(m, options)
    t2 = time.perf_counter()
    timings = {"build": t1 - t0, "hand_off": t2 - t1}
    if cm is None:
        sol = Solution("infeasible", describe(conflict), timings=timings, conflict=conflict)
        return sol, m
    start = warm_start(m)
    values = None if start is None else np.array([start.get(id(v), 0.0) for v in cm.columns])
    if cm.is_mip or cm.lp.num_row_ < REBUILD_ROWS:
        sol = solve_compiled(cm, options, values)
        t3 = time.perf_counter()
        _load(m, cm, sol, options)
        sol.timings = {**timings, **sol.timings, "load": time.perf_counter() - t3}
        return sol, m
    columns, rows, counts = _positions(m, cm)
    lp, offset = cm.lp, cm.objective_offset
    del m, cm
    gc.collect()  # the model's blocks refer to each other: only the collector frees them
    t3 = time.perf_counter()
    sol = solve_compiled(CompiledModel(lp, [], [], False, offset), options, explain=False)
    t4 = time.perf_counter()
    _give_back_freed_memory()
    m = build()
    t5 = time.perf_counter()
    if sol.status == "infeasible":
        full, _ = compile_checked(m, options)
        sol.conflict = diagnose(full, options)
        sol.message = describe(sol.conflict)
        t5 = time.perf_counter()
    variables, constraints = _components(m, pyo.Var), _components(m, pyo.Constraint)
    if (len(variables), len(constraints)) != counts:
        raise RuntimeError("the model built again differs from the one solved")
    cm = CompiledModel(
        lp,
        [variables[i] for i in columns.tolist()],
        [constraints[i] for i in rows.tolist()],
        False,
        offset,
    )
    _load(m, cm, sol, options)
    sol.timings = {
        "hand_off": t3 - t1,
        **sol.timings,
        "build": t1 - t0 + t5 - t4,
        "load": time.perf_counter() - t5,
    }
    return sol, m
