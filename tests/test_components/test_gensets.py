"""A generator plant of several genset types (J1–J4, with each type's commitment O1–O8) built
alone, with hand-derived expectations. No grid unless stated; unserved load at 1e6 JPY/MWh and
no sink close the bus, so a genset on must deliver at least its minimum load to the load."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from test_components.closing import MW, REL, close, given, model, solve, supply, values
from wattbit.formulations.commitment import CommitmentData
from wattbit.formulations.common import Size
from wattbit.formulations.generator import GeneratorData, define_generator
from wattbit.formulations.gensets import GensetTypeData

VOLL = 1e6


def genset_type(
    name: str,
    unit: float,
    units: tuple[int, int],
    steps: int,
    capex: float = 0.0,
    fuel: float = 20_000.0,
    **commitment: float,
) -> GensetTypeData:
    """Type ``name``: ``units`` = (least, most) gensets of ``unit`` MW that may run every step."""
    return GensetTypeData(
        name=name,
        power_mw=Size(unit * units[0], unit * units[1], unit=unit),
        availability=np.ones(steps),
        commitment=CommitmentData(unit_mw=unit, availability=np.ones(steps), **commitment),
        capex_jpy_per_mw_year=capex,
        fuel_cost_jpy_per_mwh=fuel,
    )


def plant(
    load: list[float], types: list[GensetTypeData], redundant_units: int = 0, grid: float = 0.0
) -> tuple[pyo.ConcreteModel, pyo.Block]:
    n = len(load)
    m = model(n)
    data = GeneratorData(
        power_mw=Size(sum(j.power_mw.lower for j in types), sum(j.power_mw.upper for j in types)),
        availability=np.ones(n),
        refuel_limit=np.zeros(n),
        fuel_tank_h=100.0,
        types=tuple(types),
        redundant_units=redundant_units,
    )
    gen = define_generator(m, data)
    given(m, "demand", [-x for x in load])
    if grid:
        supply(m, "grid", price=grid)
    supply(m, "unserved", price=VOLL)
    close(m)
    solve(m)
    return m, gen


@pytest.mark.parametrize(
    ("no_load", "big_on", "small_on", "cost"),
    [
        (0.0, [0, 0, 1, 1, 1, 0], [2, 0, 0, 0, 0, 0], 252_000.0),
        (40_000.0, [0] * 6, [2, 0, 3, 3, 3, 0], 335_000.0),
    ],
    ids=["big-runs-the-block", "no-load-cost-hands-it-to-small"],
)
def test_cheap_to_run_big_and_cheap_to_start_small_split_the_load(no_load, big_on, small_on, cost):
    """(J1, J2, J4, O2, O7, O8). One 4 MW 'big' genset (μ = 0.5, so 2 MW at least; fuel 10 000
    JPY/MWh; 100 000 JPY a start; no-load cost c_nl) and three 1 MW 'small' ones (μ = 0.5;
    fuel 30 000; 1 000 a start); load [2, 0, 3, 3, 3, 0] MW, α = 8760/6 = 1460.
    At the 0 MW steps every genset is off (no sink). Step 0 alone: big costs 100 000 + 2 · 10 000
    = 120 000, two small 2 · 30 000 + 2 · 1 000 = 62 000: small. Steps 2–4: big alone 100 000
    + 9 · 10 000 = 190 000 (+ 3 c_nl); three small 9 · 30 000 + 3 · 1 000 = 273 000; big at its
    2 MW minimum with one small 100 000 + 6 · 10 000 + 3 · 30 000 + 1 000 = 251 000 (+ 3 c_nl).
    With c_nl = 0 big runs the block: α (62 000 + 190 000) = α · 252 000. With c_nl = 40 000 h⁻¹
    big alone costs 310 000 and small takes the block: α (62 000 + 273 000) = α · 335 000."""
    load = [2.0, 0.0, 3.0, 3.0, 3.0, 0.0]
    big = genset_type(
        "big",
        4.0,
        (1, 1),
        6,
        fuel=10_000.0,
        min_load_fraction=0.5,
        start_cost_jpy=100_000.0,
        no_load_cost_jpy_per_h=no_load,
    )
    small = genset_type(
        "small", 1.0, (3, 3), 6, fuel=30_000.0, min_load_fraction=0.5, start_cost_jpy=1_000.0
    )
    m, gen = plant(load, [big, small])
    np.testing.assert_allclose(values(gen.big_units_on), big_on, atol=MW)
    np.testing.assert_allclose(values(gen.small_units_on), small_on, atol=MW)
    np.testing.assert_allclose(values(gen.big_output_mw), np.multiply(big_on, 3.0), atol=MW)
    np.testing.assert_allclose(values(gen.output_mw), load, atol=MW)  # J2: y = Σ_j y_j
    assert pyo.value(gen.power_mw) == pytest.approx(7.0, abs=MW)  # J1: 4 + 3 · 1
    assert pyo.value(m.objective) == pytest.approx(1460.0 * cost, rel=REL)
    assert sum(values(gen.small_starts)) == pytest.approx(sum(np.diff(small_on, prepend=0).clip(0)))


@pytest.mark.parametrize(
    ("spare", "small_capex", "big_units", "small_units"),
    [(0, 1.4e6, 1, 0), (1, 1.4e6, 0, 4), (1, 1.6e6, 2, 0)],
    ids=["N", "N+1-small-spares", "N+1-big-spare"],
)
def test_n_plus_one_keeps_a_spare_of_the_largest_unit(spare, small_capex, big_units, small_units):
    """(J3). A 3 MW load, no grid; 'big' gensets of 3 MW (0–3) at 1e6 JPY/MW/yr (3e6 a unit) and
    'small' ones of 1 MW (0–4) at c JPY/MW/yr; fuel alike, so only the capex differs.
    N (k = 0): one big (3e6) beats three small (3c = 4.2e6 or 4.8e6).
    N+1 (k = 1): the rating less the largest unit installed must carry 3 MW. Two big: 6 − 3 = 3
    (6e6); one big and three small: 6 − 3 (3e6 + 3c); four small: 4 − 1 = 3 (4c); one big and two
    small is not N+1 (5 − 3 = 2 < 3), nor is one big alone. At c = 1.4e6 four small (5.6e6) win,
    at c = 1.6e6 two big (6e6 < 6.4e6 < 7.8e6)."""
    big = genset_type("big", 3.0, (0, 3), 4, capex=1e6)
    small = genset_type("small", 1.0, (0, 4), 4, capex=small_capex)
    _, gen = plant([3.0] * 4, [big, small], redundant_units=spare)
    assert pyo.value(gen.big_power_mw_units) == pytest.approx(big_units, abs=MW)
    assert pyo.value(gen.small_power_mw_units) == pytest.approx(small_units, abs=MW)
    np.testing.assert_allclose(values(gen.output_mw), [3.0] * 4, atol=MW)
    capex = 3e6 * big_units + small_capex * small_units
    assert pyo.value(gen.cost_capex_jpy) == pytest.approx(capex, rel=REL)  # J4


def test_one_type_is_the_single_genset_generator():
    """(J1–J3 = I1, O6). A plant of one type equals the generator sized in that unit: 2 MW units
    in [0, 10] at 1000 JPY/MW/yr, μ = 0.25, N+1, a 5 MW load: N = 4 either way, same cost."""
    single = model(4)
    data = GeneratorData(
        power_mw=Size(0.0, 10.0, unit=2.0),
        availability=np.ones(4),
        refuel_limit=np.zeros(4),
        fuel_tank_h=100.0,
        capex_jpy_per_mw_year=1_000.0,
        fuel_cost_jpy_per_mwh=20_000.0,
        commitment=CommitmentData(
            unit_mw=2.0, availability=np.ones(4), min_load_fraction=0.25, redundant_units=1
        ),
    )
    one = define_generator(single, data)
    given(single, "demand", [-5.0] * 4)
    supply(single, "unserved", price=VOLL)
    close(single)
    solve(single)
    typed = genset_type("g", 2.0, (0, 5), 4, capex=1_000.0, min_load_fraction=0.25)
    m, gen = plant([5.0] * 4, [typed], redundant_units=1)
    assert pyo.value(gen.g_power_mw_units) == pytest.approx(4.0, abs=MW)
    assert pyo.value(one.power_mw_units) == pytest.approx(4.0, abs=MW)
    assert pyo.value(m.objective) == pytest.approx(pyo.value(single.objective), rel=REL)
