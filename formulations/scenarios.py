"""Two-stage stochastic structure: first-stage sizes, K scenario sites, expected cost.

Every scenario ``k`` is a whole site — the usual formulations on a block prepared with
:func:`wattbit.formulations.common.add_time_axis` and closed by :func:`wattbit.formulations.site.define_site_balance`
— that differs from the others only in its data (here: the outage events of one sampled year).
Its sizes are tied to one set of first-stage sizes; its dispatch is its own (second stage).

.. math::

    x^{k}_{j} = \\bar x_j \\qquad ∀k ∈ \\mathcal{K},\\ j ∈ \\mathcal{J}          \\quad (K1)

    \\min\\ \\textstyle\\sum_{k} p_k \\sum_{i} \\text{cost}_{k,i},\\qquad
    \\sum_k p_k = 1                                                          \\quad (K2)

    y^{k}_{v,t} = y^{π_k}_{v,t} \\qquad ∀k ≥ 1,\\ v,\\ t < σ_k              \\quad (K3)

    \\textstyle\\sum_k p_k u_k \\ge P,\\qquad u_k ∈ \\{0, 1\\}                     \\quad (K4)

    z^{k} = z^{0},\\quad z^{k} ∈ ℝ \\qquad ∀k ≥ 1,\\ z ∈ \\mathcal{Z}                   \\quad (K5)

==========  =============================================================  =====
symbol      meaning                                                        unit
==========  =============================================================  =====
𝒦           scenarios ``0 … K−1``                                         –
𝒥           size variables: (block, variable) pairs, e.g. battery power    –
x^k_j       size j in scenario k's site                                    MW, MWh
\\bar x_j   first-stage size j, bounded as the scenario sizes are          MW, MWh
p_k         probability (weight) of scenario k                             –
cost_{k,i}  cost term i of scenario k's site (``total_cost_jpy``)          JPY/yr
δ_{jk}      first step at which the data of scenarios j and k differ      –
σ_k, π_k    σ_k = max_{j<k} δ_{jk}, reached at j = π_k (the earlier
            scenario that k resembles longest)                             –
y^k_{v,t}   every other variable v of scenario k's site (dispatch, initial
            states), at step t when indexed by time                        –
u_k         1 if scenario k must meet the service level (H7)               –
P           least probability of meeting it (``min_survival_probability``) –
𝒵           a site's integer columns not indexed by a step: units of a size
            (I1), N+k's ``installed`` (O6, J3)                              –
==========  =============================================================  =====

(K4) is a chance constraint on the service level, built when P < 1: the protected load is kept
through the first hours of every fault (H7, :mod:`wattbit.formulations.shutdown`) in scenarios
weighing at least P, and the optimiser chooses which (sample average approximation). The
binaries u_k sit outside the scenario blocks, so (K3) does not tie them.

Capital cost is counted once: by (K1) every scenario carries the same capex, and with
:math:`\\sum_k p_k = 1` its weighted sum is that capex.

(K5): a site's integer columns not indexed by a step are first-stage decisions (how many units
of a size, whether a generator or a genset type is installed at all, which follows from its
units). Scenario 0 keeps them integer; in every other scenario they are continuous and equal to
scenario 0's, so they are whole there too. The problem is the same, but its relaxation has one
fractional column per such decision instead of K, and the MIP start branches on those alone
(:mod:`wattbit.mip_start`: at most three fractional sizes are branched on). A second-stage
integer decision must be indexed by time to stay the scenario's own.

(K3), when the tree (π, σ) is given, keeps the dispatch non-anticipative: until the step at which
their data first differ, two scenarios cannot be told apart, so they must dispatch alike. Without
it a scenario would prepare for a fault it could not know of, or, once a fault has begun, act on
how long it will last. δ is an ultrametric (``δ_{ik} ≥ min(δ_{ij}, δ_{jk})``: data equal up to
two steps agree up to the smaller), so tying each scenario to π_k until σ_k ties every pair j, k
until δ_{jk} (by induction on the larger index). Equal initial states (variables without a time
index) are tied wherever σ_k > 0. Presolve eliminates these equalities, so a scenario adds to the
problem only the steps from σ_k on.
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
    tree: Sequence[tuple[int, int]] | None = None,
    min_probability: float = 1.0,
) -> None:
    """Add ``m.scenario[k]`` (built by ``build_site(block, k)``), ``m.first_stage`` with (K1),
    ``m.expected_cost_jpy`` (K2) and, given ``tree`` (``(π_k, σ_k)`` per scenario, see
    :func:`scenario_tree`), ``m.dispatch_nonanticipative`` (K3). ``sizes`` names the (block,
    variable) pairs of the first stage. With ``min_probability`` P < 1, the binaries
    ``m.survival_required[k]`` and (K4) ``m.survival_chance`` exist before the sites are built,
    for ``build_site`` to hand to (H7)."""
    if not math.isclose(sum(probabilities), 1.0, abs_tol=PROBABILITY_TOL):
        raise ValueError(f"scenario probabilities sum to {sum(probabilities):g}, not 1")
    m.S = pyo.RangeSet(0, len(probabilities) - 1)
    if min_probability < 1.0:
        m.survival_required = pyo.Var(m.S, within=pyo.Binary)
        m.survival_chance = pyo.Constraint(  # K4
            expr=pyo.quicksum(p * m.survival_required[k] for k, p in enumerate(probabilities))
            >= min_probability - PROBABILITY_TOL
        )
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
    _define_integer_first_stage(m)
    if tree is not None:
        _define_dispatch_nonanticipative(m, list(tree), set(sizes))


def _define_integer_first_stage(m: pyo.Block) -> None:
    """(K5): every scenario k ≥ 1's integer columns not indexed by a step (a size's units, a
    genset type's ``installed``) equal scenario 0's, and are continuous (within their bounds)."""
    pairs: dict[tuple[int, str], tuple[pyo.ComponentData, pyo.ComponentData]] = {}
    root = m.scenario[0]
    steps = set(root.T)
    for var in root.component_data_objects(pyo.Var, descend_into=True):
        index = var.index() if isinstance(var.index(), tuple) else (var.index(),)
        if not var.is_integer() or not steps.isdisjoint(index):
            continue  # continuous, or the scenario's own at a step
        uid = pyo.ComponentUID(var, context=root)
        for k in m.S:
            if k > 0:
                copy = uid.find_component_on(m.scenario[k])
                lower, upper = copy.bounds
                copy.domain = pyo.Reals
                copy.setlb(lower)
                copy.setub(upper)
                pairs[(k, str(uid))] = (copy, var)
    if pairs:
        m.first_stage.integer_nonanticipative = pyo.Constraint(
            list(pairs), rule=lambda b, k, name: pairs[(k, name)][0] == pairs[(k, name)][1]
        )


def scenario_tree(first_difference: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """``(π_k, σ_k)`` per scenario from the matrix δ (K3); scenario 0 is the root ``(0, 0)``."""
    tree = [(0, 0)]
    for k in range(1, len(first_difference)):
        parent = max(range(k), key=lambda j: first_difference[j][k])
        tree.append((parent, int(first_difference[parent][k])))
    return tree


def _define_dispatch_nonanticipative(
    m: pyo.Block, tree: list[tuple[int, int]], sizes: set[tuple[str, str]]
) -> None:
    """(K3): scenario k follows scenario π_k before σ_k."""
    pairs: dict[tuple[int, str, int], tuple[pyo.ComponentData, pyo.ComponentData]] = {}
    for k in m.S:
        parent, split = tree[k]
        if split == 0:
            continue
        site, ref = m.scenario[k], m.scenario[parent]
        for blk in site.component_objects(pyo.Block, descend_into=False):
            for var in blk.component_objects(pyo.Var, descend_into=False):
                name = f"{blk.local_name}.{var.local_name}"
                other = ref.component(blk.local_name).component(var.local_name)
                if not var.is_indexed():
                    first_stage = (blk.local_name, var.local_name) in sizes
                    root = m.scenario[0].component(blk.local_name).component(var.local_name)
                    if not first_stage and not root.is_integer():  # K5 ties the integers
                        pairs[(k, name, -1)] = (var, other)
                elif var.index_set() is site.T:
                    for t in range(split):
                        pairs[(k, name, t)] = (var[t], other[t])
    m.dispatch_nonanticipative = pyo.Constraint(
        list(pairs), rule=lambda b, k, name, t: pairs[(k, name, t)][0] == pairs[(k, name, t)][1]
    )


def define_scenario_objective(m: pyo.Block) -> None:
    """Minimise the expected annualised cost (K2)."""
    m.objective = pyo.Objective(expr=m.expected_cost_jpy, sense=pyo.minimize)
