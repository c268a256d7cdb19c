"""Memory and CPU of the town case's system run, phase by phase (issue #13 goal 5: ≤ 1 GB peak).

Run from the repository root::

    nice python benchmarks/network_memory.py [--steps N] [--compiler lean|pyomo]

One process runs the phases of ``wattbit.network.run.solve_network`` in system mode one by one
(inputs, build, compile, HiGHS solve, loading values and duals, results, KPIs and verification)
and prints after each its CPU seconds (``time.process_time``), wall seconds, the resident set
(``VmRSS``), the peak so far (``ru_maxrss``) and the 1-minute load average. ``--compiler pyomo``
compiles with Pyomo's ``LinearStandardFormCompiler`` instead of ``wattbit.lp_compile`` (the
same standard form, bit for bit), to measure what the lean one saves; ``--drop-model`` frees the
Pyomo model and the compiled maps before HiGHS runs (no results then): the peak a run would have
if it read its results from HiGHS's arrays alone. It also prints the LP's size and how many of
its rows have one nonzero (bounds written as rows). Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "cases" / "town" / "case.toml"


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Phases:
    def __init__(self) -> None:
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        print(f"{'phase':14s} {'CPU s':>7s} {'wall s':>7s} {'RSS MiB':>8s} {'peak MiB':>9s}  load")

    def lap(self, name: str) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{name:14s} {cpu - self.cpu:7.2f} {wall - self.wall:7.2f} {_rss_mib():8.0f} "
            f"{peak:9.0f}  {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        self.cpu, self.wall = time.process_time(), time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="cut the horizon")
    parser.add_argument("--compiler", choices=["lean", "pyomo"], default="lean")
    parser.add_argument(
        "--drop-model",
        action="store_true",
        help="free the Pyomo model and its maps before HiGHS runs (no results): HiGHS's own share",
    )
    args = parser.parse_args()
    clock = Phases()
    sys.path.insert(0, str(ROOT))
    import wattbit.solve
    from wattbit.network.case import load_network_case
    from wattbit.network.inputs import build_network_inputs
    from wattbit.network.model import create_network_model
    from wattbit.network.prices import with_duals
    from wattbit.network.run import build_network_results, network_kpis
    from wattbit.network.verify import verify_network
    from wattbit.solve import (
        SolverOptions,
        _new_highs,
        compile_model,
        load_duals,
        load_reduced_costs,
        load_values,
        solve_compiled,
    )

    if args.compiler == "pyomo":
        from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

        wattbit.solve.standard_form = lambda m: LinearStandardFormCompiler().write(
            m, mixed_form=True, set_sense=None
        )
    import numpy as np

    clock.lap("imports")
    overrides = {"horizon.steps": args.steps} if args.steps else {}
    ds = build_network_inputs(load_network_case(CASE, overrides))
    clock.lap("inputs")
    m = with_duals(lambda x: create_network_model(ds, x))({})
    clock.lap("build")
    cm = compile_model(m)
    clock.lap("compile")
    lp = cm.lp
    rows = np.bincount(np.asarray(lp.a_matrix_.index_), minlength=lp.num_row_)
    print(
        f"LP: {lp.num_row_} rows ({int((rows == 1).sum())} with one nonzero), {lp.num_col_} "
        f"columns, {len(lp.a_matrix_.value_)} nonzeros"
    )
    options = SolverOptions(threads=1)
    if args.drop_model:
        del m, cm
        gc.collect()
        clock.lap("model dropped")
        h = _new_highs(options, lp)
        h.passModel(lp)
        del lp
        h.run()
        clock.lap("HiGHS solve")
        print(f"--drop-model: objective {h.getInfo().objective_function_value!r} JPY/yr")
        return
    sol = solve_compiled(cm, options)
    clock.lap("HiGHS solve")
    load_values(m, cm, sol.column_values)
    if sol.reduced_costs is not None:
        load_reduced_costs(m, cm, sol.reduced_costs)
    load_duals(m, cm, sol, options)
    clock.lap("load")
    del cm
    attrs = {"objective_jpy": sol.objective, "duals_source": sol.duals_source}
    results = build_network_results(ds, m, attrs)
    clock.lap("results")
    network_kpis(results)
    check = verify_network(results)
    clock.lap("kpis, verify")
    print(
        f"compiler {args.compiler}; steps {ds.sizes['time']}; objective {sol.objective!r} JPY/yr; "
        f"verifier max violation {check.max_violation:.2e}; total CPU {time.process_time():.2f} s"
    )


if __name__ == "__main__":
    main()
