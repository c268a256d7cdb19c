"""Several genset types (docs/milp.md, J1–J4) against one: the example case with its gensets as
one type (``power_mw`` in 2.5 MW units) and as two (the same 2.5 MW 'big' gensets and 0.5 MW
'small' ones that start fast and cheap but burn dearer fuel), N+1 over the plant.

Run from the repository root::

    python benchmarks/milp_types.py [--start 2025-12-01T00:00:00+09:00] [--steps 2160]
                                    [--time-limit 300] [--only one|two]

Each run goes through the whole pipeline (``wattbit.strategies.solve_case``) and must end
verified. Printed per run: CPU and wall seconds of the process's solve, the 1-minute load average
(on the shared machine wall time includes waiting for a core; single-threaded HiGHS, so CPU
seconds stand for an idle machine's wall time), the status and gap, the objective, and per type
the gensets installed, their starts, genset-hours on and output.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXAMPLE = ROOT / "cases" / "tokyo_substation_dc" / "case.toml"
BIG = {
    "name": "big",
    "unit_mw": 2.5,
    "max_units": 8,
    "min_load_fraction": 0.3,
    "start_cost_jpy": 50_000.0,
    "min_up_h": 2.0,
}
SMALL = {
    "name": "small",
    "unit_mw": 0.5,
    "max_units": 10,
    "start_delay_h": 0.05,
    "start_cost_jpy": 2_000.0,
    "fuel_cost_jpy_per_mwh": 36_000.0,
    "unit_cost_jpy_per_year": 100_000.0,
}
PLANT = {
    "generator.run_outside_events": True,
    "generator.redundant_units": 1,
    "generator.fuel_cost_jpy_per_mwh": 30_000.0,
}
CASES = {
    "one": {
        **PLANT,
        "generator.power_mw": {"min": 0.0, "max": 20.0, "unit": 2.5},
        **{f"generator.{f}": BIG[f] for f in ("min_load_fraction", "start_cost_jpy", "min_up_h")},
    },
    "two": {**PLANT, "generator.power_mw": None, "generator.types": [BIG, SMALL]},
}


def main() -> None:
    from wattbit.case import load_case
    from wattbit.strategies import solve_case

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2025-12-01T00:00:00+09:00")
    parser.add_argument("--steps", type=int, default=2160)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--only", choices=sorted(CASES))
    args = parser.parse_args()
    horizon = {
        "horizon.start": args.start,
        "horizon.steps": args.steps,
        "solver.time_limit_s": args.time_limit,
    }
    for name in [args.only] if args.only else sorted(CASES):
        load = os.getloadavg()[0]
        cpu, wall = time.process_time(), time.perf_counter()
        run = solve_case(load_case(EXAMPLE, {**horizon, **CASES[name]}))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if run.verification is None or not run.verification.ok:
            raise SystemExit(f"{name}: not verified ({run.solution.message})")
        k = run.kpis
        types = ["generator"] + [f"generator_{t['name']}" for t in (BIG, SMALL)]
        per_type = {
            key: round(value, 2)
            for key, value in k.items()
            if any(key.startswith(f"{t}_") for t in types)
            and key.endswith(("_units", "_starts", "_run_unit_h", "_output_mwh"))
        }
        print(
            f"{name}: cpu {cpu:.1f} s, wall {wall:.1f} s, load {load:.1f}; {run.solution.message}; "
            f"objective {k['total_cost_jpy']:.6e} JPY/yr; {per_type}",
            flush=True,
        )


if __name__ == "__main__":
    main()
