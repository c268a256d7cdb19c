"""How many scenarios? Solve this case for K = 1, 2, 4, … and print the expected cost, the sizes
and the solve time of each (docs/type3.md, "Choosing K"). Run from the repository root:

    python cases/type3_substation/k_study.py --ks 1 2 4 8 16 \\
        --set horizon.start=2025-09-17T00:00:00+09:00 --set horizon.steps=1344

Under plain sampling (``--set type3.sampling="monte_carlo"``) scenario k draws its events from
(seed, k), so the K = 8 set holds the K = 4 set: the objective moves only by what the added
scenarios bring. The case samples stratified: each K holds a long fault at its weight, and the
strata are re-split at each K. ``std_error_mjpy`` is the standard error of the expected cost
(``wattbit.strategies.stochastic.standard_error``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from wattbit.case import load_case
from wattbit.cli.common import parse_assignment
from wattbit.inputs import build_inputs
from wattbit.optimise import options_from_case
from wattbit.strategies.stochastic import solve_stochastic, standard_error

CASE = Path(__file__).parent / "case.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--set", dest="assignments", action="append", default=[])
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args()
    overrides = dict(parse_assignment(a) for a in args.assignments)
    rows = []
    for k in args.ks:
        t0 = time.perf_counter()
        loaded = load_case(CASE, {**overrides, "type3.scenarios": k})
        run = solve_stochastic(build_inputs(loaded), options_from_case(loaded))
        if not (run.ok and run.verification.ok):
            print(f"K = {k}: {run.solution.status}: {run.solution.message}", flush=True)
            continue
        kpis = run.kpis
        rows.append(
            {
                "K": k,
                "expected_cost_mjpy": run.results.attrs["expected_cost_jpy"] / 1e6,
                "std_error_mjpy": standard_error(run.results) / 1e6,
                "generator_mw": kpis.get("generator_power_mw", 0.0),
                "battery_mw": kpis.get("battery_power_mw", 0.0),
                "battery_mwh": kpis.get("battery_energy_mwh", 0.0),
                "fault_events": int((run.results["event_kind"] == "fault").sum()),
                "build_s": run.timings.get("build", 0.0),
                "hand_off_s": run.timings.get("hand_off", 0.0),
                "solve_s": run.timings.get("solve", 0.0),
                "total_s": time.perf_counter() - t0,
            }
        )
        print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1), flush=True)
    if args.csv:
        pd.DataFrame(rows).to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
