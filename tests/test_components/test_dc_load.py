"""Data centre block (D0–D4) built alone, with hand-derived expectations."""

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
    minimise,
    model,
    solve,
    supply,
    values,
)
from wattbit.formulations.common import Size
from wattbit.formulations.dc_load import DataCentreData, define_data_centre

VOLC = 1_000.0  # JPY/MWh of IT energy not served


@STEP_LENGTHS
def test_shed_is_the_load_the_supply_cannot_carry(dt_h):
    """(D1)–(D3). 4 steps, α Δt = 8760/4 = 2190. IT load L = [2, 4, 6, 4] MW at PUE
    [1.5, 1.5, 1.2, 1.0]; a given supply of [3, 6, 6, 2] MW must equal the DC's draw
    (L − s)·PUE (D2), so s = L − supply/PUE = [2 − 2, 4 − 4, 6 − 5, 4 − 2] = [0, 0, 1, 2] MW,
    within 0 ≤ s ≤ L (D1). Lost compute (D3) = α v Σ s Δt = 2190 · 1000 · 3 = 6 570 000 JPY/yr."""
    m = model(4, dt_h)
    it = np.array([2.0, 4.0, 6.0, 4.0])
    dc = define_data_centre(m, DataCentreData(it, np.array([1.5, 1.5, 1.2, 1.0]), VOLC))
    given(m, "grid", [3.0, 6.0, 6.0, 2.0])
    close(m)
    solve(m)
    np.testing.assert_allclose(values(dc.shed_it_mw), [0.0, 0.0, 1.0, 2.0], atol=MW)
    np.testing.assert_allclose(values(dc.injection_mw), [-3.0, -6.0, -6.0, -2.0], atol=MW)
    assert pyo.value(dc.cost_lost_compute_jpy) == pytest.approx(6_570_000.0, rel=REL)


def test_shed_cannot_exceed_the_load():
    """(D1) binds. The block alone, maximising Σ s (no balance): s_t = L_t = [1, 3, 2]."""
    m = model(3)
    dc = define_data_centre(m, DataCentreData(np.array([1.0, 3.0, 2.0]), np.ones(3), VOLC))
    minimise(m, -pyo.quicksum(dc.shed_it_mw[t] for t in m.T))
    solve(m)
    np.testing.assert_allclose(values(dc.shed_it_mw), [1.0, 3.0, 2.0], atol=MW)


@STEP_LENGTHS
def test_sized_dc_grows_while_its_value_beats_the_shed_it_brings(dt_h):
    """(D0), (D4) with (D1)–(D3). 3 steps, α Δt = 8760/3 = 2920. Profile ℓ = [0.5, 1, 0.25] per MW
    of size S ∈ [0, 20] (D0: L = ℓ S), PUE 1, a free supply of at most 4 MW. Shed
    s_t = max(0, ℓ_t S − 4): step 1 from S = 4, step 0 from S = 8, step 2 from S = 16. Cost
    −v_S S + α v Σ s_t has slope −v_S + α v Σ_{ℓ_t S > 4} ℓ_t: with v_S = 1.2 α v it is
    −0.2 α v on (4, 8) and +0.3 α v on (8, 16), so S* = 8, L = [4, 8, 2], s = [0, 4, 0].
    Objective = −1.2 α v · 8 + α v · 4 = −5.6 α v = −16 352 000 JPY/yr."""
    alpha = 8760 / 3
    shape = np.array([0.5, 1.0, 0.25])
    data = DataCentreData(
        it_mw=shape * 20.0,
        pue=np.ones(3),
        value_of_lost_compute_jpy_per_mwh=VOLC,
        size_mw=Size(0.0, 20.0),
        it_per_mw=shape,
        value_of_size_jpy_per_mw_year=1.2 * alpha * VOLC,
    )
    m = model(3, dt_h)
    dc = define_data_centre(m, data)
    supply(m, max_mw=4.0)
    close(m)
    solve(m)
    assert pyo.value(dc.size_mw) == pytest.approx(8.0, abs=MW)
    np.testing.assert_allclose(values(dc.it_mw), [4.0, 8.0, 2.0], atol=MW)
    np.testing.assert_allclose(values(dc.shed_it_mw), [0.0, 4.0, 0.0], atol=MW)
    assert pyo.value(dc.cost_size_value_jpy) == pytest.approx(-1.2 * alpha * VOLC * 8, rel=REL)
    assert pyo.value(m.total_cost_jpy) == pytest.approx(-16_352_000.0, rel=REL)
