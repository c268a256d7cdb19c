"""PV block (P1–P2) built alone, with hand-derived expectations."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from test_components.closing import (
    MW,
    REL,
    STEP_LENGTHS,
    close,
    given,
    model,
    solve,
    supply,
    values,
)
from wattbit.formulations.common import Size
from wattbit.formulations.pv import PVData, define_pv

PRICE = 10_000.0  # JPY/MWh of grid energy


@STEP_LENGTHS
def test_pv_is_sized_where_its_capex_meets_the_energy_it_saves(dt_h):
    """(P1), (P2). 3 steps, α Δt = 2920. Load [2, 3, 4] MW, grid energy at π; PV capacity
    K ∈ [0, 10], availability a = [0, 0.5, 1], capex k_K = α π per MW-year. PV serves
    min(L_t, a_t K): saving α π Σ_t a_t per MW while a_t K < L_t, i.e. 1.5 α π for K < 4
    (step 2 fills at K = 4), 0.5 α π for 4 < K < 6: below k_K, so K* = 4, generation
    g = [0, 2, 4] (P1 binds at steps 1, 2), import [2, 1, 0]. Cost = k_K · 4 + α π · 3
    = 7 α π = 204 400 000 JPY/yr."""
    alpha = 8760 / 3
    m = model(3, dt_h)
    pv = define_pv(
        m, PVData(Size(0.0, 10.0), np.array([0.0, 0.5, 1.0]), capex_jpy_per_mw_year=alpha * PRICE)
    )
    given(m, "demand", [-2.0, -3.0, -4.0])
    grid = supply(m, "grid", price=PRICE)
    close(m)
    solve(m)
    assert pyo.value(pv.capacity_mw) == pytest.approx(4.0, abs=MW)
    np.testing.assert_allclose(values(pv.generation_mw), [0.0, 2.0, 4.0], atol=MW)
    np.testing.assert_allclose(values(grid.p_mw), [2.0, 1.0, 0.0], atol=MW)
    assert pyo.value(pv.cost_capex_jpy) == pytest.approx(4 * alpha * PRICE, rel=REL)
    assert pyo.value(m.total_cost_jpy) == pytest.approx(204_400_000.0, rel=REL)


@STEP_LENGTHS
def test_pv_above_the_load_is_curtailed(dt_h):
    """(P1) is an upper bound: 10 MW of fixed PV at availability [1, 0.5, 0.1] (up to
    [10, 5, 1] MW) against a 2 MW load and no export generates min(2, K a_t) = [2, 2, 1],
    the grid supplying the last 1 MW at step 2."""
    m = model(3, dt_h)
    pv = define_pv(m, PVData(Size.fixed(10.0), np.array([1.0, 0.5, 0.1])))
    given(m, "demand", [-2.0, -2.0, -2.0])
    grid = supply(m, "grid", price=PRICE)
    close(m)
    solve(m)
    np.testing.assert_allclose(values(pv.generation_mw), [2.0, 2.0, 1.0], atol=MW)
    np.testing.assert_allclose(values(grid.p_mw), [0.0, 0.0, 1.0], atol=MW)
