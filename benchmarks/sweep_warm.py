"""A cost-only sweep at ``--jobs 1`` against one cold solve (issue #13 goal 2).

Run from the repository root::

    python benchmarks/sweep_warm.py [--repeats 3] [--points 16] [--steps N] [--check-cold K]

Each repeat runs, as whole commands in fresh processes, one after the other:

* ``wattbit solve cases/tokyo_substation_dc/case.toml`` (the full-year example, cold);
* ``wattbit sweep cases/tokyo_substation_dc/case.toml --set
  battery.energy_capex_jpy_per_kwh=10000:<points·10000>:10000 --jobs 1`` (one worker holds the
  compiled LP: :func:`wattbit.sweep.engine.groups`).

Printed per repeat: wall seconds of each and the whole-command ratio (goal ≤ 5 for 16 points),
peak memory of each process (``/usr/bin/time``), and per point the record's ``wall_s`` (load,
inputs, solve, results, verification and economics of that case in the worker), how it was
solved (``resolve``: ``new`` = a cold solve on a new model, ``update`` = a cost change on the
kept one) and its ratio to the first point's (a cold solve in the same worker; goal ≤ 0.25 for
each cost-only point); then the medians over repeats. ``--check-cold K`` solves every K-th point
again here in one fresh model per point (:func:`wattbit.sweep.engine.run_case` without a kept
model) and requires the same total cost (1e-9 relative) and sizes (1e-6); the script exits 1
otherwise. ``--steps N`` cuts the horizon for a quick run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
CASE = REPO / "cases" / "tokyo_substation_dc" / "case.toml"
PRICE = "battery.energy_capex_jpy_per_kwh"
WATTBIT = Path(sys.executable).with_name("wattbit")
TIME = Path("/usr/bin/time")
SIZES = ("battery_power_mw", "battery_energy_mwh", "pv_capacity_mw")


def timed(args: list[str], mem: Path) -> tuple[float, float | None]:
    """Run a whole command: wall seconds and peak MiB (None without /usr/bin/time)."""
    cmd = [str(WATTBIT), *args]
    if TIME.exists():
        cmd = [str(TIME), "-f", "%M", "-o", str(mem), *cmd]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)}: exit {done.returncode}\n{done.stdout[-2000:]}")
    peak = float(mem.read_text().split()[-1]) / 1024.0 if mem.exists() else None
    return wall, peak


def check_cold(records: list[dict], sets: list[str], every: int) -> None:
    """Solve every ``every``-th point cold in this process; same total cost and sizes."""
    from wattbit.sweep.engine import run_case
    from wattbit.sweep.spec import generate, parse_spec

    tasks = {t.key: t for t in generate(parse_spec(CASE, sets=sets))}
    for record in records[::every]:
        cold = run_case(tasks[record["key"]])["kpis"]
        warm = record["kpis"]
        rel = abs(cold["total_cost_jpy"] - warm["total_cost_jpy"]) / abs(cold["total_cost_jpy"])
        worst = max(abs(cold[k] - warm[k]) for k in SIZES if k in cold)
        print(f"  cold check at {record['overrides'][PRICE]}: rel {rel:.1e}, sizes {worst:.1e}")
        if rel > 1e-9 or worst > 1e-6:
            sys.exit("a warm sweep point differs from its cold solve")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--points", type=int, default=16)
    parser.add_argument("--steps", type=int, default=None, help="cut the horizon (quick run)")
    parser.add_argument("--check-cold", type=int, default=0, metavar="K")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    cut = [] if args.steps is None else [f"horizon.steps={args.steps}"]
    sets = [*cut, f"{PRICE}=10000:{10000 * args.points}:10000"]
    flags = [flag for s in sets for flag in ("--set", s)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            print(f"repeat {repeat + 1}: load average {os.getloadavg()[0]:.1f}")
            folder = Path(tmp) / str(repeat)
            folder.mkdir()
            solve = ["solve", str(CASE), *(f for s in cut for f in ("--set", s))]
            s_wall, s_mem = timed([*solve, "--out", str(folder / "solve")], folder / "solve.mem")
            sweep = ["sweep", str(CASE), *flags, "--jobs", "1", "--out", str(folder / "sweep")]
            w_wall, w_mem = timed(sweep, folder / "sweep.mem")
            records = [
                json.loads(p.read_text()) for p in (folder / "sweep" / "cases").glob("*.json")
            ]
            records.sort(key=lambda r: r["overrides"][PRICE])
            first = next(r for r in records if r["resolve"] == "new")["wall_s"]
            points = [r["wall_s"] / first for r in records if r["resolve"] != "new"]
            row = {
                "solve_s": s_wall,
                "sweep_s": w_wall,
                "ratio": w_wall / s_wall,
                "first_point_s": first,
                "worst_point_ratio": max(points),
                "median_point_ratio": statistics.median(points),
                "solve_peak_mib": s_mem,
                "sweep_peak_mib": w_mem,
                "points": [
                    (r["overrides"][PRICE], r["resolve"], r["wall_s"], r["wall_s"] / first)
                    for r in records
                ],
            }
            rows.append(row)
            mem = f"peak {s_mem or float('nan'):.0f} / {w_mem or float('nan'):.0f} MiB"
            print(
                f"  solve {s_wall:.1f} s, sweep of {len(records)} points {w_wall:.1f} s, ratio "
                f"{row['ratio']:.2f}; {mem}"
            )
            for price, how, wall, ratio in row["points"]:
                print(f"    {price:>8,} JPY/kWh  {how:<6} {wall:6.2f} s  {ratio:.3f} of the first")
            if args.check_cold and repeat == 0:
                check_cold(records, sets, args.check_cold)
    keys = ("solve_s", "sweep_s", "ratio", "median_point_ratio", "worst_point_ratio")
    med = {k: statistics.median(r[k] for r in rows) for k in keys}
    print(
        f"median of {len(rows)}: solve {med['solve_s']:.1f} s, sweep {med['sweep_s']:.1f} s, "
        f"ratio {med['ratio']:.2f} (goal ≤ 5); per cost-only point median "
        f"{med['median_point_ratio']:.3f}, worst {med['worst_point_ratio']:.3f} (goal ≤ 0.25)"
    )
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "median": med}, indent=2))


if __name__ == "__main__":
    main()
