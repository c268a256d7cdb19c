"""Sweep throughput: one-week cases of the example case per second, by number of local processes.

Run from the repository root::

    python benchmarks/sweep_throughput.py [--jobs 1,2] [--capex 20] [--weeks 10] [--steps 168]

The sweep is ``battery.energy_capex_jpy_per_kwh`` (``--capex`` values, 10 000 JPY/kWh apart) ×
``horizon.start`` (``--weeks`` Mondays four weeks apart from 2025-04-07, so the seasons differ),
each case ``--steps`` hours long: 20 × 10 = 200 cases by default. It runs through the same code
as ``wattbit sweep`` (spec → validated cases → one fresh process per case → records), without the
progress bar. Each ``--jobs`` value solves every case once; the forkserver that forks the case
processes is started and warmed (one case solved) before the first timing, so no row pays for
it, and its start is reported on its own. The script checks that every case solved and that
every ``--jobs`` value gave identical KPIs, then prints cases/s and the speedup over the first
``--jobs`` value. On a many-core machine: ``--jobs 1,4,8,16``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from wattbit.sweep.engine import Engine, execute, prepare  # noqa: E402 - after sys.path
from wattbit.sweep.spec import generate, parse_spec  # noqa: E402
from wattbit.sweep.store import RecordStore  # noqa: E402

CASE = REPO / "cases" / "tokyo_substation_dc" / "case.toml"
FIRST_MONDAY = datetime.fromisoformat("2025-04-07T00:00:00+09:00")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", default="1,2", help="comma-separated process counts")
    parser.add_argument("--capex", type=int, default=20, help="battery energy capex values")
    parser.add_argument("--weeks", type=int, default=10, help="start weeks")
    parser.add_argument("--steps", type=int, default=168, help="hours per case")
    args = parser.parse_args()
    jobs_list = [int(j) for j in args.jobs.split(",")]

    starts = ",".join(
        (FIRST_MONDAY + timedelta(weeks=4 * k)).isoformat() for k in range(args.weeks)
    )
    spec = parse_spec(
        CASE,
        sets=[
            f"horizon.steps={args.steps}",
            f"battery.energy_capex_jpy_per_kwh=10000:{10000 * args.capex}:10000",
            f"horizon.start={starts}",
        ],
    )
    t0 = time.perf_counter()
    prepare(Engine(jobs=1))  # the forkserver imports the solver stack meanwhile
    tasks = generate(spec)
    t_validate = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm = list(execute(tasks[:1], Engine(jobs=1)))
    t_warm = time.perf_counter() - t0
    assert warm[0]["status"] == "ok", warm[0]["message"]

    print(f"machine: {os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}")
    print(
        f"{len(tasks)} cases of {args.steps} h; validating them took {t_validate:.1f} s; "
        f"forkserver start + first case {t_warm:.1f} s (not in the rows)"
    )
    header = f"{'jobs':>5} {'wall s':>8} {'cases/s':>8} {'speedup':>8} {'s/case in worker':>17}"
    print(f"\n{header} {'load (1 min)':>13}")
    first_rate = None
    reference: dict[str, dict] | None = None
    for jobs in jobs_list:
        with tempfile.TemporaryDirectory() as folder:
            store = RecordStore(Path(folder))
            t0 = time.perf_counter()
            records = {}
            for record in execute(tasks, Engine(jobs=jobs)):
                store.write(record)
                records[record["key"]] = record
            wall = time.perf_counter() - t0
        bad = [r for r in records.values() if r["status"] != "ok"]
        assert not bad, f"{len(bad)} cases failed, e.g. {bad[0]['message']}"
        kpis = {key: r["kpis"] for key, r in records.items()}
        assert reference is None or kpis == reference, f"--jobs {jobs} gave other KPIs"
        reference = kpis
        rate = len(tasks) / wall
        first_rate = first_rate or rate
        per_case = statistics.mean(r["wall_s"] for r in records.values())
        load = os.getloadavg()[0]  # other work on the machine slows the rows down
        print(
            f"{jobs:>5} {wall:>8.1f} {rate:>8.2f} {rate / first_rate:>8.2f} {per_case:>17.3f}"
            f" {load:>13.2f}"
        )


if __name__ == "__main__":
    main()
