"""Grid connection block (G1–G6) built alone, with hand-derived expectations."""

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
from wattbit.formulations.connection import ConnectionData, define_connection

PRICE, BACKUP = 10_000.0, 30_000.0  # JPY/MWh
ALPHA = 8760 / 3


@STEP_LENGTHS
def test_contract_is_sized_where_its_charge_meets_the_backup_it_saves(dt_h):
    """(G1), (G2), (G4), (G6). 3 steps, α Δt = 2920. Load [5, 8, 3] MW, import limit H = [6, 4, 6]
    (G1), energy at π = 10 000, a backup at π_b = 30 000 JPY/MWh, contract C ∈ [0, 10] at
    κ = 1.5 α (π_b − π) per MW-year. Import g_t = min(L_t, H_t, C): each MW of C below
    min(L_t, H_t) = [5, 4, 3] saves α (π_b − π) in that step, so the saving per MW is 3, 2, 1
    steps' worth on (0, 3), (3, 4), (4, 5): C* = 4. g = [4, 4, 3] (G1 binds at step 1, G2 at
    steps 0, 1), backup [1, 4, 0]. Cost = κ·4 (= 350.4e6) + α π · 11 (= 321.2e6)
    + α π_b · 5 (= 438e6) = 1 109 600 000 JPY/yr."""
    m = model(3, dt_h)
    data = ConnectionData(
        import_limit_mw=np.array([6.0, 4.0, 6.0]),
        energy_price_jpy_per_mwh=np.full(3, PRICE),
        contract_mw=Size(0.0, 10.0),
        capacity_charge_jpy_per_mw_year=1.5 * ALPHA * (BACKUP - PRICE),
    )
    grid = define_connection(m, data)
    given(m, "demand", [-5.0, -8.0, -3.0])
    backup = supply(m, "backup", price=BACKUP)
    close(m)
    solve(m)
    assert pyo.value(grid.contract_mw) == pytest.approx(4.0, abs=MW)
    np.testing.assert_allclose(values(grid.import_mw), [4.0, 4.0, 3.0], atol=MW)
    np.testing.assert_allclose(values(backup.p_mw), [1.0, 4.0, 0.0], atol=MW)
    assert pyo.value(grid.cost_capacity_charge_jpy) == pytest.approx(350_400_000.0, rel=REL)
    assert pyo.value(grid.cost_energy_jpy) == pytest.approx(321_200_000.0, rel=REL)
    assert pyo.value(m.total_cost_jpy) == pytest.approx(1_109_600_000.0, rel=REL)


@STEP_LENGTHS
def test_export_is_paid_up_to_its_limit(dt_h):
    """(G3), (G5). 3 steps, α Δt = 2920. Load 1 MW; a free source of up to [0, 5, 0] MW; export
    limit X = 2 MW at 3 000 JPY/MWh. At step 1 the source serves the load and exports 2 MW
    (G3 binds; the other 2 MW are curtailed); steps 0 and 2 import 1 MW. Export revenue (G5)
    = −α · 3 000 · 2 = −17 520 000; energy (G4) = α π · 2 = 58 400 000 JPY/yr."""
    m = model(3, dt_h)
    data = ConnectionData(
        import_limit_mw=np.full(3, 10.0),
        energy_price_jpy_per_mwh=np.full(3, PRICE),
        contract_mw=Size.fixed(10.0),
        export_limit_mw=np.full(3, 2.0),
        export_price_jpy_per_mwh=np.full(3, 3_000.0),
    )
    grid = define_connection(m, data)
    given(m, "demand", [-1.0] * 3)
    source = supply(m, "source", max_mw=[0.0, 5.0, 0.0])
    close(m)
    solve(m)
    np.testing.assert_allclose(values(grid.export_mw), [0.0, 2.0, 0.0], atol=MW)
    np.testing.assert_allclose(values(grid.import_mw), [1.0, 0.0, 1.0], atol=MW)
    np.testing.assert_allclose(values(source.p_mw), [0.0, 3.0, 0.0], atol=MW)
    assert pyo.value(grid.cost_export_revenue_jpy) == pytest.approx(-17_520_000.0, rel=REL)
    assert pyo.value(grid.cost_energy_jpy) == pytest.approx(58_400_000.0, rel=REL)


@STEP_LENGTHS
def test_no_export_variable_when_the_limit_is_zero(dt_h):
    """(G3) with X = 0: no export variable, injection = import only; the free source is
    curtailed to the 1 MW load: [1, 1, 1], nothing imported."""
    m = model(3, dt_h)
    data = ConnectionData(
        import_limit_mw=np.full(3, 10.0),
        energy_price_jpy_per_mwh=np.full(3, PRICE),
        contract_mw=Size.fixed(10.0),
        export_limit_mw=np.zeros(3),
        export_price_jpy_per_mwh=np.full(3, 3_000.0),
    )
    grid = define_connection(m, data)
    given(m, "demand", [-1.0] * 3)
    source = supply(m, "source", max_mw=5.0)
    close(m)
    solve(m)
    assert grid.component("export_mw") is None
    np.testing.assert_allclose(values(source.p_mw), [1.0, 1.0, 1.0], atol=MW)
    np.testing.assert_allclose(values(grid.injection_mw), [0.0, 0.0, 0.0], atol=MW)
