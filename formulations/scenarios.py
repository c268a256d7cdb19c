"""Two-stage stochastic structure: first-stage sizes, K scenario sites, expected cost.

Every scenario ``k`` is a whole site — the usual formulations on a block prepared with
:func:`wattbit.formulations.common.add_time_axis` and closed by :func:`wattbit.formulations.site.define_site_balance`
— that differs from the others only in its data (here: the outage events of one sampled year).
Its sizes are tied to one set of first-stage sizes; its dispatch is its own (second stage).

.. math::

    x^{k}_{j} = \\bar x_j \\qquad ∀k ∈ \\mathcal{K},\\ j ∈ \\mathcal{J}          \\quad (K1)

    \\min\\ \\textstyle\\sum_{k} p_k \\sum_{i} \\text{cost}_{k,i},\\qquad
    \\sum_k p_k = 1                                                          \\quad (K2)

    y^{k}_{v,t} = y^{r}_{v,t} \\qquad ∀k ≠ r,\\ v,\\ t < τ_k                 \\quad (K3)

==========  =============================================================  =====
symbol      meaning                                                        unit
==========  =============================================================  =====
𝒦           scenarios ``0 … K−1``                                         –
𝒥           size variables: (block, variable) pairs, e.g. battery power    –
x^k_j       size j in scenario k's site                                    MW, MWh
\\bar x_j   first-stage size j, bounded as the scenario sizes are          MW, MWh
p_k         probability (weight) of scenario k                             –
cost_{k,i}  cost term i of scenario k's site (``total_cost_jpy``)          JPY/yr
τ_k         first step whose data scenario k's own events change            –
r           the scenario whose own events come last (largest τ)            –
y^k_{v,t}   every other variable v of scenario k's site (dispatch, initial
            states), at step t when indexed by time                        –
==========  =============================================================  =====

Capital cost is counted once: by (K1) every scenario carries the same capex, and with
:math:`\\sum_k p_k = 1` its weighted sum is that capex.

(K3), when the branch steps τ are given, keeps the dispatch non-anticipative: until its own first
event a scenario cannot be told apart from the others, so it must do what the scenario with the
latest first event does (whose data equal its own until then). Without it each scenario would
prepare for a fault it could not know of. Presolve eliminates these equalities, so a scenario adds
to the problem only the steps from its first event on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pyomo.environ as pyo

from wattbit.formulations.common import add_time_axis

PROBABILITY_TOL = 1e-9

SiteBuilder = Callable[[pyo.Block, int], None]


def first_stage_name(block: str, var: str) -> str:
    return f"{block}_{var}"


def define_scenarios(
    m: pyo.Block,
    probabilities: Sequence[float],
    sizes: Sequence[tuple[str, str]],
    build_site: SiteBuilder,
    branch_steps: Sequence[int] | None = None,
) -> None:
    """Add ``m.scenario[k]`` (built by ``build_site(block, k)``), ``m.first_stage`` with (K1),
    ``m.expected_cost_jpy`` (K2) and, given ``branch_steps`` (τ_k), ``m.dispatch_nonanticipative``
    (K3). ``sizes`` names the (block, variable) pairs of the first stage."""
    if not math.isclose(sum(probabilities), 1.0, abs_tol=PROBABILITY_TOL):
        raise ValueError(f"scenario probabilities sum to {sum(probabilities):g}, not 1")
    m.S = pyo.RangeSet(0, len(probabilities) - 1)
    m.scenario = pyo.Block(m.S)
    for k in m.S:
        add_time_axis(m.scenario[k], m.time)
        build_site(m.scenario[k], k)

    first = m.first_stage = pyo.Block()
    for block, var in sizes:
        ref = m.scenario[0].component(block).component(var)
        first.add_component(
            first_stage_name(block, var),
            pyo.Var(within=pyo.NonNegativeReals, bounds=(ref.lb, ref.ub)),
        )
    keys = [first_stage_name(block, var) for block, var in sizes]
    pairs = dict(zip(keys, sizes, strict=True))

    def nonanticipative(b: pyo.Block, k: int, key: str) -> pyo.Expression:  # K1
        block, var = pairs[key]
        return m.scenario[k].component(block).component(var) == b.component(key)

    first.size_nonanticipative = pyo.Constraint(m.S, keys, rule=nonanticipative)
    m.expected_cost_jpy = pyo.Expression(  # K2
        expr=pyo.quicksum(p * m.scenario[k].total_cost_jpy for k, p in enumerate(probabilities))
    )
    if branch_steps is not None:
        _define_dispatch_nonanticipative(m, list(branch_steps), set(sizes))


def _define_dispatch_nonanticipative(
    m: pyo.Block, branch: list[int], sizes: set[tuple[str, str]]
) -> None:
    """(K3): scenario k follows scenario r (the latest first event) before τ_k."""
    r = max(range(len(branch)), key=lambda k: branch[k])
    pairs: dict[tuple[int, str, int], tuple[pyo.ComponentData, pyo.ComponentData]] = {}
    for k in m.S:
        if k == r or branch[k] == 0:
            continue
        site, ref = m.scenario[k], m.scenario[r]
        for blk in site.component_objects(pyo.Block, descend_into=False):
            for var in blk.component_objects(pyo.Var, descend_into=False):
                name = f"{blk.local_name}.{var.local_name}"
                other = ref.component(blk.local_name).component(var.local_name)
                if not var.is_indexed():
                    if (blk.local_name, var.local_name) not in sizes:
                        pairs[(k, name, -1)] = (var, other)
                elif var.index_set() is site.T:
                    for t in range(branch[k]):
                        pairs[(k, name, t)] = (var[t], other[t])
    m.dispatch_nonanticipative = pyo.Constraint(
        list(pairs), rule=lambda b, k, name, t: pairs[(k, name, t)][0] == pairs[(k, name, t)][1]
    )


def define_scenario_objective(m: pyo.Block) -> None:
    """Minimise the expected annualised cost (K2)."""
    m.objective = pyo.Objective(expr=m.expected_cost_jpy, sense=pyo.minimize)
