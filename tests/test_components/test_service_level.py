"""Service-level block (Q1–Q2) built alone on a DC block, with hand-derived expectations."""

from __future__ import annotations

import numpy as np

from test_components.closing import MW, STEP_LENGTHS, close, model, solve, supply, values
from wattbit.formulations.dc_load import DataCentreData, define_data_centre
from wattbit.formulations.service_level import ServiceLevelData, define_service_level

VOLC = 1e6  # JPY/MWh: cheaper than the supply below, so without a service level all is shed


def shed_with(dt_h, **level):
    """4 steps, α Δt = 2190; IT load 2 MW (8 MWh) at PUE 1; the only supply is at most
    [0, 2, 2, 2] MW at [–, 1e7, 2e7, 3e7] JPY/MWh, dearer than shedding."""
    m = model(4, dt_h)
    it = np.full(4, 2.0)
    dc = define_data_centre(m, DataCentreData(it, np.ones(4), VOLC))
    define_service_level(m, ServiceLevelData(it, **level), dc)
    supply(m, "grid", price=[1e7, 1e7, 2e7, 3e7], max_mw=[0.0, 2.0, 2.0, 2.0])
    close(m)
    solve(m)
    return values(dc.shed_it_mw)


@STEP_LENGTHS
def test_least_served_share(dt_h):
    """(Q1). σ = 0.75: Σ s Δt ≤ 0.25 Σ L Δt, Σ s ≤ 0.25 · 8 = 2 MW·steps, all of it at step 0 where nothing can be
    bought: s = [2, 0, 0, 0]."""
    np.testing.assert_allclose(
        shed_with(dt_h, min_served_share=0.75), [2.0, 0.0, 0.0, 0.0], atol=MW
    )


@STEP_LENGTHS
def test_most_unserved_energy_per_year(dt_h):
    """(Q2). U = 6 570 MWh/yr: α Σ s Δt ≤ U gives Σ s ≤ 6570 / 2190 = 3 MW·steps: 2 at step 0,
    the third at the dearest step: s = [2, 0, 0, 1]."""
    shed = shed_with(dt_h, max_unserved_it_mwh_per_year=6_570.0)
    np.testing.assert_allclose(shed, [2.0, 0.0, 0.0, 1.0], atol=MW)
