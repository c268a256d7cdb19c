"""Emergency-curtailment block (C1–C3) built alone, with hand-derived expectations."""

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
from wattbit.formulations.emergency import EmergencyData, define_emergency_curtailment

KAPPA = 500_000.0  # JPY per MWh of IT energy curtailed


@STEP_LENGTHS
def test_curtailment_covers_the_shortfall_through_the_pue(dt_h):
    """(C2), (C3). 3 steps, α Δt = 2920. The plan draws 3 MW more than the grid allows at step 1
    (a given −3 MW); cutting e IT MW relieves PUE·e = 1.5 e MW (C2), so e = [0, 2, 0] IT MW.
    Cost (C3) = α κ_e Σ e Δt = 2920 · 500 000 · 2 = 2 920 000 000 JPY/yr."""
    m = model(3, dt_h)
    data = EmergencyData(np.full(3, 4.0), np.full(3, 1.5), KAPPA)
    em = define_emergency_curtailment(m, data)
    given(m, "shortfall", [0.0, -3.0, 0.0])
    close(m)
    solve(m)
    np.testing.assert_allclose(values(em.curtailed_it_mw), [0.0, 2.0, 0.0], atol=MW)
    assert pyo.value(em.cost_curtailment_jpy) == pytest.approx(2.92e9, rel=REL)


@STEP_LENGTHS
def test_curtailment_cannot_exceed_the_desired_load(dt_h):
    """(C1) binds. As above with ē = [4, 1, 4]: e_1 = 1 (1.5 MW relieved at 500 000 / 1.5 per
    MWh of facility power, cheaper than a 1e6 JPY/MWh backup), the backup gives the other
    1.5 MW. C3 = α κ_e · 1 = 1.46e9; backup = α · 1e6 · 1.5 = 4.38e9 JPY/yr."""
    m = model(3, dt_h)
    em = define_emergency_curtailment(
        m, EmergencyData(np.array([4.0, 1.0, 4.0]), np.full(3, 1.5), KAPPA)
    )
    given(m, "shortfall", [0.0, -3.0, 0.0])
    backup = supply(m, "backup", price=1e6)
    close(m)
    solve(m)
    np.testing.assert_allclose(values(em.curtailed_it_mw), [0.0, 1.0, 0.0], atol=MW)
    np.testing.assert_allclose(values(backup.p_mw), [0.0, 1.5, 0.0], atol=MW)
    assert pyo.value(em.cost_curtailment_jpy) == pytest.approx(1.46e9, rel=REL)
    assert pyo.value(backup.cost_energy_jpy) == pytest.approx(4.38e9, rel=REL)
