"""MILP goals of issue #17: time and gap of the two reference MILPs, median of N runs.

Run from the repository root::

    python benchmarks/milp.py [--repeats 3] [--steps N] [--only example|type3] [--json FILE]

* ``example``: the full-year example (``cases/tokyo_substation_dc``) with the battery in units
  (2.5 MW PCS blocks, 5 MWh containers at 1 MJPY/yr each), PV in 0.5 MW arrays and a committable
  generator (2.5 MW gensets, 30 % minimum load, 50 000 JPY a start, 2 h minimum up time) that may
  run all year (``run_outside_events``), solved to a 0.1 % gap. Goal: ≤ 60 s.
* ``type3``: the type ③ reference case (``cases/type3_substation``, K = 4) with the generator in
  2.5 MW gensets (30 % minimum load, 50 000 JPY a start, 1 h minimum up time, N+1), solved to a
  0.5 % gap. Goal: ≤ 5 min.

Each run goes through the whole pipeline (``wattbit.strategies.solve_case``: inputs, build,
hand-off, HiGHS, extract, verify) and must end verified. Printed per run: wall seconds of the
whole solve and of HiGHS alone, the MIP gap HiGHS reports, the objective and the integer columns;
and once per problem the LP (the same case with continuous sizes and no commitment) for the price
of integrality. The 1-minute load average before each run is printed: on a shared machine wall
time includes waiting for a core.
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

GENSET = {
    "generator.min_load_fraction": 0.3,
    "generator.start_cost_jpy": 50_000.0,
}
PROBLEMS: dict[str, dict[str, object]] = {
    "example": {
        "case": ROOT / "cases" / "tokyo_substation_dc" / "case.toml",
        "gap": 1e-3,
        "goal_s": 60.0,
        "units": {
            "battery.power_mw": {"min": 0.0, "max": 50.0, "unit": 2.5},
            "battery.energy_mwh": {
                "min": 0.0,
                "max": 300.0,
                "unit": 5.0,
                "unit_cost_jpy_per_year": 1_000_000.0,
            },
            "pv.capacity_mw": {"min": 0.0, "max": 5.0, "unit": 0.5},
            "generator.power_mw": {"min": 0.0, "max": 20.0, "unit": 2.5},
            **GENSET,
            "generator.min_up_h": 2.0,
        },
        "continuous": {"generator.power_mw": {"min": 0.0, "max": 20.0}},
        "common": {
            "generator.run_outside_events": True,
            "generator.capex_jpy_per_kw": 120_000.0,
            "generator.om_jpy_per_kw_year": 1_500.0,
            "generator.max_run_h_per_event": None,
        },
    },
    "type3": {
        "case": ROOT / "cases" / "type3_substation" / "case.toml",
        "gap": 5e-3,
        "goal_s": 300.0,
        "units": {
            "generator.power_mw": {"min": 0.0, "max": 100.0, "unit": 2.5},
            **GENSET,
            "generator.min_up_h": 1.0,
            "generator.redundant_units": 1,
        },
        "continuous": {},
        "common": {"type3.out_of_sample_years": 0},
    },
}


def load_average() -> float:
    return os.getloadavg()[0]


def trajectory(progress: list, relaxation_bound: float | None) -> list[dict[str, float]]:
    """The solve's bound points (``Solution.progress``), each with HiGHS's own gap (``gap``) and
    the gap against the best bound known (``best_gap``: the relaxation's bound holds throughout)."""
    rows = []
    for p in progress:
        dual = max(p.dual, relaxation_bound) if relaxation_bound is not None else p.dual
        best = (p.primal - dual) / abs(p.primal) if abs(p.primal) < float("inf") else float("inf")
        rows.append(
            {"wall_s": p.wall_s, "cpu_s": p.cpu_s, "primal": p.primal, "dual": p.dual}
            | {"gap": p.gap, "best_gap": best}
        )
    return rows


def first_at(points: list[dict[str, float]], gap: float, key: str) -> float | None:
    """CPU seconds at which the trajectory first reached ``gap`` (by ``key``), None if never."""
    return next((round(p["cpu_s"], 1) for p in points if p[key] <= gap), None)


def show(points: list[dict[str, float]], every_cpu_s: float = 10.0) -> str:
    """The trajectory in short: the first and last points, each new primal bound, and a point
    at least every ``every_cpu_s`` CPU seconds."""
    lines, last_cpu, last_primal = [], -float("inf"), None
    for i, p in enumerate(points):
        if (
            i in (0, len(points) - 1)
            or p["primal"] != last_primal
            or p["cpu_s"] >= last_cpu + every_cpu_s
        ):
            lines.append(
                f"    wall {p['wall_s']:7.1f} s  CPU {p['cpu_s']:7.1f} s  primal {p['primal']:.7g}  "
                f"dual {p['dual']:.7g}  gap {p['gap']:.3%} (best bound {p['best_gap']:.3%})"
            )
            last_cpu = p["cpu_s"]
        last_primal = p["primal"]
    return "\n".join(lines)


def solve_once(
    name: str,
    integer: bool,
    steps: int | None,
    time_limit_s: float | None = None,
    start: str | None = None,
    extra: dict[str, object] | None = None,
    **solver: object,
) -> dict[str, object]:
    from wattbit.case import load_case
    from wattbit.inputs import build_inputs
    from wattbit.solve import SolverOptions
    from wattbit.strategies import solve_case
    from wattbit.strategies.stochastic import solve_stochastic

    spec = PROBLEMS[name]
    overrides: dict[str, object] = dict(spec["common"])
    overrides.update(spec["units"] if integer else spec["continuous"])
    if steps:
        overrides["horizon.steps"] = steps
    if start:
        overrides["horizon.start"] = start
    overrides.update(extra or {})
    overrides = {k: v for k, v in overrides.items() if v is not None}
    gap = float(spec["gap"]) if integer else 1e-4
    limit = time_limit_s or 60 * float(spec["goal_s"])  # a safety net: CPU is the limit
    load = load_average()
    t0, c0 = time.perf_counter(), time.process_time()
    loaded = load_case(spec["case"], overrides)
    options = SolverOptions(time_limit_s=limit, mip_gap=gap, **solver)
    if loaded.case.grid.mode == "type3_n1":  # K scenarios: the stochastic problem
        run = solve_stochastic(build_inputs(loaded), options)
    else:
        run = solve_case(loaded, options)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    res = run.results
    out: dict[str, object] = {
        "problem": name,
        "integer": integer,
        "load_1min": load,
        "wall_s": wall,
        "cpu_s": cpu,
        "highs_s": run.timings.get("solve", float("nan")),
        "highs_cpu_s": run.timings.get("highs_cpu", float("nan")),
        "status": run.solution.status,
        "message": run.solution.message,
        "mip_gap": float(run.solution.mip_gap or 0.0),
        "objective_jpy": float(run.solution.objective or float("nan")),
        "verified": bool(run.verification and run.verification.ok),
        "load_1min_after": load_average(),
    }
    if run.solution.progress:
        first = run.solution.progress[0]  # the rounded relaxation's point when there is one
        bound = first.dual if options.mip_start else None
        points = trajectory(run.solution.progress, bound)
        out["trajectory"] = points
        out["highs_gap"] = points[-1]["gap"]
        out["cpu_to_goal_gap_s"] = first_at(points, gap, "best_gap")
        out["cpu_to_goal_gap_highs_s"] = first_at(points, gap, "gap")
    if res is not None:
        out["sizes"] = {
            n: float(res[n].mean())
            for n in (
                "battery_power_mw",
                "battery_energy_mwh",
                "pv_capacity_mw",
                "generator_power_mw",
            )
            if n in res
        }
        if "generator_units_on" in res:
            u = res["generator_units_on"].values
            out["generator_steps_on"] = int((u > 0.5).sum())
            out["generator_starts"] = round(float(res["generator_starts"].values.sum()))  # integral
    return out


def set_highs_options(options: dict[str, object]) -> None:
    """Every HiGHS instance of the solves gets ``options`` too (``--highs``, to compare them)."""
    import wattbit.solve as solve

    new_highs = solve._new_highs

    def with_options(*args: object, **kwargs: object) -> object:
        h = new_highs(*args, **kwargs)
        for key, value in options.items():
            h.setOptionValue(key, value)
        return h

    solve._new_highs = with_options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument(
        "--start", default=None, help="horizon start, e.g. 2025-12-01T00:00:00+09:00"
    )
    parser.add_argument("--only", choices=sorted(PROBLEMS), nargs="*", default=sorted(PROBLEMS))
    parser.add_argument("--no-lp", action="store_true", help="skip the LP reference")
    parser.add_argument(
        "--time-limit", type=float, default=None, help="HiGHS wall limit, s (60 × the goal)"
    )
    parser.add_argument(
        "--cpu-limit", type=float, default=None, help="HiGHS CPU limit, s (the goal's seconds)"
    )
    parser.add_argument(
        "--no-mip-start", action="store_true", help="without the rounded LP relaxation as start"
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--set", action="append", default=[], help="KEY=VALUE case override (VALUE as JSON)"
    )
    parser.add_argument(
        "--highs", action="append", default=[], help="KEY=VALUE HiGHS option (VALUE as JSON)"
    )
    args = parser.parse_args()
    extra, highs = {}, {}
    for items, into in ((args.set, extra), (args.highs, highs)):
        for item in items:
            key, _, value = item.partition("=")
            try:
                into[key] = json.loads(value)
            except json.JSONDecodeError:
                into[key] = value
    if highs:
        set_highs_options(highs)
    rows = []
    for name in args.only:
        spec = PROBLEMS[name]
        if not args.no_lp:
            lp = solve_once(name, False, args.steps, None, args.start, extra)
            rows.append(lp)
            print(
                f"{name} LP: {lp['wall_s']:.1f} s (CPU {lp['cpu_s']:.1f} s, "
                f"HiGHS {lp['highs_s']:.1f} s), "
                f"objective {lp['objective_jpy']:.6g} JPY/yr, sizes {lp.get('sizes')}, "
                f"load {lp['load_1min']:.1f}",
                flush=True,
            )
        runs = []
        for i in range(args.repeats):
            r = solve_once(
                name,
                True,
                args.steps,
                args.time_limit,
                args.start,
                extra,
                mip_start=not args.no_mip_start,
                cpu_limit_s=args.cpu_limit or float(spec["goal_s"]),
            )
            runs.append(r)
            rows.append(r)
            print(
                f"{name} MILP run {i + 1}: {r['status']}, gap {r['mip_gap']:.3%} "
                f"(HiGHS's own dual bound: {r.get('highs_gap', float('nan')):.3%}), "
                f"{r['wall_s']:.1f} s (CPU {r['cpu_s']:.1f} s; HiGHS {r['highs_s']:.1f} s, "
                f"CPU {r['highs_cpu_s']:.1f} s), objective {r['objective_jpy']:.7g}, "
                f"verified {r['verified']}, sizes {r.get('sizes')}, "
                f"gensets on {r.get('generator_steps_on')} steps, "
                f"{r.get('generator_starts')} starts, load {r['load_1min']:.1f} -> "
                f"{r['load_1min_after']:.1f}; {r['message']}\n"
                f"  goal gap {float(spec['gap']):.1%} first reached at CPU "
                f"{r.get('cpu_to_goal_gap_s')} s (HiGHS's own bound: "
                f"{r.get('cpu_to_goal_gap_highs_s')} s); trajectory:\n"
                + show(r.get("trajectory", [])),
                flush=True,
            )
        wall = statistics.median(float(r["wall_s"]) for r in runs)
        cpu = statistics.median(float(r["highs_cpu_s"]) for r in runs)
        gap = statistics.median(float(r["mip_gap"]) for r in runs)
        ok = all(r["verified"] for r in runs)
        print(
            f"{name} MILP median of {len(runs)}: {wall:.1f} s wall, HiGHS CPU {cpu:.1f} s, gap "
            f"{gap:.3%} (goal ≤ {spec['goal_s']:.0f} s at {float(spec['gap']):.1%}), verified {ok}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main()
