"""Type ③ time against K: the extensive form against the L-shaped method.

Run from the repository root::

    python benchmarks/type3_scaling.py [--steps N] [--start ISO] [--ks 1,2,4,8,16]
        [--repeats 3] [--case FILE] [--jobs 1] [--dask-local W] [--methods extensive,benders] [--json FILE]

For each K, ``cases/type3_substation`` (stratified sampling: every scenario holds a transformer
failure) is cut to ``--steps`` hours from ``--start`` (the whole series by default) and solved
by each method, alternating, ``--repeats`` times (the median wall and CPU seconds are reported;
CPU seconds count this process and its local workers, and stand for an idle machine's wall time
when the machine is shared): the extensive form
(:func:`wattbit.strategies.stochastic.solve_stochastic`) and the decomposition
(:func:`wattbit.strategies.benders.solve_scenarios`, on ``--jobs`` local processes or a Dask
LocalCluster of ``--dask-local`` workers; for K = 1 it is the extensive form: one LP). Both include build, HiGHS, extraction and verification;
``build_inputs`` is outside both. Printed per K and method: the median wall seconds, the phase
seconds of the median run (wall, and for the decomposition CPU: the main process's, and each
worker's summed for the ``scenario_*`` and ``subproblem_highs`` phases), the expected cost, and for the decomposition its iterations, cuts and
bounds' gap and its objective's relative difference to the extensive form's (the script stops
if it exceeds 1e-4); then, per method, the ratio of the largest K's time to K = 1's. The 1-minute
load average is printed before each solve, and the process's peak memory at the end (the Dask
workers' and local processes' memory is their own).

``--methods benders --ks 64 --dask-local 2`` is the K = 64 run on a Dask LocalCluster.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from wattbit.case import load_case  # noqa: E402 - after sys.path
from wattbit.inputs import build_inputs  # noqa: E402
from wattbit.optimise import options_from_case  # noqa: E402
from wattbit.strategies.benders import solve_scenarios  # noqa: E402
from wattbit.strategies.scenario_pool import ScenarioEngine  # noqa: E402
from wattbit.strategies.stochastic import solve_stochastic  # noqa: E402

CASE = REPO / "cases" / "type3_substation" / "case.toml"
TOLERANCE = 1e-4


def cpu_seconds() -> float:
    """CPU seconds of this process and its reaped children (the local workers are the
    forkserver's children: the decomposition reports their CPU as ``workers_cpu``)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def solve_once(method: str, inputs, options, engine: ScenarioEngine) -> dict:
    print(f"    load {os.getloadavg()[0]:.1f}", flush=True)
    t0, c0 = time.perf_counter(), cpu_seconds()
    if method == "extensive":
        run = solve_stochastic(inputs, options)
    else:
        run = solve_scenarios(inputs, options, "benders", engine)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    cpu += run.timings.get("workers_cpu", 0.0)  # local workers (forkserver's children)
    assert run.ok, run.solution.message
    attrs = run.results.attrs
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "phases_s": {k: round(v, 2) for k, v in run.timings.items() if not k.endswith("_cpu")},
        "phases_cpu_s": {
            k.removesuffix("_cpu"): round(v, 2)
            for k, v in run.timings.items()
            if k.endswith("_cpu")
        },
        "expected_cost_jpy": float(attrs["expected_cost_jpy"]),
        "iterations": int(attrs.get("benders_iterations", 0)),
        "cuts": int(attrs.get("benders_cuts", 0)),
        "gap": float(attrs.get("benders_gap", 0.0)),
        "verify_max_violation": float(attrs["verify_max_violation"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--start", default=None)
    parser.add_argument("--ks", default="1,2,4,8,16")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--case", type=Path, default=CASE)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--dask-local", type=int, default=None)
    parser.add_argument("--methods", default="extensive,benders")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    engine = ScenarioEngine(jobs=args.jobs, dask_local=args.dask_local)
    methods = args.methods.split(",")
    horizon = {"horizon.steps": args.steps} if args.steps else {}
    if args.start:
        horizon["horizon.start"] = args.start
    print(f"{args.case}, horizon {horizon or 'the whole series'}, engine {engine.label}")
    rows: dict[str, dict[int, dict]] = {m: {} for m in methods}
    for k in [int(x) for x in args.ks.split(",")]:
        loaded = load_case(args.case, {**horizon, "type3.scenarios": k})
        inputs, options = build_inputs(loaded), options_from_case(loaded)
        runs: dict[str, list[dict]] = {m: [] for m in methods}
        for _ in range(args.repeats):
            for m in methods:
                runs[m].append(solve_once(m, inputs, options, engine))
        for m in methods:
            ordered = sorted(runs[m], key=lambda r: r["wall_s"])
            median = ordered[len(ordered) // 2]
            median["median_wall_s"] = statistics.median(r["wall_s"] for r in runs[m])
            median["median_cpu_s"] = statistics.median(r["cpu_s"] for r in runs[m])
            rows[m][k] = median
            print(
                f"K={k:3d} {m:9s} {median['median_wall_s']:8.1f} s  CPU {median['median_cpu_s']:8.1f} s  "
                f"cost {median['expected_cost_jpy']:.6e}  iterations {median['iterations']}  "
                f"cuts {median['cuts']}  gap {median['gap']:.1e}  phases {median['phases_s']}"
                + (f"  CPU phases {median['phases_cpu_s']}" if median["phases_cpu_s"] else ""),
                flush=True,
            )
        if "extensive" in rows and "benders" in rows:
            e = rows["extensive"][k]["expected_cost_jpy"]
            rel = abs(rows["benders"][k]["expected_cost_jpy"] - e) / abs(e)
            rows["benders"][k]["relative_difference"] = rel
            print(f"K={k:3d} benders − extensive: {rel:.1e} relative", flush=True)
            if rel > TOLERANCE:
                raise SystemExit(
                    f"K={k}: the decomposition is {rel:.1e} away from the extensive form"
                )
    for m in methods:
        ks = sorted(rows[m])
        if len(ks) > 1 and ks[0] == 1:
            ratio = rows[m][ks[-1]]["median_wall_s"] / rows[m][1]["median_wall_s"]
            cpu = rows[m][ks[-1]]["median_cpu_s"] / rows[m][1]["median_cpu_s"]
            print(f"{m}: K={ks[-1]} / K=1 = {ratio:.1f}× wall, {cpu:.1f}× CPU")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MiB")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"args": vars(args) | {"json": str(args.json)}, "rows": rows}, indent=2, default=str
            )
        )


if __name__ == "__main__":
    main()
