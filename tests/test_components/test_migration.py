"""Migration block (R1–R4) built alone on a DC block, with hand-derived expectations."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from test_components.closing import MW, REL, STEP_LENGTHS, close, model, sink, solve, supply, values
from wattbit.formulations.dc_load import DataCentreData, define_data_centre
from wattbit.formulations.migration import MigrationData, define_migration
from wattbit.formulations.shutdown import ShutdownData, define_protected_kept, define_shutdown

VOLC = 1e6


@STEP_LENGTHS
def test_migration_after_notice_within_the_link(dt_h):
    """(R1), (R3), (R4). 3 steps, α Δt = 2920; IT load 4 MW at PUE 1.2 and no grid, so
    s_t + m_t = 4. The link takes C = 2 MW of IT load once the notice has passed: a =
    [0, 1, 0.5], m ≤ a C = [0, 2, 1] (R1 binds), s = [4, 2, 3]. Injection (R3) = PUE m =
    [0, 2.4, 1.2]. Transfer cost (R4) = α c_m Σ m Δt = 2920 · 500 · 3 = 4 380 000 JPY/yr."""
    m = model(3, dt_h)
    dc = define_data_centre(m, DataCentreData(np.full(3, 4.0), np.full(3, 1.2), VOLC))
    data = MigrationData(2.0, np.array([0.0, 1.0, 0.5]), np.full(3, 1.2), cost_jpy_per_mwh=500.0)
    mig = define_migration(m, data, dc)
    close(m)
    solve(m)
    np.testing.assert_allclose(values(mig.it_mw), [0.0, 2.0, 1.0], atol=MW)
    np.testing.assert_allclose(values(dc.shed_it_mw), [4.0, 2.0, 3.0], atol=MW)
    np.testing.assert_allclose(values(mig.injection_mw), [0.0, 2.4, 1.2], atol=MW)
    assert pyo.value(mig.cost_transfer_jpy) == pytest.approx(4_380_000.0, rel=REL)


@STEP_LENGTHS
def test_migration_and_shutdown_together_never_exceed_the_load(dt_h):
    """(R2) shared with a shutdown block. IT load 1 MW at PUE 1; a link of C = 3 MW at
    500 JPY/MWh, a shutdown of (1 − ψ) L = 1 MW at 200 JPY/MWh, and a sink paying
    10 000 JPY/MWh for power: were the reductions free of (R2), m + z = 4 MW would "free"
    3 MW to sell. (R2): m_t + z_t + s_t ≤ L_t = 1 leaves nothing to sell; the cheapest way to
    drop the 1 MW is the shutdown: z = 1, m = 0, sink 0. Cost = α v_z · 3 = 2920 · 200 · 3
    = 1 752 000 JPY/yr."""
    m = model(3, dt_h)
    it, pue = np.ones(3), np.ones(3)
    dc = define_data_centre(m, DataCentreData(it, pue, VOLC))
    sd = define_shutdown(m, ShutdownData(it, pue, 0.0, np.ones(3), 200.0), dc)
    mig = define_migration(m, MigrationData(3.0, np.ones(3), pue, 500.0), dc, others=(sd,))
    sold = sink(m, "buyer", price=10_000.0)
    close(m)
    solve(m)
    np.testing.assert_allclose(values(sd.it_mw), [1.0, 1.0, 1.0], atol=MW)
    np.testing.assert_allclose(values(mig.it_mw), [0.0, 0.0, 0.0], atol=MW)
    np.testing.assert_allclose(values(sold.x_mw), [0.0, 0.0, 0.0], atol=MW)
    assert pyo.value(m.total_cost_jpy) == pytest.approx(1_752_000.0, rel=REL)


@STEP_LENGTHS
def test_migrated_load_does_not_count_as_protected_load_kept(dt_h):
    """(H7) with migration among the reductions. IT load 4 MW, protected share ψ = 0.25 through
    every step, a link of C = 3 MW at 500 JPY/MWh, a grid at 1e7 JPY/MWh (dearer than shedding
    at 1e6). Migrating is cheapest, m = 3 (R1 binds), but the protected 1 MW must be served on
    site: s + z + m ≤ 0.75 · 4 = 3 leaves s = z = 0 and the grid gives 1 MW. Were migration not
    counted, s = 1 would replace the grid. Cost = α Δt (500 · 3 + 1e7 · 1) · 3 = 2920 · 30 004 500
    = 87 613 140 000 JPY/yr."""
    m = model(3, dt_h)
    it, pue = np.full(3, 4.0), np.ones(3)
    dc = define_data_centre(m, DataCentreData(it, pue, VOLC))
    data = ShutdownData(it, pue, 0.25, np.zeros(3), 200.0, protected_steps=((0, 1, 2),))
    sd = define_shutdown(m, data, dc)
    mig = define_migration(m, MigrationData(3.0, np.ones(3), pue, 500.0), dc, others=(sd,))
    define_protected_kept(sd, data, dc, (mig,))
    grid = supply(m, "grid", price=1e7)
    close(m)
    solve(m)
    np.testing.assert_allclose(values(mig.it_mw), 3.0, atol=MW)
    np.testing.assert_allclose(values(dc.shed_it_mw), 0.0, atol=MW)
    np.testing.assert_allclose(values(grid.p_mw), 1.0, atol=MW)
    assert pyo.value(m.total_cost_jpy) == pytest.approx(87_613_140_000.0, rel=REL)


@STEP_LENGTHS
def test_the_protected_share_is_never_migrated(dt_h):
    """(R5). IT load 4 MW, protected share ψ = 0.25 (no shutdown possible: a = 0), a link of
    C = 4 MW at 500 JPY/MWh, a grid at 1e7 JPY/MWh (dearer than shedding at 1e6). Moving all
    4 MW would be cheapest, but m + z ≤ (1 − ψ) L = 3: the protected 1 MW stays here and is
    shed. Cost = α Δt (500 · 3 + 1e6 · 1) · 3 = 2920 · 3 004 500 = 8 773 140 000 JPY/yr."""
    m = model(3, dt_h)
    it, pue = np.full(3, 4.0), np.ones(3)
    dc = define_data_centre(m, DataCentreData(it, pue, VOLC))
    sd = define_shutdown(m, ShutdownData(it, pue, 0.25, np.zeros(3), 200.0), dc)
    data = MigrationData(4.0, np.ones(3), pue, 500.0, protected_share=0.25, it_mw=it)
    mig = define_migration(m, data, dc, others=(sd,))
    supply(m, "grid", price=1e7)
    close(m)
    solve(m)
    np.testing.assert_allclose(values(mig.it_mw), 3.0, atol=MW)
    np.testing.assert_allclose(values(dc.shed_it_mw), 1.0, atol=MW)
    assert pyo.value(m.total_cost_jpy) == pytest.approx(8_773_140_000.0, rel=REL)
