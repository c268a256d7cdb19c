"""Network power flow (N1–N8) built alone on tiny grids, with hand-derived flows."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from test_components.closing import MW, REL, STEP_LENGTHS, model, solve, supply, values
from wattbit.formulations.common import Size
from wattbit.formulations.connection import ConnectionData
from wattbit.formulations.network import (
    BranchData,
    NetworkData,
    NodeData,
    define_nodes,
    define_power_flow,
)
from wattbit.formulations.site import cost_terms

PRICE, LOCAL = 10_000.0, 30_000.0  # JPY/MWh: upstream supply, local generation


def upstream(steps: int) -> ConnectionData:
    return ConnectionData(np.full(steps, 100.0), np.full(steps, PRICE), Size.fixed(100.0))


def solve_network(data: NetworkData, local: dict[str, tuple[float, float]], dt_h: float = 1.0):
    """Nodes, a priced local supply ``(price, max)`` in the named nodes, the power flow, and
    the sum of every node's cost terms minimised."""
    m = model(3, dt_h)
    nodes = define_nodes(m, data)
    sources = {n: supply(nodes[n], "local", price=p, max_mw=cap) for n, (p, cap) in local.items()}
    define_power_flow(m, data)
    terms = [e for blk in nodes.values() for e in cost_terms(blk).values()]
    m.objective = pyo.Objective(expr=pyo.quicksum(terms))
    solve(m)
    return m, nodes, sources


@STEP_LENGTHS
@pytest.mark.parametrize("flow_model", ["kvl", "ptdf"])
def test_triangle_splits_by_reactance_and_a_congested_line_calls_local_supply(flow_model, dt_h):
    """(N1), (N3)–(N8). 3 steps, α Δt = 2920. Triangle of equal reactances: slack n1 (upstream at
    10 000), load D_2 = [3, 3, 1.5] MW at n2, nothing at n3; lines l12 (n1→n2, limit 1.5 MW),
    l13 (n1→n3), l32 (n3→n2). A transfer T from n1 to n2 flows 2/3 on the direct path and 1/3
    around (KVL: f12 = f13 + f32 with equal x): f12 = 2T/3 ≤ 1.5 (N3) caps T at 2.25, so at
    steps 0, 1 the local supply at n2 (30 000) gives 0.75; step 2 is uncongested. Flows
    f12 = [1.5, 1.5, 1], f13 = f32 = [0.75, 0.75, 0.5]; upstream [2.25, 2.25, 1.5].
    Cost = α (10 000 · 6 + 30 000 · 1.5) = 2920 · 105 000 = 306 600 000 JPY/yr; both flow
    models (kvl: N4, N5; ptdf: N6–N8) give the same."""
    big = np.full(3, 10.0)
    data = NetworkData(
        nodes=(
            NodeData("n1", np.zeros(3), upstream=upstream(3)),
            NodeData("n2", np.array([3.0, 3.0, 1.5])),
            NodeData("n3", np.zeros(3)),
        ),
        branches=(
            BranchData("l12", "n1", "n2", np.full(3, 1.5), 1.0),
            BranchData("l13", "n1", "n3", big, 1.0),
            BranchData("l32", "n3", "n2", big, 1.0),
        ),
        flow_model=flow_model,
    )
    m, nodes, sources = solve_network(data, {"n2": (LOCAL, 10.0)}, dt_h)
    np.testing.assert_allclose(values(m.branch.l12.flow_mw), [1.5, 1.5, 1.0], atol=MW)
    np.testing.assert_allclose(values(m.branch.l13.flow_mw), [0.75, 0.75, 0.5], atol=MW)
    np.testing.assert_allclose(values(m.branch.l32.flow_mw), [0.75, 0.75, 0.5], atol=MW)
    np.testing.assert_allclose(values(sources["n2"].p_mw), [0.75, 0.75, 0.0], atol=MW)
    np.testing.assert_allclose(values(nodes["n1"].upstream.import_mw), [2.25, 2.25, 1.5], atol=MW)
    np.testing.assert_allclose(values(nodes["n2"].net_injection_mw), [-2.25, -2.25, -1.5], atol=MW)
    assert pyo.value(m.objective) == pytest.approx(306_600_000.0, rel=REL)


@pytest.mark.parametrize("flow_model", ["kvl", "ptdf"])
def test_reverse_flow_limit_caps_what_a_node_feeds_back_over_a_link(flow_model):
    """(N2), links in (N4)/(N6). Slack n1 with base load 4 MW; n2 holds a free source (up to
    5 MW) and 1 MW of base load, joined to n1 by a link (no reactance, limit 10 MW). n2 may feed
    back at most R_2 = 2 MW (N2): the source gives 3, the link carries 2 from n2 to n1, the
    upstream supplies the other 2 MW of n1's load."""
    data = NetworkData(
        nodes=(
            NodeData("n1", np.full(3, 4.0), upstream=upstream(3)),
            NodeData("n2", np.ones(3), reverse_flow_limit_mw=np.full(3, 2.0)),
        ),
        branches=(BranchData("k21", "n2", "n1", np.full(3, 10.0)),),
        flow_model=flow_model,
    )
    m, nodes, sources = solve_network(data, {"n2": (0.0, 5.0)})
    np.testing.assert_allclose(values(sources["n2"].p_mw), 3.0, atol=MW)
    np.testing.assert_allclose(values(m.branch.k21.flow_mw), 2.0, atol=MW)
    np.testing.assert_allclose(values(nodes["n2"].net_injection_mw), 2.0, atol=MW)
    np.testing.assert_allclose(values(nodes["n1"].upstream.import_mw), 2.0, atol=MW)


def test_ptdf_of_the_triangle():
    """Φ (N7) for equal reactances, reference n1. 1 MW injected at n2 (withdrawn at n1) flows
    2/3 straight back (l12, n1→n2: −2/3) and 1/3 round n2→n3→n1 (l32, n3→n2: −1/3; l13: −1/3);
    injected at n3: l13 −2/3, and round n3→n2→n1: l32 +1/3, l12 −1/3."""
    one = np.ones(1)
    data = NetworkData(
        nodes=(
            NodeData("n1", one, upstream=upstream(1)),
            NodeData("n2", one),
            NodeData("n3", one),
        ),
        branches=(
            BranchData("l12", "n1", "n2", one, 1.0),
            BranchData("l13", "n1", "n3", one, 1.0),
            BranchData("l32", "n3", "n2", one, 1.0),
        ),
    )
    expected = np.array([[0, -2, -1], [0, -1, -2], [0, -1, 1]]) / 3
    np.testing.assert_allclose(data.ptdf(), expected, atol=1e-12)


@pytest.mark.parametrize("flow_model", ["kvl", "ptdf"])
@pytest.mark.parametrize(
    ("outages", "transfer"), [((), 2.4), (("l13",), 1.5), (("l12",), 1.6), (("l12", "l13"), 1.5)]
)
def test_n1_security_caps_the_transfer_to_what_survives_each_outage(flow_model, outages, transfer):
    """(N9). 3 steps, α Δt = 2920. Triangle of equal reactances: slack n1 (upstream at 10 000),
    load 3 MW at n3 with local supply there at 30 000; limits l12 10, l23 1.5, l13 1.6 MW. A
    transfer T from n1 to n3 puts 2T/3 on l13 and T/3 on l12 and l23: l13 caps T at 2.4 (N3).
    Outage factors by hand: l13 out, all of T goes round, L_{12,13} = L_{23,13} = (1/3)/(1 − 2/3)
    = 1, so l23 carries T/3 + 2T/3 = T ≤ 1.5; l12 out, L_{13,12} = 1 and L_{23,12} = −1, so l13
    carries T ≤ 1.6 and l23 nothing. The cheap transfer is the smallest cap; the local supply
    makes up 3 − T; cost α Δt · 3 steps · (10 000 T + 30 000 (3 − T))."""
    big = np.full(3, 10.0)
    data = NetworkData(
        nodes=(
            NodeData("n1", np.zeros(3), upstream=upstream(3)),
            NodeData("n2", np.zeros(3)),
            NodeData("n3", np.full(3, 3.0)),
        ),
        branches=(
            BranchData("l12", "n1", "n2", big, 1.0),
            BranchData("l23", "n2", "n3", np.full(3, 1.5), 1.0),
            BranchData("l13", "n1", "n3", np.full(3, 1.6), 1.0),
        ),
        flow_model=flow_model,
        contingencies=outages,
    )
    L = data.lodf()
    for c, k in enumerate(outages):
        expected = {"l13": [1.0, 1.0, -1.0], "l12": [-1.0, -1.0, 1.0]}[k]
        np.testing.assert_allclose(L[:, c], expected, atol=1e-12)
    m, nodes, sources = solve_network(data, {"n3": (LOCAL, 10.0)})
    np.testing.assert_allclose(values(nodes["n1"].upstream.import_mw), transfer, atol=MW)
    np.testing.assert_allclose(values(sources["n3"].p_mw), 3.0 - transfer, atol=MW)
    cost = 2920 * 3 * (PRICE * transfer + LOCAL * (3.0 - transfer))
    assert pyo.value(m.objective) == pytest.approx(cost, rel=REL)
