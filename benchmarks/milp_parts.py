"""Where a MILP's gap comes from: one benchmark MILP written to a file, then solved by HiGHS
alone with parts of it fixed or relaxed (docs/milp.md, "Where the gap comes from").

Run from the repository root::

    python benchmarks/milp_parts.py dump OUT [--steps N] [--start ISO]     # OUT.mps, OUT.json
    python benchmarks/milp_parts.py solve OUT.mps [--cpu 60] [--relax-commit]
        [--fix COLUMN=VALUE,...] [--opt KEY=VALUE ...]

``dump`` builds the ``example`` problem of ``benchmarks/milp.py`` through the pipeline and writes
the model HiGHS would get (``writeModel``) with its column names. ``solve`` solves it the way
``wattbit.solve`` does (threads 1, ``simplex_scale_strategy`` 4, the objective scaled), from
the LP relaxation with every integer rounded up (to the nearest if that is infeasible), with a
CPU-time budget, and prints the bound trajectory: ``--relax-commit`` relaxes the gensets on
(sizes alone in units), ``--fix generator.power_mw_units=2,...`` fixes columns by name (the
commitment alone in units), ``--opt`` sets HiGHS options (on the LP relaxation alone with
``--relaxation-only``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import highspy
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def option(value: str) -> object:
    if value in ("true", "false"):
        return value == "true"
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def dump(out: str, steps: int | None, start: str | None) -> None:
    import milp

    import wattbit.solve as solve

    def write(cm: object, *_: object) -> None:
        h = highspy._Highs()
        h.setOptionValue("output_flag", False)
        h.passModel(cm.lp)
        h.writeModel(out + ".mps")
        names = [v.name for v in cm.columns]
        Path(out + ".json").write_text(json.dumps({"names": names}))
        print("written", cm.lp.num_col_, "columns,", cm.lp.num_row_, "rows")
        raise SystemExit(0)

    solve.solve_compiled = write
    milp.solve_once("example", True, steps, 60, start)


def solve(args: argparse.Namespace) -> None:
    names = json.loads(Path(args.mps.replace(".mps", ".json")).read_text())["names"]
    col = {n: i for i, n in enumerate(names)}
    cpu0, wall0 = time.process_time(), time.perf_counter()

    def cpu() -> float:
        return time.process_time() - cpu0

    def new() -> highspy._Highs:
        h = highspy._Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("simplex_scale_strategy", 4)
        h.setOptionValue("time_limit", args.wall)
        return h

    h = new()
    h.readModel(args.mps)
    lp = h.getLp()
    costs = np.asarray(lp.col_cost_)
    scale = -max(0, math.ceil(math.log2(np.abs(costs).max())) - 10)
    h.setOptionValue("user_objective_scale", scale)
    kinds = np.array([t == highspy.HighsVarType.kInteger for t in lp.integrality_])
    integer = np.flatnonzero(kinds).astype(np.int32)
    if args.relax_commit:
        on = np.array([i for i in integer if names[i].startswith("generator.units_on")])
        h.changeColsIntegrality(
            len(on), on.astype(np.int32), np.full(len(on), highspy.HighsVarType.kContinuous)
        )
        integer = np.setdiff1d(integer, on).astype(np.int32)
    for item in filter(None, args.fix.split(",")):
        name, value = item.split("=")
        h.changeColBounds(col[name], float(value), float(value))
    lp = h.getLp()
    r = new()
    r.setOptionValue("user_objective_scale", scale)
    r.passModel(lp)
    r.changeColsIntegrality(
        len(integer), integer, np.full(len(integer), highspy.HighsVarType.kContinuous)
    )
    if args.relaxation_only:  # the LP relaxation alone, with the --opt options
        for item in args.opt:
            key, value = item.split("=")
            r.setOptionValue(key, option(value))
    before = cpu()
    r.run()
    x = np.asarray(r.getSolution().col_value)
    units = {n: round(x[col[n]], 3) for n in names if n.endswith("_units")}
    print(
        f"relaxation {costs @ x:.6e} JPY/yr, {r.modelStatusToString(r.getModelStatus())}, "
        f"CPU {cpu():.1f} s (its LP {cpu() - before:.1f} s), units {units}"
    )
    if args.relaxation_only:
        return
    start, upper = None, np.asarray(lp.col_upper_)[integer]
    for rounded in (np.ceil(x[integer] - 1e-6), np.round(x[integer])):
        fixed = np.minimum(rounded, upper)
        r.changeColsBounds(len(integer), integer, fixed, fixed)
        r.run()
        if r.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            start = np.asarray(r.getSolution().col_value)
            start[integer] = fixed
            break
    for item in args.opt:
        key, value = item.split("=")
        h.setOptionValue(key, option(value))
    points: list[tuple[float, float, float, float]] = []
    unscale = 2.0**-scale

    def callback(kind: int, message: str, out: object, into: object, data: object) -> None:
        bounds = (out.mip_primal_bound * unscale, out.mip_dual_bound * unscale)
        if not points or bounds != points[-1][2:]:
            points.append((time.perf_counter() - wall0, cpu(), *bounds))
        if cpu() > args.cpu:
            into.user_interrupt = True

    h.setCallback(callback, None)
    h.startCallback(highspy.cb.HighsCallbackType.kCallbackMipInterrupt)
    if start is not None:
        print(f"start {costs @ start:.6e} JPY/yr, CPU {cpu():.1f} s")
        point = highspy.HighsSolution()
        point.col_value = list(start)
        point.value_valid = True
        h.setSolution(point)
    h.run()
    for wall, spent, primal, dual in points:
        gap = (primal - dual) / abs(primal) if abs(primal) < math.inf else math.inf
        print(
            f"  wall {wall:7.1f} s CPU {spent:7.1f} s primal {primal:.6e} dual {dual:.6e} {gap:.3%}"
        )
    info = h.getInfo()
    x = np.asarray(h.getSolution().col_value)
    print(
        f"end: {h.modelStatusToString(h.getModelStatus())}, objective "
        f"{info.objective_function_value:.6e}, dual bound {info.mip_dual_bound:.6e}, gap "
        f"{info.mip_gap:.3%}, CPU {cpu():.1f} s, wall {time.perf_counter() - wall0:.1f} s, "
        f"load {os.getloadavg()[0]:.1f}; units "
        f"{ {n: round(x[col[n]], 3) for n in names if n.endswith('_units')} }"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out")
    d.add_argument("--steps", type=int, default=None)
    d.add_argument("--start", default=None)
    s = sub.add_parser("solve")
    s.add_argument("mps")
    s.add_argument("--cpu", type=float, default=60.0, help="CPU-second budget")
    s.add_argument("--wall", type=float, default=3600.0, help="HiGHS wall limit, s")
    s.add_argument("--relax-commit", action="store_true")
    s.add_argument("--fix", default="", help="COLUMN=VALUE,... fixed by name")
    s.add_argument("--opt", action="append", default=[], help="KEY=VALUE HiGHS option")
    s.add_argument("--relaxation-only", action="store_true", help="the LP relaxation, --opt on it")
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.out, args.steps, args.start)
    else:
        solve(args)


if __name__ == "__main__":
    main()
