"""Sweep workers that keep the compiled LP between cost-only cases (wattbit.sweep.engine.groups,
wattbit.warm.WarmPool): each case's KPIs equal its cold solve in a fresh process (objective
1e-9 relative, sizes 1e-6), and the cases are grouped and ordered as the engine says."""

from __future__ import annotations

import pytest
from conftest import EXAMPLE

from wattbit.sweep.engine import MAX_GROUP, Engine, execute, groups, run_case
from wattbit.sweep.spec import Task, generate, parse_spec

PRICE = "battery.energy_capex_jpy_per_kwh"
SIZES = ("battery_power_mw", "battery_energy_mwh", "pv_capacity_mw")


def task(i: int, study: str = "solve", **overrides: object) -> Task:
    return Task(f"k{i}", "case.toml", dict(overrides), (i,), None, study)


def test_groups_put_structure_slowest_and_split_for_jobs():
    """A price × start grid given price-first: the worker solves one start's prices in a row (a
    cost change between neighbours); other studies stay one case per process."""
    starts, prices = ("2025-05-01", "2025-08-01"), (10, 20, 30)
    tasks = [
        task(i, **{PRICE: p, "horizon.start": s})
        for i, (p, s) in enumerate((p, s) for p in prices for s in starts)
    ]
    other = task(99, study="compare", **{PRICE: 10})
    (one, lone) = groups([*tasks, other], jobs=1)
    assert [(t.overrides["horizon.start"], t.overrides[PRICE]) for t in one] == [
        (s, p) for s in starts for p in prices
    ]
    assert lone == [other]
    two = groups(tasks, jobs=2)
    assert [len(g) for g in two] == [3, 3]
    assert {t.overrides["horizon.start"] for t in two[0]} == {starts[0]}
    many = [task(i, **{PRICE: i}) for i in range(MAX_GROUP + 1)]
    assert [len(g) for g in groups(many)] == [MAX_GROUP, 1]


def test_cost_and_bound_points_are_warm_and_equal_cold():
    """Four battery prices and two energy ranges of a two-day cut of the example, at --jobs 1:
    one worker, every case after the first re-solved on its kept LP, KPIs as cold."""
    spec = parse_spec(
        EXAMPLE,
        sets=[
            "horizon.steps=48",
            f"{PRICE}=10000,20000,40000,80000",
            "battery.energy_mwh.max=20,200",
        ],
    )
    tasks = generate(spec)
    assert len(groups(tasks)) == 1
    warm = {r["key"]: r for r in execute(tasks, Engine(jobs=1))}
    assert [warm[t.key]["resolve"] for t in groups(tasks)[0]] == ["new"] + ["update"] * 7
    for t in tasks:
        cold = run_case(t)  # no kept model: what one fresh process per case did
        w, c = warm[t.key], cold
        assert w["status"] == c["status"] == "ok"
        assert w["kpis"]["total_cost_jpy"] == pytest.approx(c["kpis"]["total_cost_jpy"], rel=1e-9)
        for size in SIZES:
            assert w["kpis"][size] == pytest.approx(c["kpis"][size], abs=1e-6), size
        assert w["economics"] == pytest.approx(c["economics"], rel=1e-9)


def test_structural_points_in_one_group_are_solved_on_new_models():
    """Two horizons (another number of steps: another LP) in one group: the second horizon's
    first case starts a new model, and both equal cold."""
    spec = parse_spec(EXAMPLE, sets=["horizon.steps=24,48", f"{PRICE}=20000,40000"])
    tasks = generate(spec)
    (group,) = groups(tasks)
    warm = {r["key"]: r for r in execute(tasks, Engine(jobs=1))}
    assert [warm[t.key]["resolve"] for t in group] == ["new", "update", "new", "update"]
    for t in tasks:
        c = run_case(t)
        assert warm[t.key]["kpis"]["total_cost_jpy"] == pytest.approx(
            c["kpis"]["total_cost_jpy"], rel=1e-9
        )
