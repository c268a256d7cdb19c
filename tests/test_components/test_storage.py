"""The shared state-of-charge rule (S1) built alone on a bare block, with hand-derived values."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from test_components.closing import MW, minimise, model, solve, values
from wattbit.formulations.storage import StorageRule, define_state_of_charge


def test_soc_rule_on_half_hour_steps():
    """(S1): e_t = e_{t−1}(1 − λ)^Δt + η_c c_t Δt − d_t Δt / η_d. Δt = 0.5 h, λ = 0 so keep = 1,
    η_c = 0.8, η_d = 0.5, e_{−1} = 2 MWh; charge [1, 0, 2] MW, discharge [0, 1, 0] MW:
    e_0 = 2 + 0.8·1·0.5 = 2.4; e_1 = 2.4 − 1·0.5/0.5 = 1.4; e_2 = 1.4 + 0.8·2·0.5 = 2.2 MWh."""
    m = model(3, dt_h=0.5)
    m.c = pyo.Var(m.T)
    m.d = pyo.Var(m.T)
    m.e = pyo.Var(m.T)
    m.e0 = pyo.Var()
    for t, (c, d) in enumerate([(1.0, 0.0), (0.0, 1.0), (2.0, 0.0)]):
        m.c[t].fix(c)
        m.d[t].fix(d)
    m.e0.fix(2.0)
    define_state_of_charge(
        m, m.T, 0.5, StorageRule(0.8, 0.5, 0.0), charge=m.c, discharge=m.d, energy=m.e, initial=m.e0
    )
    minimise(m, 0.0)
    solve(m)
    np.testing.assert_allclose(values(m.e), [2.4, 1.4, 2.2], atol=MW)


def test_soc_rule_loses_a_share_of_the_stored_energy_per_hour():
    """(S1) with λ = 10 %/h, Δt = 1 h, nothing charged or discharged: e_t = 0.9^{t+1} e_{−1};
    from 10 MWh, [9, 8.1, 7.29] MWh."""
    m = model(3)
    m.zero = pyo.Var(m.T, bounds=(0, 0))
    m.e = pyo.Var(m.T)
    m.e0 = pyo.Var(bounds=(10.0, 10.0))
    define_state_of_charge(
        m,
        m.T,
        1.0,
        StorageRule(1.0, 1.0, 0.1),
        charge=m.zero,
        discharge=m.zero,
        energy=m.e,
        initial=m.e0,
    )
    minimise(m, 0.0)
    solve(m)
    np.testing.assert_allclose(values(m.e), [9.0, 8.1, 7.29], atol=MW)
