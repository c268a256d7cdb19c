"""The L-shaped method (:mod:`wattbit.strategies.benders`) against the extensive form.

Short cuts of the reference case (measured series) with hand-placed faults, so that the scenario
tree has a shared path, a branch that shares the first hours of a fault with another, and a
scenario without faults: the decomposition must give the extensive form's objective (1e-6
relative) and sizes (1e-4), and pass the same verifier (K1, K3). The hand case of
``test_type3.py`` (a scenario that cannot foresee its fault) is solved by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import hourly_index, write_series
from type3_helpers import OPTIONS, REFERENCE, solved, write_case

from wattbit.case import load_case
from wattbit.inputs import build_inputs
from wattbit.sizes import size_names
from wattbit.strategies import solve
from wattbit.strategies.benders import Refused, decompose, solve_scenarios, splits, twins
from wattbit.strategies.master import distinct_rows, representatives
from wattbit.strategies.scenario_pool import ScenarioEngine
from wattbit.strategies.stochastic import solve_stochastic
from wattbit.studies.out_of_sample import (
    fault_costs,
    fresh_faults,
    parallel_fault_costs,
    plan_inputs,
)

FAULTS = [  # (scenario, start, hours)
    (0, "2025-04-01T20:00:00+09:00", 6.0),
    (1, "2025-04-02T14:00:00+09:00", 30.0),
    (2, "2025-04-02T14:00:00+09:00", 3.0),
    (3, "2025-04-03T02:00:00+09:00", 12.0),
]


def reference_cut(scenarios: int, steps: int = 96, **extra: object) -> dict:
    """The reference case cut to ``steps`` hours from its start, with the hand-placed faults of
    the first ``scenarios`` scenarios and none sampled."""
    events = [
        {"start": start, "duration_h": hours, "scenario": k}
        for k, start, hours in FAULTS
        if k < scenarios
    ]
    return {
        "horizon.steps": steps,
        "type3.scenarios": scenarios,
        "type3.sampling": "monte_carlo",
        "type3.fault_statistics": [],
        "type3.area_share": 0.0,
        "type3.maintenance": [],
        "type3.events": events,
        **extra,
    }


def inputs_of(overrides: dict):
    return build_inputs(load_case(REFERENCE, overrides))


def assert_same(benders, extensive) -> None:
    solved(benders)
    solved(extensive)
    b, e = benders.results, extensive.results
    assert b.attrs["expected_cost_jpy"] == pytest.approx(e.attrs["expected_cost_jpy"], rel=1e-6)
    for name in size_names(e):
        assert float(b[name].max()) == pytest.approx(float(e[name].max()), rel=1e-4, abs=1e-4)
    assert b.attrs["benders_lower_bound_jpy"] <= e.attrs["expected_cost_jpy"] * (1 + 1e-9)


@pytest.mark.parametrize("scenarios", [2, 4])
def test_decomposition_equals_the_extensive_form(scenarios):
    """K = 2 and K = 4 on a 96 h cut: the same objective and sizes as the extensive form."""
    inputs = inputs_of(reference_cut(scenarios))
    _, split = splits(inputs)
    assert split.min() > 0  # a shared path, and for K = 4 three branching steps
    assert scenarios == 2 or len(set(split.tolist())) == 3
    run = decompose(inputs, OPTIONS)
    assert run.results.attrs["stochastic_method"] == "benders"
    assert_same(run, solve_stochastic(inputs, OPTIONS))


def test_sizes_chosen_over_scenarios_equal_the_extensive_form():
    """The battery's and generator's sizes free (0–100 MW, 0–400 MWh, the case's bounds) over
    K = 4: the master chooses them."""
    inputs = inputs_of(reference_cut(4, steps=72))
    assert_same(decompose(inputs, OPTIONS), solve_stochastic(inputs, OPTIONS))


def test_a_scenario_cannot_foresee_its_fault(tmp_path):
    """The hand case of ``test_type3.py``: energy is free except 40 kJPY/MWh at 10:00–29:00; a
    10 MW / 10 MWh battery earns by discharging then; scenario 0 (p = 0.01) has a 2 h fault at
    30:00. Until 30:00 it dispatches as scenario 1 does (K3, held by the master), so the
    battery is empty at the fault and scenario 0 loses 20 MWh."""
    price = np.where((np.arange(48) >= 10) & (np.arange(48) < 30), 40_000.0, 0.0)
    t3 = {
        "margin_mw": 20.0,
        "scenarios": 2,
        "scenario_probabilities": [0.01, 0.99],
        "events": [{"start": "2025-05-02T06:00:00+09:00", "duration_h": 2.0, "scenario": 0}],
    }
    path = write_case(tmp_path, type3=t3, generator=None)
    write_series(tmp_path / "series.csv", hourly_index(48), price=price)
    inputs = build_inputs(load_case(path))
    assert splits(inputs)[1].tolist() == [30, 30]
    run = solved(decompose(inputs, OPTIONS))
    assert run.results["dc_shed_it_mw"].values[0].sum() == pytest.approx(20.0, abs=1e-6)
    soc = run.results["battery_soc_mwh"]
    assert "scenario" not in soc.dims and float(soc[29]) == pytest.approx(0.0, abs=1e-6)


def test_local_processes_give_the_same_answer():
    inputs = inputs_of(reference_cut(3, steps=48))
    serial = decompose(inputs, OPTIONS)
    parallel = decompose(inputs, OPTIONS, ScenarioEngine(jobs=2))
    assert parallel.results.attrs["stochastic_engine"] == "2 local processes"
    assert parallel.timings["workers_cpu"] > 0 and serial.timings["workers_cpu"] == 0
    assert parallel.results.attrs["expected_cost_jpy"] == pytest.approx(
        serial.results.attrs["expected_cost_jpy"], rel=1e-9
    )


def test_a_milp_is_refused_and_solved_as_the_extensive_form():
    """An SLA penalty per event needs a binary per event: no LP cut bounds it."""
    inputs = inputs_of(reference_cut(2, steps=48, **{"type3.sla_penalty_jpy_per_event": 1e6}))
    with pytest.raises(Refused, match="SLA"):
        decompose(inputs, OPTIONS)
    run = solved(solve_scenarios(inputs, OPTIONS, "benders"))
    assert run.results.attrs["stochastic_method"] == "extensive"
    assert "SLA" in run.results.attrs["stochastic_method_note"]


def test_out_of_sample_years_on_local_processes_equal_one_process():
    """The fresh years' faults of the out-of-sample evaluation, split over two local processes,
    cost exactly what one process computes."""
    overrides = {"horizon.steps": 96, "type3.scenarios": 2, "type3.maintenance": []}
    loaded = load_case(REFERENCE, overrides)
    inputs = build_inputs(loaded)
    run = solved(decompose(inputs, OPTIONS))
    plan = solved(solve(plan_inputs(loaded, inputs, run.results), OPTIONS))
    faults = fresh_faults(loaded, 2000, inputs.sizes["time"], float(inputs.attrs["dt_h"]))
    assert len(faults) >= 4
    serial = fault_costs(plan.results, faults)
    parallel = parallel_fault_costs(plan.results, faults, ScenarioEngine(jobs=2))
    assert np.array_equal(parallel, serial)
    assert serial.max() > 0  # the faults cost something: the comparison is not of zeros


def test_distinct_rows_keeps_the_first_of_identical_rows():
    """Against a plain set of (columns, coefficients, bounds): random rows with planted
    duplicates, a row equal to another but for one coefficient, one for a bound, an empty row."""
    rng = np.random.default_rng(3)
    base = sp.random(40, 12, density=0.3, random_state=4, format="csr")
    near = base[[5]].copy()
    near.data[0] += 1.0
    rows = sp.vstack([base, base[[1, 7, 7]], near, base[[9]], sp.csr_matrix((1, 12))]).tocsr()
    rows.sort_indices()
    lower = np.concatenate([rng.integers(0, 2, 40), [0, 0, 0, 0, 0, 0]]).astype(float)
    lower[40:43] = lower[[1, 7, 7]]
    lower[43] = lower[5]
    lower[44] = lower[9] + 1.0  # same coefficients as row 9, another bound
    upper = np.full(rows.shape[0], np.inf)
    seen, expected = set(), []
    for i in range(rows.shape[0]):
        row = rows[i]
        key = (row.indices.tobytes(), row.data.tobytes(), lower[i], upper[i])
        expected.append(key not in seen)
        seen.add(key)
    keep = distinct_rows(rows, lower, upper)
    assert keep.tolist() == expected
    assert keep.sum() == rows.shape[0] - 3  # the three planted copies go


def test_representatives_name_the_first_scenario_with_the_same_data_so_far():
    """δ of three scenarios: 1 and 2 agree up to step 4, both differ from 0 at step 2 (5 steps).
    Scenario 2's shared column at tie time τ belongs to scenario 0's class while τ < 2, to 1's
    while τ < 4, then to its own; a size (τ = −1) to scenario 0's."""
    delta = np.array([[5, 2, 2], [2, 5, 4], [2, 4, 5]])
    assert representatives(delta, 2).tolist() == [0, 0, 0, 1, 1, 2]
    assert representatives(delta, 0).tolist() == [0, 0, 0, 0, 0, 0]
    assert representatives(delta, 1).tolist() == [0, 0, 0, 1, 1, 1]


def test_the_progress_hook_hears_every_iteration():
    """``report`` is called once per L-shaped iteration, numbered from 1, before its master solve;
    from the second on the words carry the gap so far."""
    heard: list[str] = []

    def hook(message: str, /, *, done: int | None = None, total: int | None = None) -> None:
        heard.append(message)

    run = solved(solve_scenarios(inputs_of(reference_cut(2)), OPTIONS, "benders", report=hook))
    iterations = run.results.attrs["benders_iterations"]
    assert [m.split(" (")[0] for m in heard] == [
        f"L-shaped iteration {i}" for i in range(1, iterations + 1)
    ]
    assert all("gap" in m for m in heard[1:])


def test_scenarios_with_the_same_data_are_one_subproblem():
    """K = 4 on a 96 h cut, scenarios 1 and 3 with the same 30 h fault: three subproblems (1 and
    3 one, with their probabilities summed), the extensive form's objective and sizes, and
    scenario 3's results are its own inputs with scenario 1's dispatch."""
    overrides = reference_cut(4)
    overrides["type3.events"] = [
        {**e, "start": FAULTS[1][1], "duration_h": FAULTS[1][2]} if e["scenario"] == 3 else e
        for e in overrides["type3.events"]
    ]
    inputs = inputs_of(overrides)
    assert twins(inputs).tolist() == [0, 1, 2, 1]
    run = decompose(inputs, OPTIONS)
    assert run.results.attrs["benders_subproblems"] == 3
    assert_same(run, solve_stochastic(inputs, OPTIONS))
    r = run.results
    own = {"scenario_probability", "scenario_branch_step"}
    per_scenario = [n for n in r.data_vars if "scenario" in r[n].dims and n not in own]
    for name in per_scenario:
        assert np.array_equal(r[name].sel(scenario=3), r[name].sel(scenario=1)), name
    assert any(  # the comparison has teeth: scenario 2 differs from 1
        not np.array_equal(r[n].sel(scenario=2), r[n].sel(scenario=1)) for n in per_scenario
    )
    assert np.array_equal(r["scenario_probability"], inputs["scenario_probability"])
