"""Where a warm study's time goes: a profiled breakeven bisection, and the cost of loading duals.

Run from the repository root::

    python benchmarks/profile_warm.py breakeven [--steps 672] [--top 35]
    python benchmarks/profile_warm.py duals [--steps 2184]
    python benchmarks/profile_warm.py compare [--steps 2184] [--trace]
    python benchmarks/profile_warm.py prices [--steps N]

``breakeven``: on ``cases/type2_battery_wins`` cut to ``--steps``, solves the two cells the
bisection starts from (load-following and battery-shaped under ``type2_fixed``), then runs
:func:`wattbit.studies.breakeven.vs_load_following` under cProfile (every price re-solved on the
kept model) and prints its wall seconds, the number of prices, the answer, each kept model's
phase totals and the ``--top`` functions by cumulative time.

``duals``: builds and solves the ``type2_dynamic`` LP of the same case once, then times
:func:`wattbit.solve.load_duals` (every row dual and reduced cost into ``m.dual``) three times
with garbage collection on and once with it off, next to the HiGHS time of the solve.

``compare`` (``--steps 0``: the full year): one cold ``type2_dynamic`` solve, then :func:`wattbit.studies.compare.compare` of
the same cut, each timed by the process's CPU seconds (``time.process_time``: all threads), the
comparison split at its progress notes into one-optimisation cells, rolling cells and
breakevens; then every cell's phase timings. ``--trace`` also prints each progress note at its
CPU second and every warm HiGHS run: CPU seconds, iterations, status, and whether it was taken.

``prices``: ``battery_shaped`` under ``type2_fixed`` at the case's own battery price, then at 0,
80,000, 160,000, 320,000 and 640,000 JPY/kWh through one :class:`~wattbit.studies.breakeven.
PriceSolves` (the start of a bisection): wall seconds, how each was solved and its phases. With
``--prices P ...``: after the two ``type2_fixed`` cells, each price read as a bisection reads it
(``PriceSolves.point``), CPU seconds; ``--restart-change`` sets ``warm.RESTART_CHANGE``.

``bisection`` (``--steps 0``: the full year): the three ``type2_fixed`` cells, then the three
breakevens as ``wattbit compare`` runs them, or with ``--plain`` every bisection step solved in
full (the reference): answers, full runs and CPU seconds.

``rebase``: ``battery_shaped`` under ``type2_fixed`` then ``type2_dynamic`` through one pool,
the second re-based from the first's basis, then again restarted on the kept model, then cold
(:func:`~wattbit.optimise.solve_inputs`): CPU seconds.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import itertools
import pstats
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
CASE = REPO / "cases" / "type2_battery_wins" / "case.toml"


def breakeven(steps: int, top: int) -> None:
    from wattbit.studies.breakeven import PriceSolves, vs_load_following

    solves = PriceSolves(CASE, {"horizon.steps": steps})
    solves.run("load_following", "type2_fixed")
    solves.run("battery_shaped", "type2_fixed")
    profile = cProfile.Profile()
    t0 = time.perf_counter()
    profile.enable()
    found = vs_load_following(solves, "type2_fixed")
    profile.disable()
    wall = time.perf_counter() - t0
    print(f"breakeven: {wall:.1f} s, {len(found.points)} prices, {found.cost_jpy_per_kwh} JPY/kWh")
    for model in solves.pool.models if solves.pool else []:
        phases = ", ".join(f"{k} {v:.2f}" for k, v in model.stats.timings.items())
        print(f"kept model: warm {model.stats.warm}, rebased {model.stats.rebased}; {phases}")
    pstats.Stats(profile).sort_stats("cumtime").print_stats(top)


def duals(steps: int) -> None:
    from wattbit.case import load_case
    from wattbit.inputs import build_inputs
    from wattbit.model import create_model
    from wattbit.optimise import options_from_case
    from wattbit.solve import compile_checked, load_duals, request_duals, solve_compiled

    loaded = load_case(CASE, {"grid.mode": "type2_dynamic", "horizon.steps": steps})
    options = options_from_case(loaded)
    m = request_duals(create_model(build_inputs(loaded)))
    cm, _ = compile_checked(m, options)
    sol = solve_compiled(cm, options)
    print(f"{cm.lp.num_row_} rows, {cm.lp.num_col_} columns; HiGHS {sol.timings['solve']:.2f} s")
    for label, collect in (("gc on", True), ("gc on", True), ("gc on", True), ("gc off", False)):
        m.dual.clear()
        if not collect:
            gc.disable()
        t0 = time.perf_counter()
        load_duals(m, cm, sol, options)
        print(f"load_duals ({label}): {time.perf_counter() - t0:.3f} s")
        gc.enable()


def trace_warm_solves() -> None:
    """Print every warm HiGHS run of a :class:`~wattbit.warm.WarmModel`: CPU seconds, simplex
    iterations, model and dual solution status, and the cell (mode, strategy, battery price)."""
    import wattbit.warm

    run = wattbit.warm.WarmModel._optimum

    def traced(self: wattbit.warm.WarmModel) -> object:
        t0 = time.process_time()
        sol = run(self)
        h, ds = self._highs, self.inputs
        info = h.getInfo()
        price = ds.get("battery_energy_capex_jpy_per_mwh_year")
        print(
            f"  warm run {time.process_time() - t0:6.2f} s CPU, {info.simplex_iteration_count}"
            f" iterations, {h.modelStatusToString(h.getModelStatus())}, dual status"
            f" {info.dual_solution_status} ({info.num_dual_infeasibilities} infeasible, max"
            f" {info.max_dual_infeasibility:.2g}), taken {sol is not None}:"
            f" {ds.attrs.get('grid_mode')} {ds.attrs.get('strategy')}"
            f" {'' if price is None else f'{float(price):.6g} JPY/MWh/yr'}",
            flush=True,
        )
        return sol

    wattbit.warm.WarmModel._optimum = traced


def compare_phases(steps: int, trace: bool) -> None:
    from wattbit.case import load_case
    from wattbit.inputs import build_inputs
    from wattbit.optimise import options_from_case
    from wattbit.strategies import solve
    from wattbit.studies.compare import compare

    cut = {"horizon.steps": steps} if steps else {}
    t0 = time.process_time()
    loaded = load_case(CASE, {**cut, "grid.mode": "type2_dynamic"})
    solve(build_inputs(loaded), options_from_case(loaded))
    cold = time.process_time() - t0
    marks: list[tuple[float, str]] = []

    def mark(note: str, **_: object) -> None:
        marks.append((time.process_time(), note))
        if trace:
            print(f"{marks[-1][0] - t0:7.2f} s CPU: {note}", flush=True)

    if trace:
        trace_warm_solves()
    t0 = time.process_time()
    found = compare(CASE, overrides=cut, progress=mark)
    total = time.process_time() - t0
    marks.append((time.process_time(), "end"))
    phases: dict[str, float] = {}
    for (t, note), (t_next, _) in itertools.pairwise(marks):
        kind = "breakeven" if note.startswith("breakeven") else "cells"
        kind = "rolling cells" if "type2_forecast" in note else kind
        phases[kind] = phases.get(kind, 0.0) + t_next - t
    print(f"cold solve CPU {cold:.1f} s; compare CPU {total:.1f} s = {total / cold:.2f}x")
    print({k: round(v, 1) for k, v in phases.items()})
    for cell in found.cells:
        print(cell.strategy, cell.mode, {k: round(v, 2) for k, v in cell.run.timings.items()})


def prices(steps: int | None, chosen: list[float], restart: float | None) -> None:
    import wattbit.warm
    from wattbit.studies.breakeven import PriceSolves

    if restart is not None:
        wattbit.warm.RESTART_CHANGE = restart
    solves = PriceSolves(CASE, {} if steps is None else {"horizon.steps": steps})
    if chosen:  # after the two type2_fixed cells, as in a comparison: read as a bisection does
        solves.run("load_following", "type2_fixed")
        solves.run("battery_shaped", "type2_fixed")
        for price in chosen:
            t0 = time.process_time()
            point = solves.point("battery_shaped", "type2_fixed", price)
            print(f"{price:,.0f}: {time.process_time() - t0:.2f} s CPU, {point}")
        return
    for price in (None, 0.0, 80_000.0, 160_000.0, 320_000.0, 640_000.0):
        t0 = time.perf_counter()
        run = solves.run("battery_shaped", "type2_fixed", price)
        wall = time.perf_counter() - t0
        how = solves.pool.last if solves.pool else ""
        phases = {k: round(v, 1) for k, v in run.timings.items()}
        print(f"{price}: {wall:.1f} s, {how}, {phases}")


def bisection(steps: int | None, plain: bool) -> None:
    from wattbit.studies.bisection import bisect_price
    from wattbit.studies.breakeven import SIZE_TOL_MWH, PriceSolves, size_zero, vs_load_following

    solves = PriceSolves(CASE, {} if steps is None else {"horizon.steps": steps})
    mode = "type2_fixed"
    t0 = time.process_time()
    lf = solves.run("load_following", mode).kpis["total_cost_jpy"]
    for strategy in ("battery_shaped", "both"):
        solves.run(strategy, mode)
    t1 = time.process_time()
    for strategy, question in (
        ("battery_shaped", "vs"),
        ("battery_shaped", "size"),
        ("both", "size"),
    ):
        if plain:  # every step solved in full, as the bisection did before studies/bisection.py

            def value(price: float, strategy: str = strategy, question: str = question) -> float:
                kpis = solves.run(strategy, mode, price).kpis
                if question == "vs":
                    return lf - kpis["total_cost_jpy"] - 1e-9 * max(1.0, abs(lf))
                return kpis.get("battery_energy_mwh", 0.0) - SIZE_TOL_MWH

            estimate, half, *_ = bisect_price(value, solves.case_price, 1e-3)
        else:
            found = (
                vs_load_following(solves, mode)
                if question == "vs"
                else size_zero(solves, strategy, mode)
            )
            estimate, half = found.cost_jpy_per_kwh, found.tolerance_jpy_per_kwh
        print(f"{question} {strategy}: {estimate!r} ± {half!r}; {len(solves._runs)} full runs")
    t2 = time.process_time()
    print(f"cells CPU {t1 - t0:.1f} s, breakevens CPU {t2 - t1:.1f} s")
    for model in solves.pool.models if solves.pool else []:
        print(f"kept model: warm {model.stats.warm}, cold {model.stats.cold}")


def rebase(steps: int | None) -> None:
    from wattbit.case import load_case
    from wattbit.inputs import build_inputs
    from wattbit.optimise import options_from_case, solve_inputs
    from wattbit.studies.cells import apply_strategy
    from wattbit.warm import WarmPool

    def inputs(mode: str):
        cut = {} if steps is None else {"horizon.steps": steps}
        loaded = load_case(CASE, {**cut, "grid.mode": mode})
        inputs = apply_strategy(build_inputs(loaded), "battery_shaped", loaded.file)
        return inputs, options_from_case(loaded)

    for restart in (False, True):
        pool = None
        for mode in ("type2_fixed", "type2_dynamic"):
            ds, options = inputs(mode)
            pool = pool or WarmPool(options)
            for model in pool.models:
                model._restart = restart
            t0 = time.process_time()
            pool.solve(ds)
            label = (
                f"{mode} ({pool.last}{', restarted' if restart and pool.last == 'rebase' else ''})"
            )
            print(f"{label}: {time.process_time() - t0:.1f} s CPU")
    ds, options = inputs("type2_dynamic")
    t0 = time.process_time()
    solve_inputs(ds, options)
    print(f"type2_dynamic cold: {time.process_time() - t0:.1f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "what", choices=("breakeven", "duals", "compare", "prices", "bisection", "rebase")
    )
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--prices", type=float, nargs="*", default=[])
    parser.add_argument("--restart-change", type=float, default=None)
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--trace", action="store_true", help="compare: every warm HiGHS run")
    args = parser.parse_args()
    full = None if args.steps == 0 else args.steps
    if args.what == "breakeven":
        breakeven(args.steps or 672, args.top)
    elif args.what == "duals":
        duals(args.steps or 2184)
    elif args.what == "compare":
        compare_phases(2184 if args.steps is None else args.steps, args.trace)
    elif args.what == "bisection":
        bisection(full, args.plain)
    elif args.what == "rebase":
        rebase(full)
    else:
        prices(full, args.prices, args.restart_change)


if __name__ == "__main__":
    main()
