"""Pyomo → HiGHS hand-off paths, measured on the example case's full-year model.

Run from the repository root::

    python benchmarks/handoff_paths.py [--repeats 3] [--steps N] [--case CASE]

The same wattbit model (``wattbit.model.create_model``) goes to HiGHS through

* ``standard_form`` — wattbit's path: ``LinearStandardFormCompiler`` → ``HighsLp`` →
  ``Highs.passModel`` (``wattbit.solve.compile_model``), values back with ``load_values``;
* ``contrib_highs`` — ``pyomo.contrib.solver`` ``SolverFactory('highs')`` (the new interface,
  persistent, also what ``pyo.SolverFactory('highs')`` wraps in Pyomo 6.10);
* ``appsi_highs`` — ``pyomo.contrib.appsi.solvers.Highs`` (``pyo.SolverFactory('appsi_highs')``).

Each (path, repeat) runs in a fresh subprocess that first solves a 24-step cut of the case through
the same path, untimed (imports and first-call costs). Timed phases, cut by stamps taken just
before and just after ``Highs.run()``: hand-off = from the call with a built model until HiGHS
starts; solve = ``run()``; extract = from its end until the values are in the Pyomo variables.
Every path gets the same HiGHS options (one thread, no log) and must reach the same objective
(evaluated by Pyomo on the loaded values) within 1e-6 relative. Medians are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CASE = ROOT / "cases" / "tokyo_substation_dc" / "case.toml"
PATHS = ("standard_form", "contrib_highs", "appsi_highs")
PHASES = ("hand_off", "solve", "extract")
REL_TOL = 1e-6
WARM_UP_STEPS = 24
HIGHS_OPTIONS: dict[str, object] = {
    "output_flag": False,
    "presolve": "choose",
    "solver": "choose",
    "primal_feasibility_tolerance": 1e-7,
    "dual_feasibility_tolerance": 1e-7,
    "random_seed": 0,
}
THREADS = 1
TIME_LIMIT_S = 600.0


class Stamps:
    """Wall and CPU stamps; ``Highs.run`` is wrapped to stamp its start and end."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        self.wall[name] = time.perf_counter()
        self.cpu[name] = time.process_time()

    def phases(self) -> tuple[dict[str, float], dict[str, float]]:
        order = ("call", "run_start", "run_end", "done")
        out = []
        for s in (self.wall, self.cpu):
            out.append({p: s[b] - s[a] for p, a, b in zip(PHASES, order, order[1:], strict=False)})
        return out[0], out[1]


def _wrap_run(stamps: Stamps) -> None:
    import highspy

    base_run = highspy._Highs.run

    def run(self):
        stamps("run_start")
        try:
            return base_run(self)
        finally:
            stamps("run_end")

    highspy.Highs.run = run  # the Python class the Pyomo interfaces instantiate


def solve_standard_form(m, stamps: Stamps) -> dict:
    import numpy as np

    from wattbit.solve import SolverOptions, _new_highs, compile_model, load_values

    stamps("call")
    cm = compile_model(m)
    t_compiled = time.perf_counter()
    h = _new_highs(SolverOptions(threads=THREADS, time_limit_s=TIME_LIMIT_S))
    for key, value in HIGHS_OPTIONS.items():
        h.setOptionValue(key, value)
    h.passModel(cm.lp)
    stamps("run_start")
    h.run()
    stamps("run_end")
    load_values(m, cm, np.asarray(h.getSolution().col_value))
    stamps("done")
    return {
        "status": h.modelStatusToString(h.getModelStatus()),
        "compile_model_s": t_compiled - stamps.wall["call"],
        "pass_model_s": stamps.wall["run_start"] - t_compiled,
    }


def solve_contrib(m, stamps: Stamps) -> dict:
    from pyomo.contrib.solver.common.factory import SolverFactory

    opt = SolverFactory("highs")
    stamps("call")
    res = opt.solve(
        m,
        threads=THREADS,
        time_limit=TIME_LIMIT_S,
        solver_options=dict(HIGHS_OPTIONS),
        load_solutions=True,
    )
    stamps("done")
    return {"status": str(res.termination_condition)}


def solve_appsi(m, stamps: Stamps) -> dict:
    from pyomo.contrib.appsi.solvers import Highs

    opt = Highs()
    opt.config.time_limit = TIME_LIMIT_S
    opt.config.load_solution = True
    opt.highs_options = {"threads": THREADS, **HIGHS_OPTIONS}
    stamps("call")
    res = opt.solve(m)
    stamps("done")
    return {"status": str(res.termination_condition)}


SOLVERS = {
    "standard_form": solve_standard_form,
    "contrib_highs": solve_contrib,
    "appsi_highs": solve_appsi,
}


def run_path(path: str, case: str, steps: int | None) -> dict:
    import pyomo.environ as pyo

    from wattbit.case import load_case
    from wattbit.inputs import build_inputs
    from wattbit.model import create_model

    ds = build_inputs(load_case(case, {"horizon.steps": steps} if steps else None))
    t0 = time.perf_counter()
    m = create_model(ds)
    build_s = time.perf_counter() - t0
    stamps = Stamps()
    _wrap_run(stamps)
    info = SOLVERS[path](m, stamps)
    wall, cpu = stamps.phases()
    objective = next(m.component_data_objects(pyo.Objective, active=True))
    return {
        "path": path,
        **info,
        "objective": float(pyo.value(objective)),
        "build_s": build_s,
        "timings": wall,
        "cpu": cpu,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def _spawn(path: str, case: str, steps: int | None) -> dict:
    cmd = [sys.executable, __file__, "--worker", path, "--case", case]
    if steps:
        cmd += ["--steps", str(steps)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"{path} worker failed (exit {proc.returncode})")
    return json.loads(lines[-1][len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default=str(DEFAULT_CASE))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="cut the horizon (quick checks)")
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--worker", choices=PATHS, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=None, help="also write the raw runs here")
    args = parser.parse_args()
    if args.worker:
        run_path(args.worker, args.case, WARM_UP_STEPS)  # untimed warm-up
        print("RESULT " + json.dumps(run_path(args.worker, args.case, args.steps)))
        return

    runs: dict[str, list[dict]] = {p: [] for p in args.paths}
    for r in range(args.repeats):
        order = args.paths if r % 2 == 0 else args.paths[::-1]
        for path in order:
            load = os.getloadavg()[0]
            res = _spawn(path, args.case, args.steps)
            res["loadavg_1min_before"] = load
            runs[path].append(res)
            t = res["timings"]
            print(
                f"repeat {r + 1}/{args.repeats} {path:13s}: "
                + " ".join(f"{p} {t[p]:.2f}" for p in PHASES)
                + f" s, objective {res['objective']:.6f}, status {res['status']}, load avg {load:.2f}",
                flush=True,
            )

    ref = runs[args.paths[0]][0]["objective"]
    worst = max(abs(r["objective"] - ref) / abs(ref) for rs in runs.values() for r in rs)
    print()
    print(f"case: {args.case}  steps: {args.steps or 'full horizon'}  repeats: {args.repeats}")
    print(f"objective {ref:.6f} JPY/yr; worst relative difference {worst:.2e}")
    loads = [r["loadavg_1min_before"] for rs in runs.values() for r in rs]
    print(f"1-min load average before each run: {min(loads):.2f} … {max(loads):.2f}")
    print()
    print(f"median of {args.repeats} runs, seconds (wall; CPU in brackets)")
    head = ["path", "hand-off", "solve", "extract", "hand-off+extract", "total", "peak RSS MiB"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")

    def med(rs: list[dict], key: str, phases: tuple[str, ...]) -> float:
        return statistics.median(sum(r[key][p] for p in phases) for r in rs)

    for path, rs in runs.items():
        cells = [path]
        for phases in (("hand_off",), ("solve",), ("extract",), ("hand_off", "extract"), PHASES):
            cells.append(f"{med(rs, 'timings', phases):.3f} ({med(rs, 'cpu', phases):.3f})")
        cells.append(f"{statistics.median(r['peak_rss_mib'] for r in rs):.0f}")
        print("| " + " | ".join(cells) + " |")
    if "standard_form" in runs:
        rs = runs["standard_form"]
        print(
            "\nstandard_form hand-off = compile_model "
            f"{statistics.median(r['compile_model_s'] for r in rs):.3f} s + passModel "
            f"{statistics.median(r['pass_model_s'] for r in rs):.3f} s (median wall)"
        )
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    assert worst <= REL_TOL, f"objectives differ by {worst:.2e} relative (> {REL_TOL:g})"
    print(f"objectives agree within {REL_TOL:g} relative: OK")


if __name__ == "__main__":
    main()
