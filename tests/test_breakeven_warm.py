"""The breakeven with fewer solves (studies/bisection.py, PriceSolves.point, kept bases) gives the
answer of the plain bisection that solves every step in full.

The reference solves every price of :func:`bisect_price` with :meth:`PriceSolves.run` (results
built and verified) on a PriceSolves of its own; the breakeven under test reads points off the
warm model, decides steps from the concave cost and verifies only the bracket's ends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wattbit.studies.bisection import Concave, bisect_price
from wattbit.studies.breakeven import SIZE_TOL_MWH, PriceSolves, size_zero, vs_load_following
from wattbit.warm import Point

CASE = Path(__file__).resolve().parents[1] / "cases" / "type2_battery_wins" / "case.toml"
TOL = 1e-2


def plain(solves: PriceSolves, strategy: str, mode: str, question: str) -> tuple:
    """(estimate, half-width) of the bisection with every step solved in full on ``solves``."""
    lf = solves.run("load_following", mode).kpis["total_cost_jpy"]

    def value(price: float) -> float:
        kpis = solves.run(strategy, mode, price).kpis
        if question == "vs_load_following":
            return lf - kpis["total_cost_jpy"] - 1e-9 * max(1.0, abs(lf))
        return kpis.get("battery_energy_mwh", 0.0) - SIZE_TOL_MWH

    estimate, half, _, _ = bisect_price(value, solves.case_price, TOL)
    return estimate, half


@pytest.mark.parametrize(("steps", "mode"), [(72, "type2_fixed"), (48, "firm")])
def test_the_answers_are_the_plain_bisections(steps, mode):
    cut = {"horizon.steps": steps}
    solves, reference = PriceSolves(CASE, cut), PriceSolves(CASE, cut)
    found = [
        vs_load_following(solves, mode, TOL),
        size_zero(solves, "battery_shaped", mode, TOL),
        size_zero(solves, "both", mode, TOL),
    ]
    for b in found:
        expected = plain(reference, b.strategy, mode, b.question)
        assert (b.cost_jpy_per_kwh, b.tolerance_jpy_per_kwh) == expected, b.label
    assert len(solves._runs) < len(reference._runs)  # fewer results built and verified


def test_points_read_off_the_warm_model_equal_full_runs():
    """A point (no results, no verifier) reads the total cost and the battery energy exactly as
    the verified results of the same price do; the full run here is a fresh PriceSolves."""
    cut = {"horizon.steps": 72}
    light, full = PriceSolves(CASE, cut), PriceSolves(CASE, cut)
    light.run("battery_shaped", "type2_fixed")
    for price in (60_000.0, 90_000.0, 75_000.0, 200_000.0):
        point = light.point("battery_shaped", "type2_fixed", price)
        run = full.run("battery_shaped", "type2_fixed", price)
        assert point.total_cost_jpy == pytest.approx(run.kpis["total_cost_jpy"], rel=1e-9)
        assert point.battery_energy_mwh == pytest.approx(run.kpis["battery_energy_mwh"], abs=1e-6)
    assert light.pool is not None and light.pool.last == "update"


def test_a_wrong_decision_is_caught_at_the_ends(monkeypatch):
    """If the concave bounds lie (here: every size is declared positive), the verified ends
    disagree and the bisection is repeated with every step solved: the plain answer still."""
    monkeypatch.setattr(Concave, "energy_bounds", lambda self, k: (1.0, 1.0))
    cut = {"horizon.steps": 48}
    found = size_zero(PriceSolves(CASE, cut), "battery_shaped", "type2_fixed", TOL)
    expected = plain(PriceSolves(CASE, cut), "battery_shaped", "type2_fixed", "size_zero")
    assert (found.cost_jpy_per_kwh, found.tolerance_jpy_per_kwh) == expected


def lines(k: float) -> Point:
    """A hand concave cost: f(k) = min(100 + 3k, 130 + 1k, 150): breakpoints at k = 15, 20."""
    options = [(100 + 3 * k, 3.0), (130 + k, 1.0), (150.0, 0.0)]
    cost, energy = min(options)
    return Point(cost, energy)


def test_concave_bounds_by_hand():
    c = Concave()
    for k in (0.0, 40.0):
        p = lines(k)
        c.add(k, p.total_cost_jpy, p.battery_energy_mwh)
    assert c.upper(10.0) == pytest.approx(130.0)  # the line from k = 0 (the one from 40 is 150)
    assert c.lower(10.0) == pytest.approx(100 + 50 * 10 / 40)  # the chord
    low, high = c.energy_bounds(10.0)
    assert low <= 3.0 <= high
    x = c.crossing(10.0)  # the lines 100 + 3k and 150 cross at k = 50/3
    assert x == pytest.approx(50 / 3)
    p = lines(x)  # f(50/3) = 146.67 < 150: another piece between
    c.add(x, p.total_cost_jpy, p.battery_energy_mwh)
    for k in (15.0, 17.0, 20.0, 25.0):
        p = lines(k)
        c.add(k, p.total_cost_jpy, p.battery_energy_mwh)
    for k, energy in ((1.0, 3.0), (16.0, 1.0), (19.0, 1.0), (22.0, 0.0), (30.0, 0.0)):
        low, high = c.energy_bounds(k)
        assert low - 1e-6 <= energy <= high + 1e-6, k
        assert lines(k).total_cost_jpy <= c.upper(k) + 1e-9
        assert lines(k).total_cost_jpy >= c.lower(k) - 1e-9
    assert c.energy_bounds(22.0)[1] <= 1e-6  # decided: no battery beyond the last breakpoint
    assert c.energy_bounds(16.0)[0] >= 1.0 - 1e-6


def test_the_bisection_starts_from_the_case_price():
    """Positive at the start means positive at 0 (non-increasing): 0 is not evaluated; a sign
    that ``known`` decides is not evaluated either."""
    calls: list[float] = []

    def value(c: float) -> float:
        calls.append(c)
        return 1.0 if c < 5000.0 else -1.0

    estimate, half, _, ends = bisect_price(value, 1000.0, 1e-3, known=lambda c: c < 4000 or None)
    assert 0.0 not in calls and all(c >= 4000 for c in calls)
    assert abs(estimate - 5000.0) <= half
    assert [s for _, s in ends] == [True, False]


def test_the_curve_holds_every_price_solved_for_the_strategy():
    """The plot's curve of a question is every price solved for its strategy and mode when it
    ends, by the cells and by either question, with that question's measure; its own steps are
    among them.
    At the case's price (the cell) the net benefit is the two cells' difference."""
    solves = PriceSolves(CASE, {"horizon.steps": 72})
    lf = solves.run("load_following", "type2_fixed").kpis["total_cost_jpy"]
    cell = solves.run("battery_shaped", "type2_fixed").kpis
    first = vs_load_following(solves, "type2_fixed", TOL)
    second = size_zero(solves, "battery_shaped", "type2_fixed", TOL)
    solved = [price for price, _ in solves.solved("battery_shaped", "type2_fixed")]
    assert [price for price, _ in second.curve] == solved == sorted(solved)
    assert {price for price, _ in first.curve} <= set(solved)  # as solved when it ended
    for b in (first, second):
        assert {price for price, _ in b.points} <= {price for price, _ in b.curve}
    assert solves.case_price in solved
    benefit = dict(first.curve)[solves.case_price]
    assert benefit == pytest.approx(lf - cell["total_cost_jpy"], rel=1e-12)
    energy = dict(second.curve)[solves.case_price]
    assert energy == pytest.approx(cell["battery_energy_mwh"], rel=1e-9)
    assert len(first.curve) > len(second.points)  # size_zero's decided steps still plotted
