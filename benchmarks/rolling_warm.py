"""Rolling horizon compiled once against every window built from scratch (issue #13, goal 3).

Run from the repository root::

    python benchmarks/rolling_warm.py [--case cases/type2_battery_wins/case.toml]
        [--steps N] [--start ISO] [--repeats 3] [--recourse rules|reoptimise] [--json FILE]

``type2_forecast`` of the case (its own forecast settings: windows of ``lookahead_h`` committing
``commit_h``), solved by :func:`wattbit.strategies.rolling.solve_rolling` with
``compiled_once=True`` (full-length windows on one :class:`~wattbit.strategies.windows.WindowModel`)
and ``False`` (every window built, compiled and handed to HiGHS), alternating, ``--repeats``
times in one process. ``build_inputs`` is outside both (identical).

**CPU seconds.** On a shared machine wall time counts the waits for a core; the CPU seconds of
this process do not (HiGHS runs on one thread). The script points the clock of
``wattbit.strategies.rolling`` and ``wattbit.strategies.windows`` at ``time.process_time``, so
every phase they report is CPU time, and it reads the CPU time of each whole rolling horizon
itself; the same script run on an older tree (``PYTHONPATH``) measures that tree the same way.

Printed per repeat: the 1-minute load average; per path the wall and CPU seconds of the whole
rolling horizon and its phases (foresight solve, windows, evaluation); for the compiled-once
path the CPU microseconds per window of each window phase: ``data`` (the window's arrays from the
horizon's, with the forecast), ``update`` (map → LP data → HiGHS), ``highs`` (HiGHS's re-solve),
``extract`` (solution → plan), ``realise`` (the recourse on the committed steps) — phases a tree
does not book separately are in ``rest`` (the window loop less the phases, ``compile_once``,
the cold windows, ``setup``: the horizon's arrays, and ``check``: the first two windows'
Datasets and checks) — and the overhead ratios (update + extract) / HiGHS and
(everything per window but HiGHS) / HiGHS. Then the medians over the repeats.

Realised costs are printed side by side. They need not agree to the last digits: a window LP can
have several optimal plans, a re-solve from the previous window's basis may end at another one
than a cold solve (same LP data, same optimal objective), and the realised operation of another
plan costs another amount. The script says when they differ by more than 1e-9 relative;
``--check-windows`` then solves every in-place window cold too and compares the optimal
objectives and the LP data (``tests/test_rolling_warm.py`` holds the realised equality on short
cuts).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import types
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from wattbit.case import load_case  # noqa: E402 - after sys.path
from wattbit.inputs import build_inputs  # noqa: E402
from wattbit.optimise import options_from_case  # noqa: E402
from wattbit.strategies import rolling, windows  # noqa: E402

PHASES = ("data", "update", "highs", "extract", "realise")
CPU_CLOCK = types.SimpleNamespace(perf_counter=time.process_time, process_time=time.process_time)


def per_window(t: dict[str, float], windows_run: int, in_place: int) -> dict[str, float]:
    """CPU microseconds per window of each phase, and the rest of the window loop."""
    out = {}
    for phase in PHASES:
        if f"window_{phase}" in t:
            n = t.get(f"window_{phase}_n", in_place)
            out[phase] = t[f"window_{phase}"] / n * 1e6
    booked = sum(
        t.get(f"window_{k}", 0.0) for k in (*PHASES, "setup", "compile_once", "cold", "check")
    )
    out["rest"] = (t["windows"] - booked) / windows_run * 1e6
    return out


def check_windows() -> dict[str, float]:
    """Make every in-place window (after the checked second) also be compiled and solved cold:
    ``worst_objective`` (the largest relative difference of the two optimal window objectives)
    and ``map_misses`` (windows whose LP data by the map differ from a cold compile)."""
    from wattbit.optimise import solve_inputs

    found = {"worst_objective": 0.0, "map_misses": 0, "windows": 0}
    in_place = rolling.Windows._in_place

    def checked(self: rolling.Windows, window: tuple) -> object:
        plan = in_place(self, window)
        if plan is not None and self.checked:
            start, stop, soc, backlog, issued, known = window
            ds = self.horizon.dataset(start, stop, soc, backlog, None, issued, known)
            cold = solve_inputs(ds, self.options).solution.objective
            warm = self.model._highs.getInfo().objective_function_value
            gap = abs(warm - cold) / max(1.0, abs(cold))
            found["worst_objective"] = max(found["worst_objective"], gap)
            found["map_misses"] += not self.model.check(ds, *self.horizon.arrays(*window))
            found["windows"] += 1
            self.model.usable = True  # a diagnosis: the run goes on as it would
        return plan

    rolling.Windows._in_place = checked
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--case", default=str(REPO / "cases" / "type2_battery_wins" / "case.toml"))
    p.add_argument("--steps", type=int, default=None, help="horizon steps (default: the case's)")
    p.add_argument("--start", default=None, help="horizon start (ISO, default: the case's)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--recourse", default="rules", choices=["rules", "reoptimise"])
    p.add_argument("--json", default=None, help="write the raw runs (phases per repeat) here")
    p.add_argument(
        "--check-windows",
        action="store_true",
        help="also solve every in-place window cold and compare (slow; no timings to read)",
    )
    args = p.parse_args()
    found = check_windows() if args.check_windows else None
    overrides: dict = {"grid.mode": "type2_forecast", "grid.forecast.recourse": args.recourse}
    if args.steps:
        overrides["horizon.steps"] = args.steps
    if args.start:
        overrides["horizon.start"] = args.start
    loaded = load_case(Path(args.case), overrides)
    inputs, options = build_inputs(loaded), options_from_case(loaded)
    rolling.time = windows.time = CPU_CLOCK  # phases in CPU seconds (module doc)
    print(f"case {args.case}, {inputs.sizes['time']} steps, recourse {args.recourse}")

    cpu: dict[bool, list[float]] = {True: [], False: []}
    loop: dict[bool, list[float]] = {True: [], False: []}
    split: list[dict[str, float]] = []
    raw: list[dict] = []
    for repeat in range(args.repeats):
        print(f"repeat {repeat + 1}: load average {os.getloadavg()[0]:.1f}")
        costs = {}
        for once in (True, False):
            t0, c0 = time.perf_counter(), time.process_time()
            run = rolling.solve_rolling(inputs, options, compiled_once=once)
            wall, used = time.perf_counter() - t0, time.process_time() - c0
            assert run.ok, run.solution.message
            costs[once] = run.kpis["total_cost_jpy"]
            t, attrs = run.timings, run.results.attrs
            n, warm = attrs["rolling_windows"], attrs["rolling_windows_in_place"]
            cpu[once].append(used)
            loop[once].append(t["windows"] / n * 1e3)
            raw.append(
                {"repeat": repeat, "compiled_once": once, "wall_s": wall, "cpu_s": used, **t}
            )
            label = "compiled once" if once else "from scratch "
            phases = ", ".join(f"{k} {t[k]:.2f}" for k in ("foresight", "windows", "evaluate"))
            print(
                f"  {label}: wall {wall:6.2f} s, CPU {used:6.2f} s ({phases} s CPU); "
                f"{n} windows, {warm} in place, window loop {loop[once][-1]:.2f} ms CPU/window"
            )
            if once:
                us = per_window(t, n, warm)
                split.append(us)
                own = sum(us.get(k, 0.0) for k in ("update", "extract"))
                rest = sum(v for k, v in us.items() if k != "highs")
                print(
                    "    CPU µs per window: "
                    + ", ".join(f"{k} {v:.0f}" for k, v in us.items())
                    + f"; compile once {t.get('window_compile_once', 0.0):.2f} s; "
                    f"(update + extract) / HiGHS {own / us['highs']:.2f}, "
                    f"all but HiGHS / HiGHS {rest / us['highs']:.2f}"
                )
        gap = abs(costs[True] - costs[False]) / abs(costs[False])
        print(
            f"  realised cost {costs[True]:.6e} vs {costs[False]:.6e} JPY/yr (relative difference "
            f"{gap:.1e}{'' if gap <= 1e-9 else ': above 1e-9, another optimal plan (module doc)'})"
        )

    med = statistics.median
    us = {k: med(s[k] for s in split) for k in split[0]}
    own = us.get("update", 0.0) + us.get("extract", 0.0)
    rest = sum(v for k, v in us.items() if k != "highs")
    print(
        f"median over {args.repeats} (CPU): per in-place window "
        + ", ".join(f"{k} {v:.0f} µs" for k, v in us.items())
        + f"; (update + extract) / HiGHS {own / us['highs']:.2f}, "
        f"all but HiGHS / HiGHS {rest / us['highs']:.2f}; window loop "
        f"{med(loop[True]):.2f} vs {med(loop[False]):.2f} ms/window; whole rolling horizon "
        f"{med(cpu[True]):.2f} s vs {med(cpu[False]):.2f} s = {med(cpu[True]) / med(cpu[False]):.2f}×"
    )
    if found is not None:
        print(
            f"checked {found['windows']} in-place windows against cold solves: optimal objectives "
            f"differ by at most {found['worst_objective']:.1e} relative, the map's LP data missed "
            f"a cold compile in {found['map_misses']}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
