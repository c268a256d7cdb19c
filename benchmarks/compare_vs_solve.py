"""Whole ``wattbit compare`` against one cold ``wattbit solve`` of the same case (issue #13 goal 1).

Run from the repository root::

    python benchmarks/compare_vs_solve.py [--repeats 3] [--steps N] [--jobs 2] [--check-cold]
        [--json FILE]

Each repeat runs, as whole commands in fresh processes, one after the other:

* ``wattbit solve cases/type2_battery_wins/case.toml --set grid.mode=type2_dynamic``;
* ``wattbit compare cases/type2_battery_wins/case.toml`` (every cell, the rolling-horizon cells
  and the breakeven, as a user runs it).

Printed per repeat: wall seconds of each, their ratio, each process's peak memory and CPU seconds
(user + system, from ``/usr/bin/time``; on a loaded machine the CPU ratio is the one to read),
and the compare's phases, cut by the time stamps of its
progress notes on stderr (``solving <strategy> × <mode>``, ``breakeven …``; the last phase ends
at its first line on stdout); then the medians. The 1-minute load average is printed before each
repeat. ``--steps N`` cuts the horizon (both commands) for a quick run. ``--jobs 2`` runs
``wattbit compare --jobs 2`` (the cells of the modes without a breakeven in a second process):
its phases are then this process's, the second process's cells show as "waiting", its CPU
seconds are in the compare's (a child the command waits for) and the peak memory is that of the
larger of the two processes, not their sum.

Results: the cell ``battery_shaped × type2_dynamic`` is the LP ``wattbit solve`` solves cold
(the case has no deferrable work), so its ``total_cost_jpy`` in ``compare.json`` must equal the
solve's to 1e-9 relative (the script exits 1 otherwise). ``--check-cold`` also solves every cell
of the modes solved as one optimisation cold in this process, one by one
(:func:`wattbit.strategies.solve` on fresh inputs, no warm model), and compares each cell's total
cost (1e-9 relative) and sizes (1e-6).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CASE = REPO / "cases" / "type2_battery_wins" / "case.toml"
WATTBIT = Path(sys.executable).with_name("wattbit")
TIME = Path("/usr/bin/time")
RTOL = 1e-9


def timed(
    args: list[str], out: Path
) -> tuple[float, float | None, float | None, list[tuple[float, str]], str]:
    """Run a command: (wall s, peak MiB, CPU s (user + system; None without /usr/bin/time),
    [(seconds since start, stderr line)], stdout). stdout's first line is stamped too (the end
    of the last phase)."""
    mem = out / "maxrss"
    cmd = [str(WATTBIT), *args]
    if TIME.exists():
        cmd = [str(TIME), "-f", "%M %U %S", "-o", str(mem), *cmd]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    stamps: list[tuple[float, str]] = []
    stdout: list[str] = []
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "out")
    sel.register(proc.stderr, selectors.EVENT_READ, "err")
    open_streams = 2
    while open_streams:
        for key, _ in sel.select():
            line = key.fileobj.readline()
            if not line:
                sel.unregister(key.fileobj)
                open_streams -= 1
                continue
            if key.data == "err":
                stamps.append((time.perf_counter() - t0, line.strip()))
            else:
                if not stdout:
                    stamps.append((time.perf_counter() - t0, "<stdout>"))
                stdout.append(line)
    code = proc.wait()
    wall = time.perf_counter() - t0
    if code != 0:
        sys.exit(f"{' '.join(args)}: exit {code}\n{''.join(stdout)[-2000:]}")
    if not mem.exists():
        return wall, None, None, stamps, "".join(stdout)
    peak_kib, user, system = (float(v) for v in mem.read_text().split()[-3:])
    return wall, peak_kib / 1024.0, user + system, stamps, "".join(stdout)


def phases(stamps: list[tuple[float, str]]) -> dict[str, float]:
    """Seconds per phase of a compare: one-optimisation cells, rolling-horizon cells, breakeven,
    from each progress note to the next (the last to the first line on stdout)."""
    found: dict[str, float] = {}
    kinds = ("solving", "breakeven", "waiting", "<stdout>")
    notes = [(t, s) for t, s in stamps if s.startswith(kinds)]
    for (t, note), (t_next, _) in itertools.pairwise(notes):
        if note.startswith("breakeven"):
            name = "breakeven"
        elif note.startswith("waiting"):
            name = "waiting for the second process"
        elif "type2_forecast" in note:
            name = "cells: rolling horizon"
        elif note.startswith("solving"):
            name = "cells: one optimisation"
        else:
            continue
        found[name] = found.get(name, 0.0) + t_next - t
    if notes:
        found["start-up (before the first cell)"] = notes[0][0]
    return found


def check_cold(compare_json: Path, overrides: dict[str, object]) -> int:
    """Solve every one-optimisation cell cold here and compare with compare.json; the count."""
    from wattbit.case import load_case
    from wattbit.inputs import build_inputs
    from wattbit.optimise import options_from_case
    from wattbit.strategies import one_optimisation, solve
    from wattbit.studies.cells import apply_strategy

    cells = json.loads(compare_json.read_text())["cells"]
    checked = 0
    for row in cells:
        loaded = load_case(CASE, {**overrides, "grid.mode": row["mode"]})
        inputs = apply_strategy(build_inputs(loaded), row["strategy"], loaded.file)
        if row["mode"] == "type2_forecast" or not one_optimisation(inputs):
            continue
        cold = solve(inputs, options_from_case(loaded)).kpis
        rel = abs(cold["total_cost_jpy"] - row["total_cost_jpy"]) / abs(cold["total_cost_jpy"])
        sizes = [k for k in ("battery_power_mw", "battery_energy_mwh") if k in cold]
        worst = max((abs(cold[k] - row[k]) for k in sizes), default=0.0)
        print(f"  cold check {row['strategy']} × {row['mode']}: rel {rel:.1e}, sizes {worst:.1e}")
        if rel > RTOL or worst > 1e-6:
            sys.exit("compare's cell differs from its cold solve")
        checked += 1
    return checked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="cut the horizon (quick run)")
    parser.add_argument("--jobs", type=int, default=1, help="wattbit compare --jobs")
    parser.add_argument("--check-cold", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sets = [] if args.steps is None else ["--set", f"horizon.steps={args.steps}"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            load = os.getloadavg()[0]
            print(f"repeat {repeat + 1}: load average {load:.1f}")
            solve_out, compare_out = Path(tmp) / f"solve{repeat}", Path(tmp) / f"cmp{repeat}"
            solve_out.mkdir()
            compare_out.mkdir()
            solve_args = ["solve", str(CASE), *sets, "--set", "grid.mode=type2_dynamic"]
            s_wall, s_mem, s_cpu, _, _ = timed([*solve_args, "--out", str(solve_out)], solve_out)
            c_args = [
                "compare",
                str(CASE),
                *sets,
                "--jobs",
                str(args.jobs),
                "--out",
                str(compare_out),
            ]
            c_wall, c_mem, c_cpu, stamps, _ = timed(c_args, compare_out)
            solve_total = json.loads((solve_out / "kpis.json").read_text())["kpis"][
                "total_cost_jpy"
            ]
            cells = json.loads((compare_out / "compare.json").read_text())["cells"]
            cell = next(
                c
                for c in cells
                if (c["strategy"], c["mode"]) == ("battery_shaped", "type2_dynamic")
            )
            rel = abs(cell["total_cost_jpy"] - solve_total) / abs(solve_total)
            row = {
                "solve_s": s_wall,
                "compare_s": c_wall,
                "ratio": c_wall / s_wall,
                "solve_cpu_s": s_cpu,
                "compare_cpu_s": c_cpu,
                "cpu_ratio": c_cpu / s_cpu if c_cpu and s_cpu else None,
                "solve_peak_mib": s_mem,
                "compare_peak_mib": c_mem,
                "phases_s": phases(stamps),
                "cell_vs_solve_rel": rel,
                "load_start": load,
            }
            rows.append(row)
            mem = f"peak {s_mem or float('nan'):.0f} / {c_mem or float('nan'):.0f} MiB"
            print(
                f"  solve {s_wall:.1f} s, compare {c_wall:.1f} s, ratio {row['ratio']:.2f}; {mem}; "
                f"battery_shaped × type2_dynamic vs solve: rel {rel:.1e}"
            )
            if row["cpu_ratio"] is not None:
                print(
                    f"  CPU: solve {s_cpu:.1f} s, compare {c_cpu:.1f} s, ratio {row['cpu_ratio']:.2f}"
                )
            row["load_end"] = os.getloadavg()[0]
            print(f"  load average at the end {row['load_end']:.1f}")
            for name, seconds in row["phases_s"].items():
                print(f"    {name}: {seconds:.1f} s")
            if rel > RTOL:
                sys.exit("the compare cell differs from the cold solve")
            if args.check_cold and repeat == 0:
                overrides = {} if args.steps is None else {"horizon.steps": args.steps}
                print(f"  cold check: {check_cold(compare_out / 'compare.json', overrides)} cells")
    keys = ["solve_s", "compare_s", "ratio"]
    if all(r["cpu_ratio"] is not None for r in rows):
        keys += ["solve_cpu_s", "compare_cpu_s", "cpu_ratio"]
    med = {k: statistics.median(r[k] for r in rows) for k in keys}
    print(
        f"median of {len(rows)}: solve {med['solve_s']:.1f} s, compare {med['compare_s']:.1f} s, "
        f"ratio {med['ratio']:.2f} (goal ≤ 3)"
    )
    if "cpu_ratio" in med:
        print(
            f"  CPU: solve {med['solve_cpu_s']:.1f} s, compare {med['compare_cpu_s']:.1f} s, "
            f"ratio {med['cpu_ratio']:.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "median": med}, indent=2))


if __name__ == "__main__":
    main()
