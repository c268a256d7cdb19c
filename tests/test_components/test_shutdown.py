"""Shutdown block (H1–H7) built alone on a DC block, with hand-derived expectations."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from test_components.closing import MW, REL, STEP_LENGTHS, close, model, solve, supply, values
from wattbit.formulations.dc_load import DataCentreData, define_data_centre
from wattbit.formulations.shutdown import ShutdownData, define_protected_kept, define_shutdown

VOLC, GRACEFUL = 1e6, 1_000.0  # JPY/MWh of IT energy: shed abruptly, shut down gracefully
ALPHA = 8760 / 3


def site(dt_h, events=(), penalty=0.0, grid_mw=(0.0, 0.0, 0.0), grid_price=0.0, protected=()):
    """3 steps, IT load 4 MW at PUE 1, protected share ψ = 0.25, notice passed from step 1
    (a = [0, 1, 1]); a grid of at most ``grid_mw`` at ``grid_price``."""
    m = model(3, dt_h)
    it = np.full(3, 4.0)
    dc = define_data_centre(m, DataCentreData(it, np.ones(3), VOLC))
    data = ShutdownData(
        it_mw=it,
        pue=np.ones(3),
        protected_share=0.25,
        availability=np.array([0.0, 1.0, 1.0]),
        value_of_lost_compute_jpy_per_mwh=GRACEFUL,
        events=events,
        penalty_jpy_per_event=penalty,
        protected_steps=protected,
    )
    sd = define_shutdown(m, data, dc)
    define_protected_kept(sd, data, dc, ())  # H7, when protected steps are given
    supply(m, "grid", price=grid_price, max_mw=list(grid_mw))
    close(m)
    solve(m)
    return m, dc, sd


@STEP_LENGTHS
def test_shutdown_after_notice_down_to_the_protected_share(dt_h):
    """(H1)–(H4). No grid at all: the DC must drop its whole load, s_t + z_t = 4 (H2 binds).
    Graceful shutdown is cheaper but only after notice and down to ψ L: z ≤ (1 − ψ) a L =
    [0, 3, 3] (H1 binds), so z = [0, 3, 3], s = [4, 1, 1]. Injection (H3) = z. Cost (H4)
    = α v_z Σ z Δt = 2920 · 1000 · 6 = 17 520 000; shed (D3) = α v · 6 = 17 520 000 000 JPY/yr."""
    _, dc, sd = site(dt_h)
    np.testing.assert_allclose(values(sd.it_mw), [0.0, 3.0, 3.0], atol=MW)
    np.testing.assert_allclose(values(dc.shed_it_mw), [4.0, 1.0, 1.0], atol=MW)
    np.testing.assert_allclose(values(sd.injection_mw), [0.0, 3.0, 3.0], atol=MW)
    assert pyo.value(sd.cost_lost_compute_jpy) == pytest.approx(17_520_000.0, rel=REL)
    assert pyo.value(dc.cost_lost_compute_jpy) == pytest.approx(17.52e9, rel=REL)


@STEP_LENGTHS
def test_sla_penalty_counts_the_events_that_interrupt_load(dt_h):
    """(H5), (H6). Events {0, 1} and {2}, π_e = 1e5 JPY per interrupted event; the grid is out
    in steps 0 and 1 only. Event 0 interrupts load (y_0 = 1 by H5), event 1 does not (y_1 = 0,
    the grid serves all). SLA cost (H6) = α π_e · 1 = 292 000 000 JPY/yr on hourly steps; the
    penalty is per event, not per hour, so on half-hour steps (a 1.5 h horizon recurring twice as
    often, α = 5840) it is twice that."""
    _, _, sd = site(dt_h, events=((0, 1), (2,)), penalty=1e5, grid_mw=(0.0, 0.0, 10.0))
    np.testing.assert_allclose([pyo.value(sd.interrupted[e]) for e in (0, 1)], [1.0, 0.0])
    assert pyo.value(sd.cost_sla_jpy) == pytest.approx(292_000_000.0 / dt_h, rel=REL)
    np.testing.assert_allclose(values(sd.it_mw), [0.0, 3.0, 0.0], atol=MW)


@STEP_LENGTHS
def test_protected_load_is_served_through_the_first_hours_whatever_it_costs(dt_h):
    """(H7). A grid of 10 MW at 1e7 JPY/MWh, dearer than shedding (1e6), so unprotected load is
    all dropped; the first two steps of the fault must keep ψ L = 1 MW: s_t + z_t ≤ 0.75 · 4 = 3
    at steps 0, 1. Step 0 (before notice, z_0 = 0): s_0 = 3; step 1: z_1 = 3 (graceful is
    cheaper), s_1 = 0; step 2 (not protected): z_2 = 3, s_2 = 1. Grid [1, 1, 0] MW, cost
    α · 1e7 · 2 = 58 400 000 000 JPY/yr."""
    m, dc, sd = site(dt_h, grid_mw=(10.0, 10.0, 10.0), grid_price=1e7, protected=((0, 1),))
    np.testing.assert_allclose(values(dc.shed_it_mw), [3.0, 0.0, 1.0], atol=MW)
    np.testing.assert_allclose(values(sd.it_mw), [0.0, 3.0, 3.0], atol=MW)
    np.testing.assert_allclose(values(m.grid.p_mw), [1.0, 1.0, 0.0], atol=MW)
    assert pyo.value(m.grid.cost_energy_jpy) == pytest.approx(5.84e10, rel=REL)
