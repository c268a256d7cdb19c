"""Workload-shift block (W1–W7) built alone, with hand-derived expectations."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from test_components.closing import MW, REL, STEP_LENGTHS, minimise, model, solve, values
from wattbit.formulations.site import cost_terms
from wattbit.formulations.workload_shift import WorkloadShiftData, define_workload_shift

VOLC = 1e6


def shift(m, **kw):
    blk = define_workload_shift(m, WorkloadShiftData(**kw))
    minimise(m, pyo.quicksum(cost_terms(m).values()))
    return blk


@STEP_LENGTHS
def test_work_that_would_wait_too_long_is_dropped_as_early_as_possible(dt_h):
    """(W1)–(W4), (W6), (W7). 4 steps, α Δt = 2190 (MWh below on hourly steps, × Δt otherwise). Arrivals f = [2, 2, 0, 0] MW, room to
    serve [0, 0, 1, 4] MW (W3), at most D = 2 steps of waiting: (W2) b_t ≤ f_{t−1} + f_t =
    [2, 4, 2, 0] MWh. By t = 2 only 1 MWh can have been served, so b_2 = 4 − 1 − Σx ≤ 2 forces
    1 MWh dropped; dropping it at t = 0 keeps the backlog lowest, b = [1, 3, 2, 0]; the rest is
    served w = [0, 0, 1, 2] so that b_3 = 0 (W4). Lost compute (W6) = α v · 1 = 2.19e9 JPY/yr;
    deferral (W7) = α c_b Σ b Δt = 2190 · 10 · 6 = 131 400 JPY/yr (× Δt on other steps: the backlogs
    hold Δt times the energy)."""
    m = model(4, dt_h)
    blk = shift(
        m,
        arrivals_it_mw=np.array([2.0, 2.0, 0.0, 0.0]),
        room_it_mw=np.array([0.0, 0.0, 1.0, 4.0]),
        pue=np.ones(4),
        max_delay_steps=2,
        value_of_lost_compute_jpy_per_mwh=VOLC,
        deferral_cost_jpy_per_mwh_h=10.0,
    )
    solve(m)
    np.testing.assert_allclose(values(blk.dropped_it_mw), [1.0, 0.0, 0.0, 0.0], atol=MW)
    np.testing.assert_allclose(values(blk.backlog_mwh), dt_h * np.array([1, 3, 2, 0]), atol=MW)
    np.testing.assert_allclose(values(blk.served_it_mw), [0.0, 0.0, 1.0, 2.0], atol=MW)
    assert pyo.value(blk.cost_lost_compute_jpy) == pytest.approx(2.19e9, rel=REL)
    assert pyo.value(blk.cost_deferral_jpy) == pytest.approx(131_400.0 * dt_h, rel=REL)


def test_a_carried_backlog_is_served_within_the_room_and_the_rest_dropped():
    """(W1) with b_0, (W2), (W3), (W5). 3 steps at PUE 1.2, α = 2920. A backlog of 1 MWh is
    carried in and nothing arrives, so (W2) holds b_t ≤ 0: b_0 = 1 − w_0 − x_0 = 0 with
    w_0 ≤ 0.5 (W3) leaves x_0 = 0.5 dropped. Injection (W5) = −PUE w = [−0.6, 0, 0] MW;
    lost compute = α v · 0.5 = 1.46e9 JPY/yr."""
    m = model(3)
    blk = shift(
        m,
        arrivals_it_mw=np.zeros(3),
        room_it_mw=np.full(3, 0.5),
        pue=np.full(3, 1.2),
        max_delay_steps=2,
        value_of_lost_compute_jpy_per_mwh=VOLC,
        initial_backlog_mwh=1.0,
    )
    solve(m)
    np.testing.assert_allclose(values(blk.served_it_mw), [0.5, 0.0, 0.0], atol=MW)
    np.testing.assert_allclose(values(blk.dropped_it_mw), [0.5, 0.0, 0.0], atol=MW)
    np.testing.assert_allclose(values(blk.injection_mw), [-0.6, 0.0, 0.0], atol=MW)
    assert pyo.value(blk.cost_lost_compute_jpy) == pytest.approx(1.46e9, rel=REL)


def test_the_backlog_bound_counts_the_last_d_steps_of_arrivals():
    """(W2)'s right-hand side: arrivals [1, 2, 3, 4] MW over 0.5 h steps, D = 2:
    Σ_{k=t−1}^{t} f_k Δt = [0.5, 1.5, 2.5, 3.5] MWh."""
    data = WorkloadShiftData(
        arrivals_it_mw=np.array([1.0, 2.0, 3.0, 4.0]),
        room_it_mw=np.zeros(4),
        pue=np.ones(4),
        max_delay_steps=2,
        value_of_lost_compute_jpy_per_mwh=VOLC,
    )
    np.testing.assert_allclose(data.backlog_bound(0.5), [0.5, 1.5, 2.5, 3.5])


@pytest.mark.parametrize("cyclic", [False, True])
def test_cyclic_rule_serves_late_work_at_the_start_of_the_horizon(cyclic):
    """(W1), (W2), (W4) and the cyclic rule. 4 steps, α = 2190; 2 MW of work arrives in the last
    step, room to serve only in the first (2 MW), D = 2, c_b = 10. Rule "empty": (W4) b_3 = 0
    with no room at step 3, so the 2 MWh are dropped, W6 = α v · 2 = 4.38e9 JPY/yr. Cyclic:
    b_{−1} = b_3 = 2 wraps round (W1) and is served at step 0 (w_0 = 2, within (W2)'s wrapped
    bound f_3 + f_0 = 2): b = [0, 0, 0, 2], nothing dropped, W7 = α c_b · 2 = 43 800 JPY/yr."""
    m = model(4)
    blk = shift(
        m,
        arrivals_it_mw=np.array([0.0, 0.0, 0.0, 2.0]),
        room_it_mw=np.array([2.0, 0.0, 0.0, 0.0]),
        pue=np.ones(4),
        max_delay_steps=2,
        value_of_lost_compute_jpy_per_mwh=VOLC,
        deferral_cost_jpy_per_mwh_h=10.0,
        cyclic=cyclic,
    )
    solve(m)
    if cyclic:
        np.testing.assert_allclose(values(blk.served_it_mw), [2.0, 0.0, 0.0, 0.0], atol=MW)
        np.testing.assert_allclose(values(blk.backlog_mwh), [0.0, 0.0, 0.0, 2.0], atol=MW)
        np.testing.assert_allclose(values(blk.dropped_it_mw), 0.0, atol=MW)
        assert pyo.value(blk.cost_deferral_jpy) == pytest.approx(43_800.0, rel=REL)
    else:
        np.testing.assert_allclose(values(blk.dropped_it_mw), [0.0, 0.0, 0.0, 2.0], atol=MW)
        assert pyo.value(blk.cost_lost_compute_jpy) == pytest.approx(4.38e9, rel=REL)


def test_cyclic_backlog_bound_wraps_round_the_horizon():
    """(W2) cyclic: arrivals [1, 2, 3, 4] MW, Δt = 1 h, D = 2: f_{t−1 mod n} + f_t =
    [4 + 1, 1 + 2, 2 + 3, 3 + 4] = [5, 3, 5, 7] MWh."""
    data = WorkloadShiftData(
        arrivals_it_mw=np.array([1.0, 2.0, 3.0, 4.0]),
        room_it_mw=np.zeros(4),
        pue=np.ones(4),
        max_delay_steps=2,
        value_of_lost_compute_jpy_per_mwh=VOLC,
        cyclic=True,
    )
    np.testing.assert_allclose(data.backlog_bound(1.0), [5.0, 3.0, 5.0, 7.0])
