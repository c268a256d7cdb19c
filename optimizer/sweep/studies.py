"""What one point of a sweep runs: a study (``solve``, ``compare``, ``ridethrough``, ``connect``,
``network``) of the case with the point's overrides, checked before any solve by
:func:`precheck` and run by :func:`run_study`, which returns the study's KPIs as one flat dict of
numbers (the variables of ``sweep.nc``).

=============  ===========================  =====================================================
study          runs (as the command)         KPIs
=============  ===========================  =====================================================
``solve``      ``wattbit solve``             every KPI and cost term; ``economics`` for NPV
``network``    ``wattbit network`` (system)  every KPI of the network run
``ridethrough``  ``wattbit ridethrough``     every KPI of the K-scenario run, the ride-through
                                             cost, its standard error, expected unserved IT energy
                                             and the momentary faults a year
``connect``    ``wattbit connect``           per option ``<option>.npv_jpy`` and
                                             ``<option>.annual_cost_jpy``; ``best_npv_jpy``
``compare``    ``wattbit compare``           per cell ``<strategy>.<mode>.<column>`` of the
                                             comparison table (no breakeven search: sweep the
                                             battery cost instead)
=============  ===========================  =====================================================
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wattbit.errors import CaseError, SolveError

STUDIES = ("solve", "compare", "ridethrough", "connect", "network")
TYPE3_STUDIES = {"ridethrough": "type3", "connect": "connect"}
STATUS_OF_EXIT = {3: "infeasible", 4: "unbounded", 5: "no_solution", 6: "error", 7: "error"}
Overrides = Mapping[str, Any]


def _study_overrides(study: str, overrides: Overrides) -> list[dict[str, Any]]:
    """The overrides each solve of a point loads its case with (the study fixes the mode)."""
    if study in TYPE3_STUDIES:
        return [{**overrides, "grid.mode": "type3_n1"}]
    if study == "compare":
        from wattbit.studies.compare import MODES_DEFAULT

        return [{**overrides, "grid.mode": mode} for mode in MODES_DEFAULT]
    return [dict(overrides)]


def precheck(study: str, case: Path, overrides: Overrides) -> None:
    """Load every case a point of ``study`` solves, and refuse what would fail only at solve time
    (a type ③ case of K > 1 scenarios under ``solve``, a ridethrough without ``[type3]``, type ③
    events or maintenance windows outside the horizon): :class:`CaseError`."""
    if study == "network":
        from wattbit.network.case import load_network_case

        load_network_case(case, dict(overrides))
        return
    from wattbit.case import load_case

    for each in _study_overrides(study, overrides):
        loaded = load_case(case, each)
        t3 = loaded.case.type3
        type3 = study == "solve" and t3 is not None and loaded.case.grid.mode == "type3_n1"
        if type3 and t3.scenarios > 1:
            raise CaseError(
                loaded.file,
                "type3.scenarios",
                f"{t3.scenarios} scenarios are solved together by `--study ridethrough`; "
                "`--study solve` takes type3.scenarios = 1",
            )
        table = TYPE3_STUDIES.get(study)
        if table is not None and getattr(loaded.case, table) is None:
            raise CaseError(loaded.file, table, f"`--study {study}` needs a [{table}] table")
        if t3 is not None and loaded.case.grid.mode == "type3_n1":
            from wattbit.n1 import scenario_events

            scenario_events(loaded)  # events and maintenance windows inside the horizon


def slug(name: str) -> str:
    """A table label as a variable name part: ``type ③ now, firm later`` → ``type3_now_firm_later``."""
    plain = name.replace("③", "3").replace("②", "2")
    return re.sub(r"[^A-Za-z0-9]+", "_", plain).strip("_").lower()


def _numbers(row: Mapping[str, Any], prefix: str) -> dict[str, float]:
    return {
        f"{prefix}.{column}": float(value)
        for column, value in row.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


class Kept:
    """What a worker keeps between the ``solve`` cases of its group: the warm models of one
    solver setting (:class:`wattbit.warm.WarmPool`, one model: consecutive cases of a group
    differ in a cost or a bound where they can)."""

    def __init__(self) -> None:
        self.pool: Any = None

    def optimise(self, options: Any) -> Any:
        """The one optimisation of a case, on the kept model where it takes the case."""
        from wattbit.warm import WarmPool

        if self.pool is None or self.pool.options != options:
            self.pool = WarmPool(options, size=1)
        pool = self.pool
        pool.last = ""  # set again if the case's strategy solves on the pool
        return lambda inputs, _: pool.solve(inputs)


def _solve(
    case: str, overrides: Overrides, options: dict[str, Any], kept: Kept | None = None
) -> dict[str, Any]:
    from wattbit.case import load_case
    from wattbit.economics import capital
    from wattbit.inputs import build_inputs
    from wattbit.optimise import options_from_case, solve_inputs
    from wattbit.strategies import solve

    loaded = load_case(case, dict(overrides))
    solver = options_from_case(loaded, **options)
    inputs = build_inputs(loaded)
    run = solve(inputs, solver, solve_inputs if kept is None else kept.optimise(solver))
    fields: dict[str, Any] = {"mip_gap": run.solution.mip_gap}
    if kept is not None and kept.pool.last:
        fields["resolve"] = kept.pool.last  # update / rebase: on the kept model
    if not run.ok:
        return {"status": run.solution.status, "message": run.solution.message, **fields}
    investment, recovery = capital(run.results)
    fields["economics"] = {
        "investment_jpy": investment,
        "operating_cost_jpy_per_year": run.kpis["total_cost_jpy"] - recovery,
        "discount_rate": float(run.results.attrs["discount_rate"]),
    }
    return {**_solved(run), "kpis": run.kpis, **fields}


def _solved(run: Any) -> dict[str, Any]:
    """Status and message of a run with a solution: ``ok`` (optimal), ``time_limit``, or
    ``error`` when the verifier found a violation."""
    sol = run.solution
    status = "ok" if sol.status == "optimal" else sol.status
    check = run.verification
    if not check.ok:
        message = f"verifier: max violation {check.max_violation:.2e} ({check.worst})"
        return {"status": "error", "message": message}
    return {"status": status, "message": sol.message}


def _network(case: str, overrides: Overrides, options: dict[str, Any]) -> dict[str, Any]:
    from wattbit.network.case import load_network_case
    from wattbit.network.run import solve_network_case
    from wattbit.solve import SolverOptions

    loaded = load_network_case(case, dict(overrides))
    s = loaded.case.solver
    solver = {"time_limit_s": s.time_limit_s, "mip_gap": s.mip_gap, "threads": s.threads}
    run = solve_network_case(loaded, "system", SolverOptions(**{**solver, **options}))
    fields: dict[str, Any] = {"mip_gap": run.solution.mip_gap}
    if not run.ok:
        return {"status": run.solution.status, "message": run.solution.message, **fields}
    return {**_solved(run), "kpis": run.kpis, **fields}


def _ride_through(case: str, overrides: Overrides, options: dict[str, Any]) -> dict[str, Any]:
    from wattbit.studies.ridethrough import ride_through

    study = ride_through(Path(case), dict(overrides), options.get("time_limit_s"))
    kpis = {
        **study.kpis,
        "ride_through_cost_jpy_per_year": study.cost_jpy_per_year,
        "expected_cost_standard_error_jpy_per_year": study.standard_error_jpy_per_year,
        "expected_unserved_it_mwh_per_year": study.survival.expected_unserved_mwh_per_year,
        "momentary_faults_per_year": study.survival.momentary_faults_per_year,
    }
    return {**_solved(study.run), "kpis": kpis, "mip_gap": study.run.solution.mip_gap}


def _case_options(case: str, overrides: Overrides, options: dict[str, Any]) -> Any:
    """The case's ``[solver]`` settings with the sweep's (one thread, its time limit)."""
    from wattbit.case import load_case
    from wattbit.optimise import options_from_case

    return options_from_case(load_case(case, dict(overrides)), **options)


def _connect(case: str, overrides: Overrides, options: dict[str, Any]) -> dict[str, Any]:
    from wattbit.studies.connection import connection_choice

    solver = _case_options(case, overrides, options)
    choice = connection_choice(Path(case), dict(overrides), solver)
    kpis: dict[str, float] = {}
    for _, row in choice.table.iterrows():
        name = slug(row["option"])
        kpis[f"{name}.npv_jpy"] = float(row["npv_jpy"])
        kpis[f"{name}.annual_cost_jpy"] = float(row["annual_cost_jpy"])
    kpis["best_npv_jpy"] = float(choice.table["npv_jpy"].max())
    return {"status": "ok", "message": choice.verdict(), "kpis": kpis}


def _compare(case: str, overrides: Overrides, options: dict[str, Any]) -> dict[str, Any]:
    from wattbit.studies.compare import compare

    solver = _case_options(case, overrides, options)
    comparison = compare(Path(case), overrides=dict(overrides), options=solver, breakeven_modes=())
    kpis: dict[str, float] = {}
    for _, row in comparison.table().iterrows():
        kpis.update(_numbers(row.to_dict(), f"{row['strategy']}.{row['mode']}"))
    kpis = {name: value for name, value in kpis.items() if not math.isnan(value)}
    return {"status": "ok", "message": "solved every cell", "kpis": kpis}


RUNNERS = {
    "solve": _solve,
    "network": _network,
    "ridethrough": _ride_through,
    "connect": _connect,
    "compare": _compare,
}


def run_study(
    study: str,
    case: str,
    overrides: Overrides,
    time_limit_s: float | None,
    kept: Kept | None = None,
) -> dict[str, Any]:
    """Run ``study`` for one point (HiGHS on one thread): its ``status``, ``message``, ``kpis``
    and (``solve``) ``economics`` and ``mip_gap``. A study that stops on a failed solve gives the
    status of its exit code; bad input an ``error``. ``kept``: a worker's models between the
    ``solve`` cases of its group (``resolve`` in the record says how each was solved)."""
    options: dict[str, Any] = {"threads": 1}
    if time_limit_s is not None:
        options["time_limit_s"] = time_limit_s
    try:
        if study == "solve":
            return _solve(case, overrides, options, kept)
        return RUNNERS[study](case, overrides, options)
    except SolveError as exc:
        return {"status": STATUS_OF_EXIT.get(exc.exit_code, "error"), "message": str(exc)}
    except CaseError as exc:
        return {"status": "error", "message": str(exc)}
