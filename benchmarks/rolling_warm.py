"""Rolling horizon compiled once against every window built from scratch (issue #13, goal 3).

Run from the repository root::

    python benchmarks/rolling_warm.py [--case cases/type2_battery_wins/case.toml]
        [--steps N] [--start ISO] [--repeats 3] [--recourse rules|reoptimise] [--json FILE]

``type2_forecast`` of the case (its own forecast settings: windows of ``lookahead_h`` committing
``commit_h``), solved by :func:`wattbit.strategies.rolling.solve_rolling` with
``compiled_once=True`` (full-length windows on one :class:`~wattbit.strategies.windows.WindowModel`)
and ``False`` (every window built, compiled and handed to HiGHS), alternating, ``--repeats``
times in one process. ``build_inputs`` is outside both (identical).

Printed per repeat: the 1-minute load average, each path's wall seconds and phases (foresight
solve, windows, evaluation of the realised operation); for the compiled-once path the window
phases summed over the windows solved in place: ``compile_once`` (build, compile and measure the
map, once), ``update`` (map → LP data → HiGHS), ``highs`` (HiGHS's re-solves), ``extract``
(solution → plan Dataset), and ``cold`` (windows solved from scratch: the last one). Then the
medians: the per-window overhead ``(update + extract) / highs``, seconds per window of each
path's window loop, and the whole rolling horizon's ratio compiled-once / cold. Realised costs
must agree to 1e-9 relative (the script stops otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from wattbit.case import load_case  # noqa: E402 - after sys.path
from wattbit.inputs import build_inputs  # noqa: E402
from wattbit.optimise import options_from_case  # noqa: E402
from wattbit.strategies.rolling import solve_rolling  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--case", default=str(REPO / "cases" / "type2_battery_wins" / "case.toml"))
    p.add_argument("--steps", type=int, default=None, help="horizon steps (default: the case's)")
    p.add_argument("--start", default=None, help="horizon start (ISO, default: the case's)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--recourse", default="rules", choices=["rules", "reoptimise"])
    p.add_argument("--json", default=None, help="write the raw runs (phases per repeat) here")
    args = p.parse_args()
    overrides: dict = {"grid.mode": "type2_forecast", "grid.forecast.recourse": args.recourse}
    if args.steps:
        overrides["horizon.steps"] = args.steps
    if args.start:
        overrides["horizon.start"] = args.start
    loaded = load_case(Path(args.case), overrides)
    inputs, options = build_inputs(loaded), options_from_case(loaded)
    print(f"case {args.case}, {inputs.sizes['time']} steps, recourse {args.recourse}")

    walls: dict[bool, list[float]] = {True: [], False: []}
    per_window: dict[bool, list[float]] = {True: [], False: []}
    overhead: list[float] = []
    raw: list[dict] = []
    for repeat in range(args.repeats):
        print(f"repeat {repeat + 1}: load average {os.getloadavg()[0]:.1f}")
        costs = {}
        for once in (True, False):
            t0 = time.perf_counter()
            run = solve_rolling(inputs, options, compiled_once=once)
            wall = time.perf_counter() - t0
            assert run.ok, run.solution.message
            costs[once] = run.kpis["total_cost_jpy"]
            t = run.timings
            windows = run.results.attrs["rolling_windows"]
            walls[once].append(wall)
            raw.append({"repeat": repeat, "compiled_once": once, "wall_s": wall, **t})
            per_window[once].append(t["windows"] / windows)
            phases = ", ".join(f"{k} {v:.3f}" for k, v in t.items())
            label = "compiled once" if once else "from scratch "
            print(f"  {label}: {wall:7.2f} s, {windows} windows, {phases}")
            if once:
                own = t.get("window_update", 0.0) + t.get("window_extract", 0.0)
                highs = t.get("window_highs", 0.0)
                overhead.append(own / highs if highs else float("nan"))
                print(
                    f"    in place {run.results.attrs['rolling_windows_in_place']}: overhead "
                    f"(update + extract) {own:.3f} s vs HiGHS {highs:.3f} s = {overhead[-1]:.2f}×"
                )
        gap = abs(costs[True] - costs[False]) / abs(costs[False])
        assert gap <= 1e-9, f"realised costs differ by {gap:.2e} relative"
        print(f"  realised cost {costs[True]:.6e} JPY/yr both (relative difference {gap:.1e})")

    med = statistics.median
    print(
        f"median over {args.repeats}: overhead per in-place window {med(overhead):.2f}× its HiGHS "
        f"time; window loop {med(per_window[True]) * 1e3:.1f} ms/window compiled once vs "
        f"{med(per_window[False]) * 1e3:.1f} ms/window from scratch; whole rolling horizon "
        f"{med(walls[True]):.1f} s vs {med(walls[False]):.1f} s = "
        f"{med(walls[True]) / med(walls[False]):.2f}×"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
