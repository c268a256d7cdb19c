"""Rolling horizon compiled once (issue #13 goal 3): the full-length windows of ``type2_forecast``
are one LP updated in place (:mod:`wattbit.strategies.windows`), and give what building every
window from scratch gives."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest
from conftest import REPO

from wattbit.case import load_case
from wattbit.inputs import build_inputs
from wattbit.optimise import options_from_case
from wattbit.sizes import size_names
from wattbit.solve import compile_model
from wattbit.strategies import lpmap, rolling
from wattbit.strategies.realise import FORECAST_ONLY, with_sizes
from wattbit.strategies.windows import WindowModel

CASES = {
    "battery_ar1": ("type2_battery_wins", {}),
    "deferral_and_battery": ("type2_flexible_dc", {}),
    "noisy": ("type2_battery_wins", {"grid.forecast.method": "noisy"}),
    "pv_and_battery": ("tokyo_substation_dc", {}),
}


def _inputs(case: str, extra: dict, steps: int = 120):
    overrides = {
        "horizon.steps": steps,
        "horizon.start": "2026-01-05T00:00:00+09:00",
        "grid.mode": "type2_forecast",
        **extra,
    }
    loaded = load_case(REPO / "cases" / case / "case.toml", overrides)
    return build_inputs(loaded), options_from_case(loaded)


@pytest.mark.parametrize("name", sorted(CASES))
def test_in_place_windows_equal_windows_built_from_scratch(name):
    """Five days of measured data, windows of 48 h committing 24 h (starts 0, 24, 48, 72 h; the
    last one reaches the horizon's end and keeps the year's terminal energy, so it is another LP
    and solved cold): the realised cost is that of the cold rolling horizon (the operation may
    be another of equal cost: the window LPs have alternative optima), objective to 1e-9
    relative; the three full-length windows were solved on one compiled LP. The PV case too: its
    availability is 0 at night, a coefficient of the fixed PV capacity column that each window
    sets (the model is built with the zeros moved, module doc of ``windows``)."""
    case, extra = CASES[name]
    inputs, options = _inputs(case, extra)
    warm = rolling.solve_rolling(inputs, options, compiled_once=True)
    cold = rolling.solve_rolling(inputs, options, compiled_once=False)
    assert warm.ok and cold.ok
    assert warm.verification.ok and cold.verification.ok
    assert warm.kpis["total_cost_jpy"] == pytest.approx(cold.kpis["total_cost_jpy"], rel=1e-9)
    assert warm.results.attrs["rolling_windows"] == cold.results.attrs["rolling_windows"] == 4
    assert warm.results.attrs["rolling_windows_in_place"] == 3
    assert cold.results.attrs["rolling_windows_in_place"] == 0


def test_the_measured_map_reproduces_a_cold_compile_and_names_what_it_cannot_map():
    """The map measured on the first window gives the second window's LP data as a cold compile
    does (costs, bounds, offset, matrix to 1e-9); the load, the forecast limit, the price and the
    battery's start state enter it; a window with another length is left to a cold solve."""
    inputs, options = _inputs("type2_battery_wins", {})
    fixed = with_sizes(inputs.drop_vars(FORECAST_ONLY[1:]), {"battery_energy_mwh": 10.0})
    horizon = rolling.Horizon(fixed, None, 10.0)
    first = horizon.dataset(0, 48, 0.0, 0.0, None)
    second = horizon.dataset(24, 72, 6.5, 0.0, None)
    model = WindowModel.from_window(first, options, rolling.CARRIED)
    assert model is not None
    assert {
        "dc_it_mw",
        "grid_import_limit_mw",
        "grid_energy_price_jpy_per_mwh",
        "battery_initial_soc_fraction",
    } <= set(model.maps)
    assert model.check(second, *horizon.arrays(24, 72, 6.5, 0.0))
    shorter = horizon.dataset(24, 60, 6.5, 0.0, None)
    assert model.vectors(shorter) is None
    assert model.solve(shorter) is None


def test_a_map_that_misses_sends_every_window_cold():
    """If the check against a cold compile fails (here: the second window's price scaled after
    the map was measured, so the model's data no longer follow it), the model is marked unusable
    and no later window is solved in place."""
    inputs, options = _inputs("type2_battery_wins", {})
    horizon = rolling.Horizon(with_sizes(inputs, {}), None, 0.0)
    first = horizon.dataset(0, 48, 0.0, 0.0, None)
    model = WindowModel.from_window(first, options, rolling.CARRIED)
    model.maps["grid_energy_price_jpy_per_mwh"].coef *= 2.0
    model._feed()  # the update is precomputed from the maps
    second = horizon.dataset(24, 72, 0.0, 0.0, None)
    assert not model.check(second)
    assert model.solve(second) is None


def _tiny(rows: int):
    """Two columns and ``rows`` rows ``x + (i + 1) y ≥ i``: a compiled model whose row count
    alone differs from another's."""
    m = pyo.ConcreteModel()
    m.x, m.y = pyo.Var(bounds=(0, 10)), pyo.Var(bounds=(0, 10))
    m.c = pyo.Constraint(range(rows), rule=lambda m, i: m.x + (i + 1) * m.y >= i)
    m.obj = pyo.Objective(expr=m.x + m.y)
    return compile_model(m)


def test_a_probe_with_another_row_count_is_refused_not_an_index_error():
    """Reading a probe's matrix on the first window's pattern: a probe with the same columns
    but fewer rows (the pattern names a row it lacks) or more rows gives ``None`` (the input is
    then structural), not scipy's IndexError."""
    three, two, four = _tiny(3), _tiny(2), _tiny(4)
    assert lpmap.vectors(two, lpmap.matrix(three)) is None
    assert lpmap.vectors(four, lpmap.matrix(three)) is None
    same = lpmap.vectors(_tiny(3), lpmap.matrix(three))
    assert same is not None and np.array_equal(same, lpmap.vectors(three))


def _pv_window():
    inputs, options = _inputs("tokyo_substation_dc", {})
    fixed = with_sizes(inputs, {s: 2.0 for s in size_names(inputs)})
    return rolling.Horizon(fixed, None, 2.0).dataset(0, 48, 0.0, 0.0, None), options


def test_pv_availability_is_mapped_from_a_model_built_with_its_zeros_moved(monkeypatch):
    """PV availability (0 at night) is mapped, not structural, when the model is built with its
    zeros moved; if the map then misses a cold compile of the first window itself (a
    formulation that treats a zero specially), the model is measured again with the series as
    they are, and the availability is structural."""
    first, options = _pv_window()
    assert np.any(first["pv_availability"].values == 0)
    model = WindowModel.from_window(first, options, rolling.CARRIED)
    assert "pv_availability" in model.maps and model.usable
    assert model.check(first)  # the zeros as they are: the map reproduces a cold compile

    calls = []

    def misses(self, ds, *args, **kwargs):
        calls.append(ds)
        return False

    monkeypatch.setattr(WindowModel, "check", misses)
    unmoved = WindowModel.from_window(first, options, rolling.CARRIED)
    assert len(calls) == 1
    assert "pv_availability" in unmoved.structural


def test_a_windows_arrays_are_its_datasets_values():
    """``Horizon.arrays`` (the path in place) holds what ``Horizon.dataset`` (the path a model is
    built from) holds, for a day-ahead window and for an hourly re-plan (AR(1) forecast issued at
    another step, the first step's limit known), with a backlog carried."""
    inputs, _ = _inputs("type2_flexible_dc", {})
    fixed = with_sizes(inputs, {"battery_energy_mwh": 10.0})
    backlog_max = np.linspace(1.0, 2.0, inputs.sizes["time"])
    horizon = rolling.Horizon(fixed, backlog_max, 10.0)
    assert horizon.ar1 is not None
    for issued, known in ((None, None), (24, 7.5)):
        ds = horizon.dataset(30, 78, 4.0, 0.25, None, issued, known)
        series, scalars = horizon.arrays(30, 78, 4.0, 0.25, issued, known)
        assert set(series) == {k for k in ds.data_vars if ds[k].dims == ("time",)}
        for name, values in series.items():
            assert np.array_equal(values, ds[name].values), name
        for name, value in scalars.items():
            assert value == float(ds[name]), name
        assert scalars == {"battery_initial_soc_fraction": 0.4, "dc_initial_backlog_mwh": 0.25}
    assert horizon.arrays(30, 78, 4.0, 0.25, 24, 7.5)[0]["grid_import_limit_mw"][0] == 7.5
