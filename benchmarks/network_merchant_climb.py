"""Merchant mode of the town case: the climb to the worst tie, cold against compiled once.

Run from the repository root::

    python benchmarks/network_merchant_climb.py [--steps 720] [--start 2025-07-01T00:00:00+09:00]

Calls the phases of ``solve_network(ds, "merchant", …)`` one by one in one process — the system
run for reference, the owner's model, the best over its ties, then the climb to the worst twice:
cold (every system LP built and compiled) and with :class:`wattbit.network.imposed.ImposedLP`
(compiled once) — and prints each one's process CPU and wall time, the ratio of the merchant run
to the system run both ways, and asserts that both climbs end at the same worst cost and round.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(f):
    cpu, wall = time.process_time(), time.perf_counter()
    out = f()
    return out, time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    from wattbit.network.case import load_network_case
    from wattbit.network.imposed import ImposedLP
    from wattbit.network.inputs import build_network_inputs
    from wattbit.network.merchant import best_model, cold_imposed, schedules_of, worst_for_system
    from wattbit.network.model import create_merchant_model, create_network_model, merchant_parts
    from wattbit.network.prices import with_duals
    from wattbit.network.run import _solve_exclusive
    from wattbit.solve import SolverOptions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=720)
    parser.add_argument("--start", default="2025-07-01T00:00:00+09:00")
    args = parser.parse_args()
    overrides = {"horizon.steps": args.steps, "horizon.start": args.start}
    ds = build_network_inputs(load_network_case(ROOT / "cases" / "town" / "case.toml", overrides))
    options, timings = SolverOptions(), {}

    def solve(build):
        return _solve_exclusive(ds, build, options, timings)

    _, system, _ = timed(lambda: solve(with_duals(lambda x: create_network_model(ds, x))))
    merchant, owner, _ = timed(lambda: solve(lambda x: create_merchant_model(ds, x)))
    start = schedules_of(merchant.model, ds, merchant_parts(ds))
    optimum = float(merchant.solution.objective)
    _, best, _ = timed(lambda: solve(with_duals(best_model(ds, optimum))))
    cold, cold_cpu, cold_wall = timed(lambda: worst_for_system(ds, start, optimum, solve))
    imposed = ImposedLP(ds, options, cold_imposed(ds, solve), {})
    warm, warm_cpu, warm_wall = timed(lambda: worst_for_system(ds, start, optimum, solve, imposed))
    print(f"town, {args.steps} steps from {args.start}; process CPU (wall) in seconds")
    print(f"system run: {system:.2f}; owner's model {owner:.2f}; best over the ties {best:.2f}")
    print(f"climb, cold: {cold_cpu:.2f} ({cold_wall:.2f}) → {cold}")
    print(
        f"climb, compiled once: {warm_cpu:.2f} ({warm_wall:.2f}) → {warm}; "
        f"{imposed.warm_solves} solves on the compiled LP"
    )
    before, after = (owner + best + cold_cpu) / system, (owner + best + warm_cpu) / system
    print(f"merchant run / system run (CPU): before {before:.2f}, after {after:.2f}")
    assert (warm.rounds, warm.note) == (cold.rounds, cold.note)
    assert abs(warm.cost_jpy - cold.cost_jpy) <= 1e-9 * abs(cold.cost_jpy)
    print("same worst cost and rounds: OK")


if __name__ == "__main__":
    main()
