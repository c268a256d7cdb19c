"""Generator unit commitment (O1–O7) on a generator built alone, 4 steps of 1 h (α = 2190), with
hand-derived expectations. The generator has a big tank and may run at every step; a grid supply
at a price per step and unserved load at 1e6 JPY/MWh close the bus."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from test_components.closing import MW, REL, close, given, model, solve, supply, values
from wattbit.formulations.commitment import CommitmentData, whole_steps
from wattbit.formulations.common import Size
from wattbit.formulations.generator import GeneratorData, define_generator

ALPHA = 2190.0
FUEL = 20_000.0  # JPY/MWh generated
VOLL = 1e6
ONE_UNIT = Size(2.0, 2.0, unit=2.0)  # one 2 MW genset


def _site(
    load: list[float],
    grid_price: list[float] | None,
    power: Size = ONE_UNIT,
    capex: float = 0.0,
    **commitment: float,
) -> tuple[pyo.ConcreteModel, pyo.Block]:
    m = model(4)
    data = GeneratorData(
        power_mw=power,
        availability=np.ones(4),
        refuel_limit=np.zeros(4),
        fuel_tank_h=100.0,
        capex_jpy_per_mw_year=capex,
        fuel_cost_jpy_per_mwh=FUEL,
        commitment=CommitmentData(unit_mw=power.unit, availability=np.ones(4), **commitment),
    )
    gen = define_generator(m, data)
    given(m, "demand", [-x for x in load])
    if grid_price is not None:
        supply(m, "grid", price=grid_price)
    supply(m, "unserved", price=VOLL)
    close(m)
    solve(m)
    return m, gen


def test_a_genset_runs_at_min_load_or_stays_off():
    """(O1, O2, O3). One 2 MW unit, minimum stable load μ = 0.5 (1 MW); load [0.5, 1.5, 0.5,
    1.5] MW, grid at 30 000 JPY/MWh, fuel 20 000. Without a sink the unit cannot run below 1 MW,
    so it is off at the 0.5 MW steps and carries the 1.5 MW steps: u = [0, 1, 0, 1], y = [0, 1.5,
    0, 1.5], starts [0, 1, 0, 1], stops [0, 0, 1, 0]. Cost α (20 000 · 3 + 30 000 · 1) = 197.1e6."""
    m, gen = _site([0.5, 1.5, 0.5, 1.5], [30_000.0] * 4, min_load_fraction=0.5)
    np.testing.assert_allclose(values(gen.units_on), [0, 1, 0, 1], atol=MW)
    np.testing.assert_allclose(values(gen.output_mw), [0.0, 1.5, 0.0, 1.5], atol=MW)
    np.testing.assert_allclose(values(gen.starts), [0, 1, 0, 1], atol=MW)
    np.testing.assert_allclose(values(gen.stops), [0, 0, 1, 0], atol=MW)
    assert pyo.value(m.objective) == pytest.approx(ALPHA * 90_000.0, rel=REL)


@pytest.mark.parametrize(
    ("start_cost", "units_on"),
    [(5_000.0, [1, 0, 1, 0]), (12_000.0, [1, 1, 1, 0])],
    ids=["cheap-starts", "dear-starts"],
)
def test_start_up_cost_chooses_fewer_starts(start_cost, units_on):
    """(O3, O7). One 2 MW unit, μ = 0.5; load [1.5, 1, 1.5, 1] MW, grid [30 000, 10 000, 30 000,
    10 000] JPY/MWh. The unit carries steps 0 and 2 (fuel 20 000 < 30 000); at step 1 staying on
    at 1 MW costs α (20 000 − 10 000) · 1 = α · 10 000 more than the grid, a second start α c_s.
    At c_s = 5 000 it stops and restarts (2 starts); at 12 000 it stays on (1 start). Cost:
    α (20 000 · 3 + 10 000 · 2 + 2 · 5 000) = α · 90 000 (one start: α · 95 000), or
    α (20 000 · 4 + 10 000 + 12 000) = α · 102 000 (two starts: α · 104 000; never on: the grid
    alone, α (30 000 · 3 + 10 000 · 2) = α · 110 000); the start-up term α c_s Σ s."""
    m, gen = _site(
        [1.5, 1.0, 1.5, 1.0],
        [30_000.0, 10_000.0, 30_000.0, 10_000.0],
        min_load_fraction=0.5,
        start_cost_jpy=start_cost,
    )
    np.testing.assert_allclose(values(gen.units_on), units_on, atol=MW)
    starts = sum(values(gen.starts))
    assert starts == pytest.approx(2 if start_cost < 10_000 else 1, abs=MW)
    assert pyo.value(gen.cost_startup_jpy) == pytest.approx(ALPHA * start_cost * starts, rel=REL)
    expected = 90_000.0 if start_cost < 10_000 else 102_000.0
    assert pyo.value(m.objective) == pytest.approx(ALPHA * expected, rel=REL)


def test_minimum_up_time_keeps_a_started_unit_on():
    """(O4). One 2 MW unit, μ = 0.5; load [1.5, 1, 1, 1] MW, grid [50 000, 10 000, 10 000,
    10 000]. Without a minimum up time the unit runs at step 0 only: α (20 000 · 1.5 + 10 000 · 3)
    = 131.4e6. With τ_up = 3 h a start at step 0 holds it on through step 2 at ≥ 1 MW: on for
    steps 0–2, y = [1.5, 1, 1, 0], α (20 000 · 3.5 + 10 000) = 175.2e6, still below never
    starting, α (50 000 · 1.5 + 10 000 · 3) = 229.95e6."""
    load, price = [1.5, 1.0, 1.0, 1.0], [50_000.0, 10_000.0, 10_000.0, 10_000.0]
    free, gen0 = _site(load, price, min_load_fraction=0.5)
    np.testing.assert_allclose(values(gen0.units_on), [1, 0, 0, 0], atol=MW)
    assert pyo.value(free.objective) == pytest.approx(131.4e6, rel=REL)
    m, gen = _site(load, price, min_load_fraction=0.5, min_up_h=3.0)
    np.testing.assert_allclose(values(gen.units_on), [1, 1, 1, 0], atol=MW)
    np.testing.assert_allclose(values(gen.output_mw), [1.5, 1.0, 1.0, 0.0], atol=MW)
    assert pyo.value(m.objective) == pytest.approx(175.2e6, rel=REL)


def test_minimum_down_time_keeps_a_stopped_unit_off():
    """(O5). One 2 MW unit, μ = 0.5; load [1.5, 0.5, 1.5, 1.5] MW, grid at 30 000. At step 1 the
    unit must stop (0.5 MW is below its 1 MW minimum, no sink); with τ_dn = 2 h the stop at step
    1 keeps it off at step 2 (Σ w over steps 1–2 ≤ N − u_2), so u = [1, 0, 0, 1], y = [1.5, 0, 0,
    1.5]: α (20 000 · 3 + 30 000 · 2) = 262.8e6, against u = [1, 0, 1, 1] without it."""
    load, price = [1.5, 0.5, 1.5, 1.5], [30_000.0] * 4
    _, free = _site(load, price, min_load_fraction=0.5)
    np.testing.assert_allclose(values(free.units_on), [1, 0, 1, 1], atol=MW)
    m, gen = _site(load, price, min_load_fraction=0.5, min_down_h=2.0)
    np.testing.assert_allclose(values(gen.units_on), [1, 0, 0, 1], atol=MW)
    np.testing.assert_allclose(values(gen.output_mw), [1.5, 0.0, 0.0, 1.5], atol=MW)
    assert pyo.value(m.objective) == pytest.approx(ALPHA * 120_000.0, rel=REL)


@pytest.mark.parametrize(("spare", "units"), [(0, 3), (1, 4)], ids=["N", "N+1"])
def test_n_plus_one_keeps_a_spare_unit(spare, units):
    """(O6). A 5 MW load and no grid; units of 2 MW sized in [0, 10] at 1000 JPY/MW/yr, far
    below unserved load. N units must carry y_t = 5 with k out: 2 (N − k) ≥ 5, so N = 3 without
    a spare and N = 4 with k = 1 (the spare is installed, not run: output stays 5 MW)."""
    _, gen = _site(
        [5.0] * 4, None, power=Size(0.0, 10.0, unit=2.0), capex=1_000.0, redundant_units=spare
    )
    assert pyo.value(gen.power_mw_units) == pytest.approx(units, abs=MW)
    assert pyo.value(gen.power_mw) == pytest.approx(2.0 * units, abs=MW)
    np.testing.assert_allclose(values(gen.output_mw), [5.0] * 4, atol=MW)
    assert not hasattr(gen, "units_on")  # no commitment asked: N+k needs N alone


def test_n_plus_one_buys_no_spare_for_a_site_without_gensets():
    """(O6). The same 5 MW load with a free grid: gensets would only cost capex, so N = 0 and
    b = 0, though k = 1 (k b ≤ N ≤ N̄ b: no spares without a genset plant); output 0."""
    _, gen = _site(
        [5.0] * 4, [0.0] * 4, power=Size(0.0, 10.0, unit=2.0), capex=1_000.0, redundant_units=1
    )
    assert pyo.value(gen.power_mw_units) == pytest.approx(0.0, abs=MW)
    assert pyo.value(gen.installed) == pytest.approx(0.0, abs=MW)
    np.testing.assert_allclose(values(gen.output_mw), [0.0] * 4, atol=MW)


def test_a_start_delay_costs_the_first_step_of_a_start():
    """(O2). One 2 MW unit, μ = 0.25, start delay 0.5 h: a unit started at step t gives at most
    2 (1 − 0.5) = 1 MW in that step. A 2 MW load, no grid: y = [1, 2, 2, 2], 1 MWh unserved."""
    _, gen = _site([2.0] * 4, None, min_load_fraction=0.25, start_delay_h=0.5)
    np.testing.assert_allclose(values(gen.output_mw), [1.0, 2.0, 2.0, 2.0], atol=MW)


def test_whole_steps_round_durations_up():
    """(O4, O5): τ in steps, rounded up, at least 1."""
    assert [whole_steps(h, 1.0) for h in (0.0, 0.5, 1.0, 2.5)] == [1, 1, 1, 3]
    assert whole_steps(1.0, 0.5) == 2


@pytest.mark.parametrize("cap", ["event", "year"])
@pytest.mark.parametrize(
    ("hours_on", "output", "cost"),
    [(False, [1.0] * 4, 80_000.0), (True, [1.0, 1.0, 0.0, 0.0], 100_000.0)],
    ids=["full-load-hours", "hours-on"],
)
def test_running_hours_counted_on_the_units_on(hours_on, output, cost, cap):
    """(F9, F10, O9, O10): full-load hours against hours on. One 2 MW unit, μ = 0.5, a 1 MW load through a 4-step fault;
    at most 2 h of running per fault, or 2 α = 4380 h a year (the same share of the horizon);
    grid at 30 000 JPY/MWh, fuel 20 000. Full-load hours: 4 h at half load are 2 h, so the unit
    runs throughout: α · 4 · 20 000 = α · 80 000. Hours on: the unit may be on 2 of the 4 h (the
    same cost at any two), the grid the rest: α (2 · 20 000 + 2 · 30 000) = α · 100 000."""
    m = model(4)
    caps = {"max_run_h_per_event": 2.0} if cap == "event" else {"max_run_h_per_year": 2 * ALPHA}
    data = GeneratorData(
        power_mw=ONE_UNIT,
        availability=np.ones(4),
        refuel_limit=np.zeros(4),
        fuel_tank_h=100.0,
        fuel_cost_jpy_per_mwh=FUEL,
        events=((0, 1, 2, 3),),
        commitment=CommitmentData(
            unit_mw=2.0, availability=np.ones(4), min_load_fraction=0.5, hours_on=hours_on
        ),
        **caps,
    )
    gen = define_generator(m, data)
    given(m, "demand", [-1.0] * 4)
    supply(m, "grid", price=30_000.0)
    supply(m, "unserved", price=VOLL)
    close(m)
    solve(m)
    assert pyo.value(m.objective) == pytest.approx(ALPHA * cost, rel=REL)
    assert sorted(values(gen.output_mw)) == pytest.approx(sorted(output), abs=MW)
    on_rows = {"run_hours_on_per_event_max", "run_hours_on_per_year_max"}
    full_load_rows = {"run_hours_per_event_max", "run_hours_per_year_max"}
    rows = {c.local_name for c in gen.component_objects(pyo.Constraint)}
    assert bool(rows & on_rows) == hours_on and bool(rows & full_load_rows) != hours_on
