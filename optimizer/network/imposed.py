"""The system LP with the merchant batteries' schedules imposed, compiled once.

The climb to the worst of the merchant ties (:mod:`wattbit.network.merchant`) evaluates V(S) —
the system's least cost with the merchant parts' sizes and schedules S imposed — at up to
``MAX_ASCENT_ROUNDS + 1`` schedules. Every such model is the same LP but for the bounds of the
imposed columns (:func:`~wattbit.network.merchant.impose` holds them as bounds). :class:`ImposedLP`
builds and compiles it once, keeps it in HiGHS, and for each schedule changes those columns'
bounds, clears HiGHS's solution and basis and solves: the LP a cold solve would build, solved from
scratch as a cold solve does, without rebuilding the Pyomo model and compiling it again (the
larger part of a full-year system solve, see docs/network.md).

A schedule goes to the cold path (:func:`~wattbit.network.merchant.cold_imposed`) whenever that
would do something else: a free battery part (a reserved part) or a V2G EV fleet with
``exclusive = "always"``, or one that charges and discharges at once in the LP optimum (``auto``
would add binaries), a model whose compile finds rows of fixed values, or a solve that ends
neither optimal nor infeasible.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import highspy
import numpy as np
import xarray as xr
from pyomo.common.errors import InfeasibleConstraintException

from wattbit.network.merchant import FLOWS, SIZES, Imposed, Schedules, imposed_model
from wattbit.network.model import battery_blocks, ev_blocks, merchant_parts
from wattbit.optimise import SIMULTANEOUS_TOL_MW
from wattbit.solve import SolverOptions, _new_highs, compile_model

Columns = dict[str, dict[str, np.ndarray]]  # part → variable → column indices (sizes: one)


class ImposedLP:
    """V(S) and its subgradient (the imposed columns' reduced costs) from one compiled LP."""

    def __init__(
        self,
        ds: xr.Dataset,
        options: SolverOptions,
        cold: Callable[[Schedules], Imposed],
        timings: dict[str, float],
    ) -> None:
        self.ds, self.options, self.cold, self.timings = ds, options, cold, timings
        modes = dict(
            zip(ds["battery"].values.tolist(), ds["battery_exclusive"].values.tolist(), strict=True)
        )
        self.parts = merchant_parts(ds)
        free = [p for p in modes if p not in self.parts and modes[p] != "never"]
        fleets = {
            name: mode
            for name, mode, v2g in zip(
                ds["ev"].values.tolist(),
                ds["ev_exclusive"].values.tolist(),
                ds["ev_v2g"].values,
                strict=True,
            )
            if v2g and mode != "never"
        }
        self.usable = all(modes[p] != "always" for p in free) and "always" not in fleets.values()
        self.free = free
        self.fleets = list(fleets)
        self.highs: highspy.Highs | None = None
        self.imposed: Columns = {}
        self.watched: Columns = {}
        self.warm_solves = 0

    def __call__(self, schedules: Schedules) -> Imposed:
        if not self.usable or (self.highs is None and not self._compile(schedules)):
            return self.cold(schedules)
        h = self.highs
        index, values = [], []
        for part, schedule in schedules.items():
            for name, value in schedule["sizes"].items():
                index.append(self.imposed[part][name])
                values.append(np.array([value], dtype=float))
            for name, by_step in schedule["flows"].items():
                index.append(self.imposed[part][name])
                values.append(np.fromiter(by_step.values(), float, len(by_step)))
        cols, bounds = np.concatenate(index), np.concatenate(values)
        order = np.argsort(cols)
        cols, bounds = cols[order].astype(np.int32), bounds[order]
        h.changeColsBounds(len(cols), cols, bounds, bounds)
        h.clearSolver()
        t0 = time.perf_counter()
        h.run()
        self.timings["solve"] = self.timings.get("solve", 0.0) + time.perf_counter() - t0
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            self.warm_solves += 1
            return Imposed(float("inf"), None)
        info = h.getInfo()
        if (
            status != highspy.HighsModelStatus.kOptimal
            or info.dual_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible
        ):
            return self.cold(schedules)
        solved = h.getSolution()
        x, rc = np.asarray(solved.col_value), np.asarray(solved.col_dual)
        for flows in self.watched.values():
            charge, discharge = (x[columns] for columns in flows.values())
            if np.any(np.minimum(charge, discharge) > SIMULTANEOUS_TOL_MW):
                return self.cold(schedules)  # exclusivity "auto" would add binaries here
        self.warm_solves += 1
        gradient = {
            part: {
                **{name: {None: float(rc[self.imposed[part][name][0]])} for name in SIZES},
                **{name: dict(enumerate(rc[self.imposed[part][name]].tolist())) for name in FLOWS},
            }
            for part in self.parts
        }
        return Imposed(float(info.objective_function_value), gradient)

    def _compile(self, schedules: Schedules) -> bool:
        """Build and compile the imposed model, hand it to HiGHS and map the imposed and the
        watched columns; False (and cold from now on) if the compile finds fixed rows or a
        column is missing."""
        t0 = time.perf_counter()
        m = imposed_model(self.ds, schedules)({})
        t1 = time.perf_counter()
        self.timings["build"] = self.timings.get("build", 0.0) + t1 - t0
        try:
            cm = compile_model(m)
        except InfeasibleConstraintException:
            self.usable = False
            return False
        position = {id(v): j for j, v in enumerate(cm.columns)}
        blocks = {**battery_blocks(m, self.ds), **ev_blocks(m, self.ds)}

        def columns(part: str, names: tuple[str, ...]) -> dict[str, np.ndarray]:
            out = {}
            for name in names:
                var = getattr(blocks[part], name)
                out[name] = np.array([position.get(id(v), -1) for v in var.values()], dtype=int)
            return out

        self.imposed = {p: columns(p, SIZES + FLOWS) for p in self.parts}
        self.watched = {p: columns(p, FLOWS) for p in self.free}
        self.watched.update({f: columns(f, ("charge_mw", "v2g_mw")) for f in self.fleets})
        found = [c for t in (self.imposed, self.watched) for cs in t.values() for c in cs.values()]
        if any(np.any(c < 0) for c in found):
            self.usable = False
            return False
        self.highs = _new_highs(self.options, cm.lp)
        self.highs.passModel(cm.lp)
        self.timings["hand_off"] = self.timings.get("hand_off", 0.0) + time.perf_counter() - t1
        return True
