"""Warm re-solves against cold solves: each breakeven step and each cost-only sweep point.

Run from the repository root::

    python benchmarks/warm_resolve.py [--steps N] [--repeats 3] [--points 16] [--json FILE]

Two sequences of the same LP with one cost changed, each solved twice per repeat, warm and cold,
alternating at every step, in one process:

* ``breakeven``: the battery prices the ``vs_load_following`` bisection of
  ``cases/type2_battery_wins`` under ``type2_dynamic`` evaluates (battery-shaped strategy), in
  its own order (found once by running the breakeven, untimed);
* ``sweep``: ``--points`` battery energy prices (10 000 JPY/kWh apart from 10 000) of the example
  case ``cases/tokyo_substation_dc``, as one sweep worker holding every cost-only point would
  solve them.

Warm is :func:`wattbit.warm.solve_warm` on the model kept from the previous step; cold is
:func:`wattbit.optimise.solve_inputs`. Both include extraction and verification; ``build_inputs``
is outside both (identical). The first step of each sequence builds the warm model (a cold solve
through the warm path). Printed per step: the median over repeats of warm and cold wall seconds,
their ratio, and HiGHS's own seconds in each; then phase totals, the median ratio over the steps
after the first, and the whole sequence's ratio. Objectives must agree to 1e-9 relative (the
script stops otherwise). Peak memory is the process's ``ru_maxrss`` after each sequence (both
paths in one process); the 1-minute load average is printed before each repeat.
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
from wattbit.optimise import add_timings, options_from_case, solve_inputs  # noqa: E402
from wattbit.studies.breakeven import PriceSolves, vs_load_following  # noqa: E402
from wattbit.studies.cells import apply_strategy  # noqa: E402
from wattbit.warm import solve_warm  # noqa: E402

PRICE = "battery.energy_capex_jpy_per_kwh"
BREAKEVEN_CASE = REPO / "cases" / "type2_battery_wins" / "case.toml"
SWEEP_CASE = REPO / "cases" / "tokyo_substation_dc" / "case.toml"
MODE = "type2_dynamic"


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def breakeven_prices(steps: dict) -> list[float]:
    """The prices the battery-shaped breakeven evaluates, in its order (cached solves' keys)."""
    solves = PriceSolves(BREAKEVEN_CASE, steps)
    vs_load_following(solves, MODE)
    return [
        solves.case_price if price is None else price
        for strategy, _, price in solves._runs
        if strategy == "battery_shaped"
    ]


def sequence(case: Path, overrides: dict, strategy: str | None, prices: list[float]) -> list:
    """One pass: per price, (warm s, cold s, warm timings, cold timings)."""
    rows, warm = [], None
    for price in prices:
        loaded = load_case(case, {**overrides, PRICE: price})
        inputs = build_inputs(loaded)
        if strategy is not None:
            inputs = apply_strategy(inputs, strategy, loaded.file)
        options = options_from_case(loaded)
        t0 = time.perf_counter()
        run, warm = solve_warm(warm, inputs, options)
        t1 = time.perf_counter()
        cold = solve_inputs(inputs, options)
        t2 = time.perf_counter()
        a, b = run.solution.objective, cold.solution.objective
        if abs(a - b) > 1e-9 * abs(b):
            sys.exit(f"objectives differ at {price}: warm {a!r}, cold {b!r}")
        rows.append((t1 - t0, t2 - t1, run.timings, cold.timings))
    return rows


def report(name: str, passes: list[list], prices: list[float]) -> dict:
    print(f"\n## {name}: {len(prices)} steps, median of {len(passes)} passes")
    print(
        "| step | price (JPY/kWh) | warm (s) | cold (s) | warm/cold | HiGHS warm (s) | HiGHS cold (s) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    ratios, warm_total, cold_total = [], [], []
    phases_w: dict[str, float] = {}
    phases_c: dict[str, float] = {}
    for i, price in enumerate(prices):
        w = statistics.median(p[i][0] for p in passes)
        c = statistics.median(p[i][1] for p in passes)
        hw = statistics.median(p[i][2].get("solve", 0.0) for p in passes)
        hc = statistics.median(p[i][3].get("solve", 0.0) for p in passes)
        if i:
            ratios.append(w / c)
        print(f"| {i + 1} | {price:,.0f} | {w:.2f} | {c:.2f} | {w / c:.2f} | {hw:.2f} | {hc:.2f} |")
    for p in passes:
        warm_total.append(sum(r[0] for r in p))
        cold_total.append(sum(r[1] for r in p))
    for r in passes[len(passes) // 2]:
        add_timings(phases_w, r[2])
        add_timings(phases_c, r[3])
    summary = {
        "median_step_ratio_after_first": statistics.median(ratios) if ratios else None,
        "max_step_ratio_after_first": max(ratios) if ratios else None,
        "sequence_warm_s": statistics.median(warm_total),
        "sequence_cold_s": statistics.median(cold_total),
        "phases_warm_s": phases_w,
        "phases_cold_s": phases_c,
        "peak_rss_mib": _rss_mib(),
    }
    print(
        f"\nwarm/cold per step after the first: median {summary['median_step_ratio_after_first']:.3f},"
        f" max {summary['max_step_ratio_after_first']:.3f}; whole sequence"
        f" {summary['sequence_warm_s']:.1f} s / {summary['sequence_cold_s']:.1f} s ="
        f" {summary['sequence_warm_s'] / summary['sequence_cold_s']:.3f}"
    )
    print("phases (s, median pass), warm:", {k: round(v, 2) for k, v in phases_w.items()})
    print("phases (s, median pass), cold:", {k: round(v, 2) for k, v in phases_c.items()})
    print(f"peak RSS of this process so far: {summary['peak_rss_mib']:.0f} MiB")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=None, help="cut the horizon (default: all)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--points", type=int, default=16, help="sweep prices")
    parser.add_argument("--only", choices=["breakeven", "sweep"], default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    cut = {} if args.steps is None else {"horizon.steps": args.steps}
    print(f"cpus {os.cpu_count()}, steps {args.steps or 'all'}, repeats {args.repeats}")
    out = {}
    todo = [args.only] if args.only else ["breakeven", "sweep"]
    if "breakeven" in todo:
        prices = breakeven_prices(cut)
        overrides = {**cut, "grid.mode": MODE}
        passes = []
        for r in range(args.repeats):
            print(f"breakeven pass {r + 1}: load average {os.getloadavg()[0]:.1f}", flush=True)
            passes.append(sequence(BREAKEVEN_CASE, overrides, "battery_shaped", prices))
        out["breakeven"] = report("breakeven (type2_battery_wins)", passes, prices)
    if "sweep" in todo:
        prices = [10_000.0 * (i + 1) for i in range(args.points)]
        passes = []
        for r in range(args.repeats):
            print(f"sweep pass {r + 1}: load average {os.getloadavg()[0]:.1f}", flush=True)
            passes.append(sequence(SWEEP_CASE, cut, None, prices))
        out["sweep"] = report("cost-only sweep (tokyo_substation_dc)", passes, prices)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
