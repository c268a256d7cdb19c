"""Full-year benchmark: the example case through wattbit and the same LP built in PyPSA.

Run from the repository root (PyPSA is the ``bench`` extra: ``pip install ".[bench]"``)::

    python benchmarks/full_year_vs_pypsa.py [--repeats 3] [--steps N] [--case CASE]

Each repeat solves each side in a fresh subprocess (the sides alternate), so a side's timings never
include another side's warm caches, and its peak memory is the ``ru_maxrss`` of its own process.
Each subprocess first solves a 24-step cut of the case untimed, so that imports (PyPSA imports
lazily) and first-call costs stay out of the timings on both sides. The script prints the median wall time per phase for each side, the ratio wattbit/PyPSA
per phase and in total, peak memory, and asserts that both reach the same objective (relative
difference ≤ 1e-6).

Phases, the same cut on both sides:

* build — inputs Dataset → optimisation model (wattbit: ``create_model``; PyPSA: the ``Network``
  from the same Dataset, ``n.optimize.create_model()`` and the battery's P coupling);
* hand-off — model → a HiGHS instance holding the LP, options set (wattbit: ``compile_model`` +
  ``passModel``; PyPSA: ``n.optimize.solve_model`` until HiGHS starts, i.e. linopy's matrices and
  its direct highspy build);
* solve — ``Highs.run()`` only;
* extract — solution → results (wattbit: ``load_values`` + ``build_results``; PyPSA: the rest of
  ``solve_model``: linopy's solution read-back, ``assign_solution``, ``assign_duals``,
  ``post_processing``).

The PyPSA model (one LP, term by term the same as wattbit's, every parameter read from
``wattbit.inputs.build_inputs``; symbols as in ``formulations/``):

* bus ``site``; Load ``dc`` with ``p_set = L^IT_t · PUE_t``; Generator ``dc_shed`` (load shedding)
  with ``p_max_pu · p_nom = L^IT_t · PUE_t`` and marginal cost ``v / PUE_t`` per MWh of facility
  power (= ``v`` per MWh of IT power, as wattbit's D3);
* Generator ``pv``, extendable in ``[K_min, K_max]``, ``p_max_pu = a_t``, capital cost ``k_K``;
* bus ``grid``; Generator ``grid_supply`` with fixed ``p_nom = max H`` and ``p_max_pu = H_t / max H``
  (G1: the import limit, a bound), marginal cost ``π_t``; Link ``connection`` grid → site,
  extendable in the contract's bounds with capital cost ``κ`` (G2, G6): the import limit and the
  contract are two separate limits in wattbit, which one extendable generator with a time-varying
  ``p_max_pu`` cannot express (it would give ``g_t ≤ H_t/max H · C``);
* bus ``battery``; Store ``battery`` (``e_nom`` extendable in ``[E_min, E_max]``, capital cost
  ``k_E``, ``e_min_pu``/``e_max_pu`` = SoC fractions, cyclic, standing loss λ); Link
  ``battery_charge`` site → battery (efficiency η_c, ``p_nom = P``, capital cost ``k_P``); Link
  ``battery_discharge`` battery → site (efficiency η_d, marginal cost ``k_d · η_d`` so that the
  degradation cost is ``k_d`` per MWh delivered, as B9) and the extra constraint
  ``η_d · p_nom(discharge) = p_nom(charge)``, so ``d_t ≤ P`` as wattbit's B2;
* snapshot weightings: objective ``α · Δt`` (wattbit annualises operating cost by 8760 / hours in
  the horizon), generators and stores ``Δt``.

Not mapped (the script refuses such a case): export, a non-cyclic battery SoC rule, deferrable IT
load (workload shift) and the ``type2_forecast`` grid mode; the example case uses none of them. The
import limit ``H_t`` is whatever the case's grid mode makes of it (``grid_import_limit_mw``).
The comparison is of the LP: with ``battery.exclusive = "auto"`` wattbit adds binaries only where
the LP optimum charges and discharges at once; the script checks that it does not on this case.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CASE = ROOT / "cases" / "tokyo_substation_dc" / "case.toml"
PHASES = ("build", "hand_off", "solve", "extract")
REL_TOL = 1e-6
WARM_UP_STEPS = 24

# The same HiGHS options on both sides (HiGHS defaults made explicit, one thread, no log).
HIGHS_OPTIONS: dict[str, object] = {
    "threads": 1,
    "output_flag": False,
    "time_limit": 600.0,
    "presolve": "choose",
    "solver": "choose",
    "primal_feasibility_tolerance": 1e-7,
    "dual_feasibility_tolerance": 1e-7,
    "mip_rel_gap": 1e-4,
    "random_seed": 0,
}


class Clock:
    """Wall (``perf_counter``) and process CPU (``process_time``, all threads) time per lap."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.wall[name] = wall - self._wall
        self.cpu[name] = cpu - self._cpu
        self._wall, self._cpu = wall, cpu

    def merge(self, name: str, *parts: str) -> None:
        for times in (self.wall, self.cpu):
            times[name] = sum(times[p] for p in parts)


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _load_inputs(case: str, steps: int | None):
    from wattbit.case import load_case
    from wattbit.inputs import build_inputs

    overrides = {"horizon.steps": steps} if steps else None
    return build_inputs(load_case(case, overrides))


# --------------------------------------------------------------------------- wattbit side


def run_wattbit(case: str, steps: int | None) -> dict:
    import numpy as np

    from wattbit.model import create_model
    from wattbit.optimise import is_simultaneous
    from wattbit.results import build_results
    from wattbit.solve import SolverOptions, _new_highs, compile_model, load_values

    ds = _load_inputs(case, steps)
    rss_before = _maxrss_mib()
    clock = Clock()
    m = create_model(ds)
    clock.lap("build")
    cm = compile_model(m)
    h = _new_highs(SolverOptions(threads=1))
    for key, value in HIGHS_OPTIONS.items():
        h.setOptionValue(key, value)
    h.passModel(cm.lp)
    clock.lap("hand_off")
    h.run()
    clock.lap("solve")
    status = h.modelStatusToString(h.getModelStatus())
    objective = h.getInfo().objective_function_value
    load_values(m, cm, np.asarray(h.getSolution().col_value))
    results = build_results(ds, m, {"objective_jpy": objective})
    clock.lap("extract")

    return {
        "side": "wattbit",
        "status": status,
        "objective": objective,
        "rows": cm.lp.num_row_,
        "cols": cm.lp.num_col_,
        "nnz": len(cm.lp.a_matrix_.value_),
        "simplex_iterations": h.getInfo().simplex_iteration_count,
        "simultaneous": is_simultaneous(results),
        "sizes": {
            key: float(results[name]) if name in results else None
            for key, name in (
                ("pv_mw", "pv_capacity_mw"),
                ("battery_mw", "battery_power_mw"),
                ("battery_mwh", "battery_energy_mwh"),
                ("contract_mw", "grid_contract_mw"),
            )
        },
        "timings": clock.wall,
        "cpu": clock.cpu,
        "rss_before_build_mib": rss_before,
        "peak_rss_mib": _maxrss_mib(),
    }


# --------------------------------------------------------------------------- PyPSA side


def build_network(ds):
    """The wattbit inputs Dataset as a PyPSA network (see the module doc for the mapping)."""
    import numpy as np
    import pandas as pd
    import pypsa

    def scalar(name: str) -> float:
        return float(ds[name])

    unmapped = {
        "export": bool(np.any(ds["grid_export_limit_mw"].values > 0)),
        "a battery SoC rule other than cyclic": ds.attrs.get("battery_soc_rule", "cyclic")
        != "cyclic",
        "deferrable IT load (workload shift)": "dc_deferrable_share" in ds
        and float(ds["dc_deferrable_share"]) > 0,
        "grid mode type2_forecast": ds.attrs.get("grid_mode") == "type2_forecast",
    }
    for what, present in unmapped.items():
        if present:
            raise NotImplementedError(f"{what} is not mapped to PyPSA in this benchmark")

    if hasattr(pypsa.options, "api") and hasattr(pypsa.options.api, "legacy_string_dtype"):
        pypsa.options.api.legacy_string_dtype = True  # today's behaviour, without the warning
    dt = float(ds.attrs["dt_h"])
    alpha = float(ds.attrs["annual_factor"])
    snapshots = pd.RangeIndex(ds.sizes["time"], name="snapshot")
    n = pypsa.Network()
    n.set_snapshots(snapshots)
    n.snapshot_weightings = pd.DataFrame(
        {"objective": alpha * dt, "stores": dt, "generators": dt}, index=snapshots, dtype=float
    )

    n.add("Bus", "site")
    facility = ds["dc_it_mw"].values * ds["dc_pue"].values
    n.add("Load", "dc", bus="site", p_set=pd.Series(facility, index=snapshots))
    shed_nom = max(float(facility.max()), 1e-9)
    n.add(
        "Generator",
        "dc_shed",
        bus="site",
        p_nom=shed_nom,
        p_max_pu=pd.Series(facility / shed_nom, index=snapshots),
        marginal_cost=pd.Series(
            scalar("dc_value_of_lost_compute_jpy_per_mwh") / ds["dc_pue"].values, index=snapshots
        ),
    )

    if "pv_availability" in ds:
        n.add(
            "Generator",
            "pv",
            bus="site",
            p_nom_extendable=True,
            p_nom_min=scalar("pv_capacity_mw_min"),
            p_nom_max=scalar("pv_capacity_mw_max"),
            p_max_pu=pd.Series(ds["pv_availability"].values, index=snapshots),
            capital_cost=scalar("pv_capex_jpy_per_mw_year"),
        )

    limit = ds["grid_import_limit_mw"].values
    limit_nom = max(float(limit.max()), 1e-9)
    n.add("Bus", "grid")
    n.add(
        "Generator",
        "grid_supply",
        bus="grid",
        p_nom=limit_nom,
        p_max_pu=pd.Series(limit / limit_nom, index=snapshots),
        marginal_cost=pd.Series(ds["grid_energy_price_jpy_per_mwh"].values, index=snapshots),
    )
    n.add(
        "Link",
        "connection",
        bus0="grid",
        bus1="site",
        efficiency=1.0,
        p_nom_extendable=True,
        p_nom_min=scalar("grid_contract_mw_min"),
        p_nom_max=scalar("grid_contract_mw_max"),
        capital_cost=scalar("grid_capacity_charge_jpy_per_mw_year"),
    )

    if "battery_charge_efficiency" in ds:
        eta_c = scalar("battery_charge_efficiency")
        eta_d = scalar("battery_discharge_efficiency")
        n.add("Bus", "battery")
        n.add(
            "Store",
            "battery",
            bus="battery",
            e_nom_extendable=True,
            e_nom_min=scalar("battery_energy_mwh_min"),
            e_nom_max=scalar("battery_energy_mwh_max"),
            e_min_pu=scalar("battery_soc_min_fraction"),
            e_max_pu=scalar("battery_soc_max_fraction"),
            e_cyclic=True,
            standing_loss=scalar("battery_standing_loss_per_h"),
            capital_cost=scalar("battery_energy_capex_jpy_per_mwh_year"),
        )
        n.add(
            "Link",
            "battery_charge",
            bus0="site",
            bus1="battery",
            efficiency=eta_c,
            p_nom_extendable=True,
            p_nom_min=scalar("battery_power_mw_min"),
            p_nom_max=scalar("battery_power_mw_max"),
            capital_cost=scalar("battery_power_capex_jpy_per_mw_year"),
        )
        n.add(
            "Link",
            "battery_discharge",
            bus0="battery",
            bus1="site",
            efficiency=eta_d,
            p_nom_extendable=True,
            marginal_cost=scalar("battery_throughput_cost_jpy_per_mwh") * eta_d,
        )
    return n


def couple_battery_power(n) -> None:
    """η_d · p_nom(discharge) = p_nom(charge): one power rating P for both directions."""
    if "battery_charge" not in n.links.index:
        return
    p_nom = n.model["Link-p_nom"]
    eta_d = float(n.links.at["battery_discharge", "efficiency"])
    n.model.add_constraints(
        eta_d * p_nom.sel(name="battery_discharge") - p_nom.sel(name="battery_charge") == 0,
        name="Link-battery_power_coupling",
    )


def run_pypsa(case: str, steps: int | None) -> dict:
    import highspy
    import pypsa

    ds = _load_inputs(case, steps)
    rss_before = _maxrss_mib()

    # Laps at the start and end of HiGHS's run cut solve_model into hand-off / solve / extract.
    # linopy calls ``run()`` on a ``highspy.Highs``, so wrapping that Python class's method is
    # enough (it also works across linopy versions that run HiGHS in a worker thread).
    clock = Clock()
    iterations = {}
    base_run = highspy._Highs.run

    def timed_run(h):
        clock.lap("hand_off")
        try:
            return base_run(h)
        finally:
            clock.lap("solve")
            iterations["simplex"] = h.getInfo().simplex_iteration_count

    highspy.Highs.run = timed_run

    n = build_network(ds)
    clock.lap("build_network")
    n.optimize.create_model()
    couple_battery_power(n)
    clock.lap("build_model")
    status, condition = n.optimize.solve_model(
        solver_name="highs", io_api="direct", solver_options=dict(HIGHS_OPTIONS)
    )
    clock.lap("extract")
    clock.merge("build", "build_network", "build_model")
    if status != "ok":
        raise RuntimeError(f"PyPSA: {status} {condition}")

    return {
        "side": "pypsa",
        "status": condition,
        "objective": float(n.objective) + float(n.objective_constant),
        "objective_constant": float(n.objective_constant),
        "rows": int(n.model.ncons),
        "cols": int(n.model.nvars),
        "simplex_iterations": iterations["simplex"],
        "sizes": {
            "pv_mw": _opt(n.generators, "pv", "p_nom_opt"),
            "battery_mw": _opt(n.links, "battery_charge", "p_nom_opt"),
            "battery_mwh": _opt(n.stores, "battery", "e_nom_opt"),
            "contract_mw": _opt(n.links, "connection", "p_nom_opt"),
        },
        "versions": {"pypsa": pypsa.__version__, "linopy": _version("linopy")},
        "timings": clock.wall,
        "cpu": clock.cpu,
        "rss_before_build_mib": rss_before,
        "peak_rss_mib": _maxrss_mib(),
    }


def _opt(table, name: str, column: str) -> float | None:
    return float(table.at[name, column]) if name in table.index else None


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


# --------------------------------------------------------------------------- driver


def _worker(side: str, case: str, steps: int | None) -> None:
    run = run_wattbit if side == "wattbit" else run_pypsa
    run(case, WARM_UP_STEPS)  # untimed: imports (PyPSA imports lazily) and first-call caches
    out = run(case, steps)
    print("RESULT " + json.dumps(out))


def _spawn(side: str, case: str, steps: int | None) -> dict:
    cmd = [sys.executable, __file__, "--worker", side, "--case", case]
    if steps:
        cmd += ["--steps", str(steps)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"{side} worker failed (exit {proc.returncode})")
    return json.loads(lines[-1][len("RESULT ") :])


def _fmt_row(cells: list[str], widths: list[int]) -> str:
    return "| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default=str(DEFAULT_CASE))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="cut the horizon (quick checks)")
    parser.add_argument("--worker", choices=["wattbit", "pypsa"], help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=None, help="also write the raw runs here")
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.case, args.steps)
        return

    runs: dict[str, list[dict]] = {"wattbit": [], "pypsa": []}
    for r in range(args.repeats):
        order = ("wattbit", "pypsa") if r % 2 == 0 else ("pypsa", "wattbit")
        for side in order:
            load = os.getloadavg()[0]
            res = _spawn(side, args.case, args.steps)
            res["loadavg_1min_before"] = load
            runs[side].append(res)
            total = sum(res["timings"][p] for p in PHASES)
            cpu = sum(res["cpu"][p] for p in PHASES)
            print(
                f"repeat {r + 1}/{args.repeats} {side:7s}: wall {total:6.2f} s ("
                + " ".join(f"{p} {res['timings'][p]:.2f}" for p in PHASES)
                + f"), CPU {cpu:6.2f} s, objective {res['objective']:.6f}, load avg {load:.2f}",
                flush=True,
            )

    w0, p0 = runs["wattbit"][0], runs["pypsa"][0]
    objectives = [r["objective"] for side in runs.values() for r in side]
    ref = w0["objective"]
    worst = max(abs(o - ref) / abs(ref) for o in objectives)
    print()
    print(f"case: {args.case}  steps: {args.steps or 'full horizon'}  repeats: {args.repeats}")
    print(
        f"LP sizes before presolve — wattbit: {w0['rows']} rows × {w0['cols']} columns "
        f"({w0['nnz']} nonzeros); PyPSA/linopy: {p0['rows']} rows × {p0['cols']} columns"
    )
    print(
        f"objective (JPY/yr) — wattbit {ref:.6f}, PyPSA {p0['objective']:.6f}; "
        f"worst relative difference over all runs {worst:.2e} (tolerance {REL_TOL:g})"
    )
    print(f"sizes — wattbit {w0['sizes']}\n        PyPSA   {p0['sizes']}")
    print(
        "wattbit LP optimum charges and discharges at once: "
        f"{w0['simultaneous']} (False: exclusivity 'auto' adds no binary, the LP is the problem)"
    )
    print()

    widths = [10, 14, 12, 15]

    def table(key: str, title: str) -> None:
        def med(side: str, phase: str) -> float:
            if phase == "total":
                return statistics.median(sum(r[key][p] for p in PHASES) for r in runs[side])
            return statistics.median(r[key][phase] for r in runs[side])

        print(f"{title}, median of {args.repeats} runs, seconds")
        print(_fmt_row(["phase", "wattbit", "PyPSA", "wattbit/PyPSA"], widths))
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for phase in (*PHASES, "total"):
            w, p = med("wattbit", phase), med("pypsa", phase)
            print(_fmt_row([phase, f"{w:.3f}", f"{p:.3f}", f"{w / p:.2f}"], widths))
        print()

    table("timings", "wall time")
    table("cpu", "process CPU time (all threads)")
    print(
        "PyPSA build = network "
        f"{statistics.median(r['timings']['build_network'] for r in runs['pypsa']):.3f} s + "
        f"linopy model {statistics.median(r['timings']['build_model'] for r in runs['pypsa']):.3f}"
        " s (median wall)"
    )
    loads = [r["loadavg_1min_before"] for side in runs.values() for r in side]
    print(f"1-min load average before each run: {min(loads):.2f} … {max(loads):.2f}")
    print()
    print("peak memory: ru_maxrss of each side's own subprocess, MiB (median)")
    print(_fmt_row(["", "wattbit", "PyPSA", "wattbit/PyPSA"], widths))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for key, label in (("peak_rss_mib", "peak"), ("rss_before_build_mib", "pre-build")):
        w = statistics.median(r[key] for r in runs["wattbit"])
        p = statistics.median(r[key] for r in runs["pypsa"])
        print(_fmt_row([label, f"{w:.0f}", f"{p:.0f}", f"{w / p:.2f}"], widths))
    w = statistics.median(r["peak_rss_mib"] - r["rss_before_build_mib"] for r in runs["wattbit"])
    p = statistics.median(r["peak_rss_mib"] - r["rss_before_build_mib"] for r in runs["pypsa"])
    print(_fmt_row(["increase", f"{w:.0f}", f"{p:.0f}", f"{w / p:.2f}"], widths))
    print(
        "simplex iterations (median) — wattbit "
        f"{statistics.median(r['simplex_iterations'] for r in runs['wattbit']):.0f}, PyPSA "
        f"{statistics.median(r['simplex_iterations'] for r in runs['pypsa']):.0f}"
    )
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    assert worst <= REL_TOL, f"objectives differ by {worst:.2e} relative (> {REL_TOL:g})"
    print(f"objectives agree within {REL_TOL:g} relative: OK")


if __name__ == "__main__":
    main()
