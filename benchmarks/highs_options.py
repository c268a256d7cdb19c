"""HiGHS option sets and cost scaling on the example case's full-year LP, median of N runs.

Run from the repository root::

    python benchmarks/highs_options.py [--repeats 3] [--steps N] [--sets NAME ...]

The model is built and compiled once, as wattbit does (``create_model`` → ``compile_model``); each
run passes the same ``HighsLp`` to a fresh HiGHS instance (one thread, no log) with one option set
and times ``run()`` alone (wall and process CPU). Sets named ``costs_x…`` multiply the cost vector
in the LP itself (the objective is scaled back for the comparison). Every run must reach the
reference objective (the first set's) within 1e-6 relative, and is checked for an optimal status.
Runs are interleaved (repeat 1 of every set, then repeat 2, …) so that drifting machine load
spreads over all sets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CASE = ROOT / "cases" / "tokyo_substation_dc" / "case.toml"
REL_TOL = 1e-6
BASE: dict[str, object] = {"threads": 1, "output_flag": False, "time_limit": 600.0}

AUTO = "auto"  # user_objective_scale from the costs: see auto_objective_scale


def auto_objective_scale(costs) -> int:
    """The power of 2 that brings the largest |cost| into [8, 16), never scaling up."""
    import numpy as np

    largest = float(np.max(np.abs(costs), initial=0.0))
    if largest <= 16.0:
        return 0
    return -(int(np.ceil(np.log2(largest))) - 4)


# name → (HiGHS options, cost multiplier applied to the LP itself)
SETS: dict[str, tuple[dict[str, object], float]] = {
    "default (dual simplex)": ({}, 1.0),
    "primal simplex": ({"simplex_strategy": 4}, 1.0),
    "ipm + crossover": ({"solver": "ipm"}, 1.0),
    "ipm, no crossover": ({"solver": "ipm", "run_crossover": "off"}, 1.0),
    "presolve off": ({"presolve": "off"}, 1.0),
    "user_objective_scale -20": ({"user_objective_scale": -20}, 1.0),
    "user_objective_scale -10": ({"user_objective_scale": -10}, 1.0),
    "user_objective_scale -15": ({"user_objective_scale": -15}, 1.0),
    "user_objective_scale -18": ({"user_objective_scale": -18}, 1.0),
    "user_objective_scale -22": ({"user_objective_scale": -22}, 1.0),
    "user_objective_scale -25": ({"user_objective_scale": -25}, 1.0),
    "primal + user_objective_scale -20": (
        {"simplex_strategy": 4, "user_objective_scale": -20},
        1.0,
    ),
    "user_bound_scale -4": ({"user_bound_scale": -4}, 1.0),
    "costs_x1e-6 (JPY → MJPY)": ({}, 1e-6),
    "costs_x1e-6 + primal": ({"simplex_strategy": 4}, 1e-6),
    "simplex_scale_strategy 0 (off)": ({"simplex_scale_strategy": 0}, 1.0),
    "simplex_scale_strategy 4 (max value)": ({"simplex_scale_strategy": 4}, 1.0),
    "dual edge weights devex": ({"simplex_dual_edge_weight_strategy": 1}, 1.0),
    "user_objective_scale -5 (HiGHS's hint)": ({"user_objective_scale": -5}, 1.0),
    "simplex_scale_strategy 2 (equilibration)": ({"simplex_scale_strategy": 2}, 1.0),
    "simplex_scale_strategy 3 (forced equilibration)": ({"simplex_scale_strategy": 3}, 1.0),
    "scale 4 + user_objective_scale -20": (
        {"simplex_scale_strategy": 4, "user_objective_scale": -20},
        1.0,
    ),
    "scale 4 + primal": ({"simplex_scale_strategy": 4, "simplex_strategy": 4}, 1.0),
    "scale 4 + auto objective scale": (
        {"simplex_scale_strategy": 4, "user_objective_scale": AUTO},
        1.0,
    ),
    "scale 4 + presolve off": ({"simplex_scale_strategy": 4, "presolve": "off"}, 1.0),
    "scale 4 + auto objective scale + devex": (
        {
            "simplex_scale_strategy": 4,
            "user_objective_scale": AUTO,
            "simplex_dual_edge_weight_strategy": 1,
        },
        1.0,
    ),
}


def _compiled_lp(case: str, steps: int | None):
    from wattbit.case import load_case
    from wattbit.inputs import build_inputs
    from wattbit.model import create_model
    from wattbit.solve import compile_model

    ds = build_inputs(load_case(case, {"horizon.steps": steps} if steps else None))
    return compile_model(create_model(ds)).lp


def solve_once(lp, options: dict[str, object], cost_scale: float) -> dict:
    import highspy
    import numpy as np

    h = highspy._Highs()
    options = {
        k: auto_objective_scale(lp.col_cost_) if v == AUTO else v for k, v in options.items()
    }
    for key, value in {**BASE, **options}.items():
        if h.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            raise ValueError(f"HiGHS rejects option {key}={value!r}")
    h.passModel(lp)
    if cost_scale != 1.0:
        n = lp.num_col_
        costs = np.asarray(lp.col_cost_) * cost_scale
        h.changeColsCost(n, np.arange(n, dtype=np.int32), costs)
        h.changeObjectiveOffset(lp.offset_ * cost_scale)
    w0, c0 = time.perf_counter(), time.process_time()
    h.run()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    info = h.getInfo()
    return {
        "options": options,
        "status": h.modelStatusToString(h.getModelStatus()),
        "objective": info.objective_function_value / cost_scale,
        "wall": wall,
        "cpu": cpu,
        "simplex_iterations": info.simplex_iteration_count,
        "ipm_iterations": info.ipm_iteration_count,
        "max_primal_infeasibility": info.max_primal_infeasibility,
        "max_dual_infeasibility": info.max_dual_infeasibility,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default=str(DEFAULT_CASE))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--sets", nargs="+", default=list(SETS), metavar="NAME")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    unknown = set(args.sets) - set(SETS)
    if unknown:
        raise SystemExit(f"unknown sets {sorted(unknown)}; known: {list(SETS)}")

    lp = _compiled_lp(args.case, args.steps)
    print(f"LP: {lp.num_row_} rows × {lp.num_col_} columns, {len(lp.a_matrix_.value_)} nonzeros")
    solve_once(lp, {}, 1.0)  # untimed warm-up
    runs: dict[str, list[dict]] = {name: [] for name in args.sets}
    for r in range(args.repeats):
        for name in args.sets:
            options, scale = SETS[name]
            res = solve_once(lp, options, scale)
            res["loadavg_1min"] = os.getloadavg()[0]
            runs[name].append(res)
            print(
                f"repeat {r + 1}/{args.repeats} {name:38s} {res['wall']:7.2f} s wall "
                f"{res['cpu']:7.2f} s CPU  {res['status']:8s} {res['objective']:.6f}",
                flush=True,
            )

    ref = runs[args.sets[0]][0]["objective"]
    base_wall = statistics.median(r["wall"] for r in runs[args.sets[0]])
    base_cpu = statistics.median(r["cpu"] for r in runs[args.sets[0]])
    print()
    print(f"median of {args.repeats} runs of Highs.run(), seconds; ratio to '{args.sets[0]}'")
    head = ["option set", "wall", "CPU", "CPU ratio", "iterations", "status", "rel. obj. diff"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    failed = []
    for name, rs in runs.items():
        wall = statistics.median(r["wall"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        simplex = statistics.median(r["simplex_iterations"] for r in rs)
        ipm = statistics.median(r["ipm_iterations"] for r in rs)
        iters = f"{simplex:.0f}" + (f" (+{ipm:.0f} IPM)" if ipm else "")
        diff = max(abs(r["objective"] - ref) / abs(ref) for r in rs)
        statuses = sorted({r["status"] for r in rs})
        if diff > REL_TOL or statuses != ["Optimal"]:
            failed.append(name)
        print(
            f"| {name} | {wall:.2f} | {cpu:.2f} | {cpu / base_cpu:.2f} | {iters} | "
            f"{', '.join(statuses)} | {diff:.1e} |"
        )
    print(f"\nreference objective {ref:.6f}; base wall {base_wall:.2f} s, CPU {base_cpu:.2f} s")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    if failed:
        raise SystemExit(f"not optimal or objective off by > {REL_TOL:g}: {failed}")


if __name__ == "__main__":
    main()
