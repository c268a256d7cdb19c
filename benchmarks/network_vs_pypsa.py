"""Network benchmark: the town case's system LP through wattbit and the same LP built in PyPSA.

Run from the repository root (PyPSA is the ``bench`` extra: ``pip install ".[bench]"``)::

    python benchmarks/network_vs_pypsa.py [--repeats 3] [--steps N]

As ``benchmarks/full_year_vs_pypsa.py`` (whose clock, HiGHS options and table format it uses):
each repeat solves each side in a fresh subprocess (sides alternating) after an untimed 24-step
warm-up; it prints the median wall and CPU time per phase, the ratio wattbit/PyPSA, each side's
peak memory (``ru_maxrss`` of its own process) and asserts equal objectives (relative 1e-6).

Phases: build (inputs Dataset → model), hand-off (model → HiGHS holding the LP), solve
(``Highs.run()``), extract (solution → results with the duals: wattbit's
``build_network_results`` with nodal prices; PyPSA's read-back, ``assign_solution``,
``assign_duals``, post-processing).

The case: ``cases/town/case.toml`` with what PyPSA has no component for switched off by
overrides (``TOWN_AS_LP``): no deferrable or migratable IT load, no EV fleet, battery
exclusivity ``never`` (the LP). Kept: 7 buses and 8 lines/transformers (KVL, the north
transformer's limit a series), the slack's import limit and price, the three DCs with load
shedding, both PV plants, the shared battery's two parts (owner's and reserved), and the solar
park's 12 MW reverse-flow limit. The PyPSA model, every parameter from
``wattbit.network.inputs.build_network_inputs``:

* a Bus per node; a Load per node with its base load; at the slack a Generator with
  ``p_nom = max import limit``, ``p_max_pu`` the limit over it, marginal cost the import price;
* a Line per line or transformer (``x`` its reactance, ``r = 0``), ``s_nom = max limit`` and
  ``s_max_pu`` the limit over it;
* per DC a Load ``L^IT_t · PUE_t`` and a Generator ``<dc>_shed`` of ``p_max_pu · p_nom`` equal to
  that load and marginal cost ``v / PUE_t`` (= ``v`` per MWh of IT power, D3);
* per PV a Generator with ``p_max_pu`` its availability; behind a reverse-flow limit ``R`` at a
  node where the PV is the only asset and the base load is zero (the solar park) the net
  injection is the generation, so ``N2`` is the bound ``min(a_t K, R) / K``;
* per battery part a StorageUnit (``p_nom = P``, ``max_hours = E / P``, efficiencies, standing
  loss, cyclic state of charge, marginal cost the throughput cost on discharge, as B9);
* snapshot weightings: objective ``α · Δt``, generators and stores ``Δt``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from full_year_vs_pypsa import HIGHS_OPTIONS, REL_TOL, Clock, _fmt_row, _maxrss_mib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CASE = ROOT / "cases" / "town" / "case.toml"
PHASES = ("build", "hand_off", "solve", "extract")
WARM_UP_STEPS = 24
TOWN_AS_LP = {
    **{f"dcs.{dc}.deferrable_share": 0.0 for dc in ("dc_a", "dc_b", "dc_c")},
    **{f"dcs.{dc}.migratable_share": 0.0 for dc in ("dc_a", "dc_b", "dc_c")},
    "ev_fleets": [],
    "batteries.bess_north.exclusive": "never",
}


def _inputs(steps: int | None):
    from wattbit.network.case import load_network_case
    from wattbit.network.inputs import build_network_inputs

    overrides = dict(TOWN_AS_LP)
    if steps:
        overrides["horizon.steps"] = steps
    return build_network_inputs(load_network_case(CASE, overrides))


# --------------------------------------------------------------------------- wattbit side


def run_wattbit(steps: int | None) -> dict:
    import numpy as np

    from wattbit.network.model import create_network_model
    from wattbit.network.run import build_network_results
    from wattbit.solve import (
        Solution,
        SolverOptions,
        _new_highs,
        compile_model,
        load_duals,
        load_values,
        request_duals,
    )

    ds = _inputs(steps)
    rss_before = _maxrss_mib()
    clock = Clock()
    m = request_duals(create_network_model(ds))
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
    solved = h.getSolution()
    sol = Solution("optimal", status, objective, 0.0, np.asarray(solved.col_value))
    sol.row_duals, sol.reduced_costs = np.asarray(solved.row_dual), np.asarray(solved.col_dual)
    load_values(m, cm, sol.column_values)
    load_duals(m, cm, sol, SolverOptions())
    results = build_network_results(ds, m, {"objective_jpy": objective})
    clock.lap("extract")
    return {
        "side": "wattbit",
        "status": status,
        "objective": objective,
        "rows": cm.lp.num_row_,
        "cols": cm.lp.num_col_,
        "nnz": len(cm.lp.a_matrix_.value_),
        "simplex_iterations": h.getInfo().simplex_iteration_count,
        "nodal_prices": "node_price_jpy_per_mwh" in results,
        "timings": clock.wall,
        "cpu": clock.cpu,
        "rss_before_build_mib": rss_before,
        "peak_rss_mib": _maxrss_mib(),
    }


# --------------------------------------------------------------------------- PyPSA side


def build_network(ds):
    """The network inputs Dataset as a PyPSA network (see the module doc for the mapping)."""
    import numpy as np
    import pandas as pd
    import pypsa

    if ds.sizes["ev"] or ds.sizes["route"] or float(ds["dc_deferrable_share"].max()) > 0:
        raise NotImplementedError("EV fleets, migration and deferrable load are not mapped")
    if hasattr(pypsa.options, "api") and hasattr(pypsa.options.api, "legacy_string_dtype"):
        pypsa.options.api.legacy_string_dtype = True
    dt, alpha = float(ds.attrs["dt_h"]), float(ds.attrs["annual_factor"])
    snapshots = pd.RangeIndex(ds.sizes["time"], name="snapshot")
    n = pypsa.Network()
    n.set_snapshots(snapshots)
    n.snapshot_weightings = pd.DataFrame(
        {"objective": alpha * dt, "stores": dt, "generators": dt}, index=snapshots, dtype=float
    )

    def series(values) -> pd.Series:
        return pd.Series(np.asarray(values, dtype=float), index=snapshots)

    nodes = ds["node"].values.tolist()
    for i, bus in enumerate(nodes):
        n.add("Bus", bus, v_nom=1.0)
        n.add("Load", f"load_{bus}", bus=bus, p_set=series(ds["node_base_load_mw"].values[i]))
        if ds["node_slack"].values[i]:
            limit = ds["node_upstream_import_limit_mw"].values[i]
            n.add(
                "Generator",
                f"supply_{bus}",
                bus=bus,
                p_nom=float(limit.max()),
                p_max_pu=series(limit / limit.max()),
                marginal_cost=series(ds["node_upstream_import_price_jpy_per_mwh"].values[i]),
            )
    for j, name in enumerate(ds["branch"].values.tolist()):
        if str(ds["branch_kind"].values[j]) == "link":
            raise NotImplementedError("transport links are not mapped")
        limit = ds["branch_limit_mw"].values[j]
        n.add(
            "Line",
            name,
            bus0=str(ds["branch_from_node"].values[j]),
            bus1=str(ds["branch_to_node"].values[j]),
            x=float(ds["branch_reactance"].values[j]),
            r=0.0,
            s_nom=float(limit.max()),
            s_max_pu=series(limit / limit.max()),
        )
    for i, dc in enumerate(ds["dc"].values.tolist()):
        bus = str(ds["dc_node"].values[i])
        pue = ds["dc_pue"].values[i]
        facility = ds["dc_it_mw"].values[i] * pue
        n.add("Load", dc, bus=bus, p_set=series(facility))
        nom = max(float(facility.max()), 1e-9)
        voll = float(ds["dc_value_of_lost_compute_jpy_per_mwh"].values[i])
        n.add(
            "Generator",
            f"{dc}_shed",
            bus=bus,
            p_nom=nom,
            p_max_pu=series(facility / nom),
            marginal_cost=series(voll / pue),
        )
    reverse = ds["node_reverse_flow_limit_mw"].values
    for i, pv in enumerate(ds["pv"].values.tolist()):
        bus = str(ds["pv_node"].values[i])
        k = float(ds["pv_capacity_mw_max"].values[i])
        available = ds["pv_availability"].values[i] * k
        b = nodes.index(bus)
        if np.isfinite(reverse[b]).all():
            alone = sum(
                str(x) == bus for dim in ("dc", "pv", "battery") for x in ds[f"{dim}_node"].values
            )
            if alone != 1 or np.any(ds["node_base_load_mw"].values[b] != 0):
                raise NotImplementedError(f"reverse-flow limit at {bus} with more than a PV")
            available = np.minimum(available, reverse[b])
        n.add("Generator", pv, bus=bus, p_nom=k, p_max_pu=series(available / k))
    for i, part in enumerate(ds["battery"].values.tolist()):
        if str(ds["battery_soc_rule"].values[i]) != "cyclic":
            raise NotImplementedError("a battery SoC rule other than cyclic is not mapped")
        power = float(ds["battery_power_mw_max"].values[i])
        n.add(
            "StorageUnit",
            part,
            bus=str(ds["battery_node"].values[i]),
            p_nom=power,
            max_hours=float(ds["battery_energy_mwh_max"].values[i]) / power,
            efficiency_store=float(ds["battery_charge_efficiency"].values[i]),
            efficiency_dispatch=float(ds["battery_discharge_efficiency"].values[i]),
            standing_loss=float(ds["battery_standing_loss_per_h"].values[i]),
            marginal_cost=float(ds["battery_throughput_cost_jpy_per_mwh"].values[i]),
            cyclic_state_of_charge=True,
        )
    return n


def run_pypsa(steps: int | None) -> dict:
    import highspy
    import pypsa

    ds = _inputs(steps)
    rss_before = _maxrss_mib()
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
    n.optimize.create_model()
    clock.lap("build")
    status, condition = n.optimize.solve_model(
        solver_name="highs", io_api="direct", solver_options=dict(HIGHS_OPTIONS)
    )
    clock.lap("extract")
    if status != "ok":
        raise RuntimeError(f"PyPSA: {status} {condition}")
    return {
        "side": "pypsa",
        "status": condition,
        "objective": float(n.objective) + float(n.objective_constant),
        "rows": int(n.model.ncons),
        "cols": int(n.model.nvars),
        "simplex_iterations": iterations["simplex"],
        "versions": {"pypsa": pypsa.__version__},
        "timings": clock.wall,
        "cpu": clock.cpu,
        "rss_before_build_mib": rss_before,
        "peak_rss_mib": _maxrss_mib(),
    }


# --------------------------------------------------------------------------- driver


def _spawn(side: str, steps: int | None) -> dict:
    cmd = [sys.executable, __file__, "--worker", side] + (["--steps", str(steps)] if steps else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"{side} worker failed (exit {proc.returncode})")
    return json.loads(lines[-1][len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="cut the horizon (quick checks)")
    parser.add_argument("--worker", choices=["wattbit", "pypsa"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run = run_wattbit if args.worker == "wattbit" else run_pypsa
        run(WARM_UP_STEPS)  # untimed: imports and first-call caches
        print("RESULT " + json.dumps(run(args.steps)))
        return

    runs: dict[str, list[dict]] = {"wattbit": [], "pypsa": []}
    for r in range(args.repeats):
        for side in ("wattbit", "pypsa") if r % 2 == 0 else ("pypsa", "wattbit"):
            load = os.getloadavg()[0]
            res = _spawn(side, args.steps)
            res["load"] = load
            runs[side].append(res)
            print(
                f"repeat {r + 1}/{args.repeats} {side:7s}: wall "
                f"{sum(res['timings'][p] for p in PHASES):7.2f} s ("
                + " ".join(f"{p} {res['timings'][p]:.2f}" for p in PHASES)
                + f"), peak {res['peak_rss_mib']:.0f} MiB, objective {res['objective']:.6f}, "
                f"load avg {load:.2f}",
                flush=True,
            )
    w0, p0 = runs["wattbit"][0], runs["pypsa"][0]
    ref = w0["objective"]
    worst = max(abs(r["objective"] - ref) / abs(ref) for side in runs.values() for r in side)
    print(f"\ncase: {CASE.name} as an LP (TOWN_AS_LP)  steps: {args.steps or 'full horizon'}")
    print(
        f"LP — wattbit: {w0['rows']} rows × {w0['cols']} columns ({w0['nnz']} nonzeros); "
        f"PyPSA/linopy: {p0['rows']} rows × {p0['cols']} columns"
    )
    print(
        f"objective (JPY/yr) — wattbit {ref:.6f}, PyPSA {p0['objective']:.6f}; worst relative "
        f"difference {worst:.2e}\n"
    )
    widths = [10, 14, 12, 15]
    for key, title in (("timings", "wall time"), ("cpu", "process CPU time")):

        def med(side: str, phase: str, key: str = key) -> float:
            pick = PHASES if phase == "total" else (phase,)
            return statistics.median(sum(r[key][p] for p in pick) for r in runs[side])

        print(f"{title}, median of {args.repeats} runs, seconds")
        print(_fmt_row(["phase", "wattbit", "PyPSA", "wattbit/PyPSA"], widths))
        print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for phase in (*PHASES, "total"):
            w, p = med("wattbit", phase), med("pypsa", phase)
            print(_fmt_row([phase, f"{w:.3f}", f"{p:.3f}", f"{w / p:.2f}"], widths))
        print()
    w = statistics.median(r["peak_rss_mib"] for r in runs["wattbit"])
    p = statistics.median(r["peak_rss_mib"] for r in runs["pypsa"])
    print(f"peak memory (median ru_maxrss, MiB): wattbit {w:.0f}, PyPSA {p:.0f}, ratio {w / p:.2f}")
    loads = [r["load"] for side in runs.values() for r in side]
    print(f"1-min load average before each run: {min(loads):.2f} … {max(loads):.2f}")
    assert worst <= REL_TOL, f"objectives differ by {worst:.2e} relative (> {REL_TOL:g})"
    print(f"objectives agree within {REL_TOL:g} relative: OK")


if __name__ == "__main__":
    main()
