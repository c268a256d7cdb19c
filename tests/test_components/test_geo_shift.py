"""Geographic workload shift (M1–M7) built alone between two sites, with hand-derived values."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from test_components.closing import MW, REL, STEP_LENGTHS, model, solve, supply, values
from wattbit.formulations.common import add_time_axis
from wattbit.formulations.dc_load import DataCentreData, define_data_centre
from wattbit.formulations.geo_shift import (
    GeoShiftData,
    MigrationSite,
    Route,
    SiteBlocks,
    define_geo_shift,
)
from wattbit.formulations.site import define_site_balance

VOLC = 1e6


@STEP_LENGTHS
def test_work_moves_within_link_share_and_the_destination_capacity(dt_h):
    """(M1)–(M7). 3 steps, α Δt = 2920; two sites, each its own bus. Site a: IT load 4 MW at PUE 1,
    no supply, migratable share μL = [2, 2, 1.2]; site b: IT load 1 MW at PUE 1.2, IT capacity
    K_b = 2.65 MW, grid at 10 000 JPY/MWh. Route a → b: link M = [1, 3, 3] MW, overhead 10 %,
    100 JPY/MWh. Everything a cannot move is shed at 1e6, so out = min(M (M1), μL (M2),
    (K_b − 1)/1.1 = 1.5 (M5)) = [1, 1.5, 1.2] (each bound binds once); a's balance gives
    s_a = 4 − out = [3, 2.5, 2.8] (M3, M6); b serves in = 1.1·out = [1.1, 1.65, 1.32] (M4) and
    draws 1.2 (1 + in) = [2.52, 3.18, 2.784] MW. Cost (M7) = α c Σ out Δt = 2920 · 100 · 3.7
    = 1 080 400 JPY/yr."""
    m = model(3, dt_h)
    hosts = {}
    for name, it, pue in (("a", 4.0, 1.0), ("b", 1.0, 1.2)):
        host = add_time_axis(pyo.Block(), m.time)
        m.add_component(f"node_{name}", host)
        dc = define_data_centre(host, DataCentreData(np.full(3, it), np.full(3, pue), VOLC))
        hosts[name] = SiteBlocks(host=host, dc=dc)
    grid_b = supply(m.node_b, "grid", price=10_000.0)
    data = GeoShiftData(
        sites=(
            MigrationSite("a", np.array([2.0, 2.0, 1.2]), 10.0, np.ones(3)),
            MigrationSite("b", np.zeros(3), 2.65, np.full(3, 1.2)),
        ),
        routes=(Route("a", "b", np.array([1.0, 3.0, 3.0]), 0.1, 100.0),),
    )
    geo = define_geo_shift(m, data, hosts)
    for host in (m.node_a, m.node_b):
        define_site_balance(host)
    m.objective = pyo.Objective(expr=m.node_a.total_cost_jpy + m.node_b.total_cost_jpy)
    solve(m)
    out = np.array([pyo.value(geo.move_it_mw[0, t]) for t in m.T])
    np.testing.assert_allclose(out, [1.0, 1.5, 1.2], atol=MW)
    np.testing.assert_allclose(values(m.node_a.dc.shed_it_mw), [3.0, 2.5, 2.8], atol=MW)
    np.testing.assert_allclose(values(m.node_b.b_migration.in_it_mw), [1.1, 1.65, 1.32], atol=MW)
    np.testing.assert_allclose(values(m.node_b.dc.shed_it_mw), 0.0, atol=MW)
    np.testing.assert_allclose(values(grid_b.p_mw), [2.52, 3.18, 2.784], atol=MW)
    np.testing.assert_allclose(values(m.node_a.a_migration.injection_mw), out, atol=MW)
    cost = pyo.value(m.node_a.a_migration.cost_migration_jpy)
    assert cost == pytest.approx(1_080_400.0, rel=REL)
    assert pyo.value(m.node_b.b_migration.cost_migration_jpy) == 0.0
