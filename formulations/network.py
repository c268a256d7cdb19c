"""A grid of nodes and branches: nodal balances, linear (DC) power flow, limits, slack supply.

Every asset sits in the block of its node (``m.node.<n>``, prepared with ``add_time_axis`` so that
the single-site formulations place their blocks in it unchanged); a node's net injection is the
sum of the ``injection_mw`` of the blocks in it, less the other customers' load. A slack node also
holds the supply from the upstream grid, a :mod:`wattbit.formulations.connection` block named ``upstream``
(import limit, import price, export = reverse flow into the upstream grid).

.. math::

    p_{n,t} = \\textstyle\\sum_{k ∈ A(n)} \\text{injection}_{k,t} − D_{n,t}     \\quad (N1)

    p_{n,t} \\le R_{n,t}\\quad (n \\text{ not a slack, with a reverse-flow limit})  \\quad (N2)

    −F_{l,t} \\le f_{l,t} \\le F_{l,t}                                          \\quad (N3)

Flow model ``kvl`` (cycle-based Kirchhoff, one flow variable per branch):

.. math::

    p_{n,t} = \\textstyle\\sum_l K_{n,l} f_{l,t}\\quad ∀n                       \\quad (N4)

    \\textstyle\\sum_{l} C_{l,c}\\, x_l f_{l,t} = 0\\quad ∀c                     \\quad (N5)

Flow model ``ptdf`` (flows of lines and transformers are expressions of the injections):

.. math::

    q_{n,t} = p_{n,t} − \\textstyle\\sum_{k ∈ \\text{links}} K_{n,k} f_{k,t}     \\quad (N6)

    f_{l,t} = \\textstyle\\sum_n Φ_{l,n}\\, q_{n,t}\\quad (l \\text{ not a link})  \\quad (N7)

    \\textstyle\\sum_{n ∈ I} q_{n,t} = 0\\quad ∀ \\text{islands } I             \\quad (N8)

N-1 security (preventive), for every listed outage k and every other line or transformer l:

.. math::

    −F_{l,t} \\le f_{l,t} + L_{l,k}\\, f_{k,t} \\le F_{l,t},\\qquad
    L_{l,k} = \\frac{Φ_{l,a} − Φ_{l,b}}{1 − (Φ_{k,a} − Φ_{k,b})}                  \\quad (N9)

=========  ======================================================================  ====
symbol     meaning                                                                 unit
=========  ======================================================================  ====
A(n)       blocks in node n's block (assets, upstream supply)                       –
D_{n,t}    other customers' net load at n (+ = consumption)                         MW
p_{n,t}    net injection of node n into the network                                 MW
R_{n,t}    reverse-flow limit: the most n may feed back into the network            MW
f_{l,t}    flow on branch l, + from its from-node to its to-node                     MW
F_{l,t}    thermal limit of branch l (constant, or a series, e.g. reduced for N-1)   MW
K_{n,l}    incidence: +1 if n is l's from-node, −1 if its to-node, else 0           –
x_l        reactance of a line or transformer (any unit, the same for all)          –
C_{l,c}    ±1 if branch l lies on cycle c of a cycle basis of the lines and
           transformers (sign: direction of l along c), else 0                       –
Φ_{l,n}    power transfer distribution factor of the island of l, reference node
           its slack (else its first node)                                          –
q_{n,t}    injection into the lines and transformers, after the transport links    MW
L_{l,k}    line outage distribution factor: share of k's flow that moves onto l when
           k trips (a, b: k's from- and to-node)                                   –
=========  ======================================================================  ====

A *link* (a transport branch, no reactance) carries any flow within its limit: it is in the
nodal balances (N4, N6) but in no cycle and no PTDF. An *island* is a connected set of nodes over
lines and transformers alone. Both flow models give the same feasible set; which one HiGHS solves
faster was measured on the example town (``docs/network.md``). The post-contingency limits (N9)
use the same thermal limit as before the outage (an assumption: no short-term emergency rating)
and hold in either flow model.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import networkx as nx
import numpy as np
import pyomo.environ as pyo

from wattbit.formulations.common import add_time_axis
from wattbit.formulations.connection import ConnectionData, define_connection

FlowModel = Literal["kvl", "ptdf"]
UPSTREAM = "upstream"
PTDF_ZERO = 1e-10


@dataclass(frozen=True, eq=False)
class NodeData:
    name: str
    base_load_mw: np.ndarray
    reverse_flow_limit_mw: np.ndarray | None = None
    upstream: ConnectionData | None = None

    @property
    def is_slack(self) -> bool:
        return self.upstream is not None


@dataclass(frozen=True, eq=False)
class BranchData:
    name: str
    from_node: str
    to_node: str
    limit_mw: np.ndarray
    reactance: float | None = None

    @property
    def is_link(self) -> bool:
        return self.reactance is None


@dataclass(frozen=True, eq=False)
class NetworkData:
    nodes: tuple[NodeData, ...]
    branches: tuple[BranchData, ...]
    flow_model: FlowModel = "kvl"
    contingencies: tuple[str, ...] = ()

    def node_index(self) -> dict[str, int]:
        return {node.name: i for i, node in enumerate(self.nodes)}

    def incidence(self) -> np.ndarray:
        """K (nodes × branches): +1 at the from-node, −1 at the to-node."""
        index = self.node_index()
        K = np.zeros((len(self.nodes), len(self.branches)))
        for j, br in enumerate(self.branches):
            K[index[br.from_node], j] = 1.0
            K[index[br.to_node], j] = -1.0
        return K

    def islands(self) -> list[list[int]]:
        """Node indices of each island (connected over lines and transformers), slack first."""
        graph = nx.Graph()
        graph.add_nodes_from(range(len(self.nodes)))
        index = self.node_index()
        for br in self.branches:
            if not br.is_link:
                graph.add_edge(index[br.from_node], index[br.to_node])
        islands = []
        for component in nx.connected_components(graph):
            members = sorted(component)
            members.sort(key=lambda i: not self.nodes[i].is_slack)
            islands.append(members)
        return sorted(islands, key=lambda members: members[0])

    def ptdf(self) -> np.ndarray:
        """Φ (branches × nodes); rows of links are zero."""
        K = self.incidence()
        phi = np.zeros((len(self.branches), len(self.nodes)))
        lines = [j for j, br in enumerate(self.branches) if not br.is_link]
        b = np.array([1.0 / self.branches[j].reactance for j in lines])
        for island in self.islands():
            rows = [j for j in lines if K[island, j].any()]
            if not rows:
                continue
            sub_K = K[np.ix_(island, rows)]
            sub_b = b[[lines.index(j) for j in rows]]
            laplacian = sub_K @ np.diag(sub_b) @ sub_K.T
            inverse = np.zeros_like(laplacian)
            inverse[1:, 1:] = np.linalg.inv(laplacian[1:, 1:])  # reference: island[0]
            block = np.diag(sub_b) @ sub_K.T @ inverse
            block[np.abs(block) < PTDF_ZERO] = 0.0
            phi[np.ix_(rows, island)] = block
        return phi

    def lodf(self) -> np.ndarray:
        """L (branches × contingencies, N9): the share of the outaged branch's flow that moves
        onto each line or transformer; −1 on the outaged branch itself, 0 on links."""
        phi = self.ptdf()
        index = self.node_index()
        names = [br.name for br in self.branches]
        L = np.zeros((len(self.branches), len(self.contingencies)))
        for c, name in enumerate(self.contingencies):
            k = names.index(name)
            br = self.branches[k]
            transfer = phi[:, index[br.from_node]] - phi[:, index[br.to_node]]
            L[:, c] = transfer / (1.0 - transfer[k])
            L[k, c] = -1.0
        L[np.abs(L) < PTDF_ZERO] = 0.0
        return L

    def cycles(self) -> list[list[tuple[int, float]]]:
        """A cycle basis of the lines and transformers: (branch, ±1 along the cycle) lists.

        Each branch outside a spanning forest closes one cycle with the forest's path between
        its ends; parallel branches give two-branch cycles.
        """
        index = self.node_index()
        forest = nx.Graph()
        forest.add_nodes_from(range(len(self.nodes)))
        chords = []
        for j, br in enumerate(self.branches):
            if br.is_link:
                continue
            u, v = index[br.from_node], index[br.to_node]
            if nx.has_path(forest, u, v):
                chords.append(j)
            else:
                forest.add_edge(u, v, branch=j)
        cycles = []
        for j in chords:
            br = self.branches[j]
            u, v = index[br.from_node], index[br.to_node]
            cycle = [(j, 1.0)]  # u → v along the chord, back v → u along the forest
            path = nx.shortest_path(forest, v, u)
            for a, b in itertools.pairwise(path):
                k = forest.edges[a, b]["branch"]
                cycle.append((k, 1.0 if index[self.branches[k].from_node] == a else -1.0))
            cycles.append(cycle)
        return cycles


def define_nodes(m: pyo.Block, data: NetworkData) -> dict[str, pyo.Block]:
    """Add ``m.node.<n>`` for every node (each with the time axis), with the upstream supply of a
    slack node; return them by name so that assets can be placed in them."""
    m.node = pyo.Block()
    blocks = {}
    for node in data.nodes:
        blk = add_time_axis(pyo.Block(), m.time)
        m.node.add_component(node.name, blk)
        if node.upstream is not None:
            define_connection(blk, node.upstream, name=UPSTREAM)
        blocks[node.name] = blk
    return blocks


def define_power_flow(m: pyo.Block, data: NetworkData) -> None:
    """Add net injections, reverse-flow limits, flows, balances and branch limits (N1–N8).

    Call after every asset is placed in the node blocks of :func:`define_nodes`.
    """
    T = m.T
    nodes = [getattr(m.node, node.name) for node in data.nodes]
    for node, blk in zip(data.nodes, nodes, strict=True):
        injecting = [b for b in blk.component_objects(pyo.Block) if hasattr(b, "injection_mw")]
        base = node.base_load_mw.tolist()
        blk.net_injection_mw = pyo.Expression(  # N1
            T,
            rule=lambda b, t, inj=injecting, d=base: (
                pyo.quicksum(k.injection_mw[t] for k in inj) - d[t]
            ),
        )
        if node.reverse_flow_limit_mw is not None and not node.is_slack:
            limit = node.reverse_flow_limit_mw.tolist()
            blk.reverse_flow_max = pyo.Constraint(  # N2
                T, rule=lambda b, t, r=limit: b.net_injection_mw[t] <= r[t]
            )

    K = data.incidence()
    at_node = [[(int(j), float(K[n, j])) for j in np.flatnonzero(K[n])] for n in range(len(nodes))]
    ptdf = data.flow_model == "ptdf"
    m.branch = pyo.Block()
    branches = []
    for br in data.branches:
        blk = pyo.Block()
        m.branch.add_component(br.name, blk)
        if br.is_link or not ptdf:
            blk.flow_mw = pyo.Var(T)
        branches.append(blk)

    m.network = pyo.Block()
    net = m.network
    if ptdf:
        links = [[(j, k) for j, k in row if data.branches[j].is_link] for row in at_node]
        net.N = pyo.RangeSet(0, len(nodes) - 1)
        net.injection_mw = pyo.Expression(  # N6
            net.N,
            T,
            rule=lambda b, n, t: (
                nodes[n].net_injection_mw[t]
                - pyo.quicksum(k * branches[j].flow_mw[t] for j, k in links[n])
            ),
        )
        phi = data.ptdf()
        for j, br in enumerate(data.branches):
            if not br.is_link:
                column = [(int(n), float(phi[j, n])) for n in np.flatnonzero(phi[j])]
                branches[j].flow_mw = pyo.Expression(  # N7
                    T,
                    rule=lambda b, t, col=column: pyo.quicksum(
                        v * net.injection_mw[n, t] for n, v in col
                    ),
                )
        islands = data.islands()
        net.I = pyo.RangeSet(0, len(islands) - 1)
        net.balance = pyo.Constraint(  # N8
            net.I,
            T,
            rule=lambda b, i, t: pyo.quicksum(b.injection_mw[n, t] for n in islands[i]) == 0,
        )
    else:
        for n, blk in enumerate(nodes):
            blk.balance = pyo.Constraint(  # N4
                T,
                rule=lambda b, t, row=at_node[n]: (
                    b.net_injection_mw[t]
                    == pyo.quicksum(k * branches[j].flow_mw[t] for j, k in row)
                ),
            )
        cycles = [
            [(j, s * float(data.branches[j].reactance)) for j, s in cycle]
            for cycle in data.cycles()
        ]
        net.C = pyo.Set(initialize=range(len(cycles)))
        net.kvl = pyo.Constraint(  # N5
            net.C,
            T,
            rule=lambda b, c, t: (
                pyo.quicksum(v * branches[j].flow_mw[t] for j, v in cycles[c]) == 0
            ),
        )

    for br, blk in zip(data.branches, branches, strict=True):
        limit = br.limit_mw.tolist()
        blk.flow_max = pyo.Constraint(T, rule=lambda b, t, f=limit: b.flow_mw[t] <= f[t])  # N3
        blk.flow_min = pyo.Constraint(T, rule=lambda b, t, f=limit: b.flow_mw[t] >= -f[t])
    define_security(data, branches, T)


def define_security(data: NetworkData, branches: list[pyo.Block], T: pyo.Set) -> None:
    """Add ``branch.<l>.n1_max[k, t]`` and ``n1_min[k, t]`` (N9): line or transformer l within its
    limit after the outage of each listed branch k that moves flow onto it."""
    if not data.contingencies:
        return
    L = data.lodf()
    names = [br.name for br in data.branches]
    for j, (br, blk) in enumerate(zip(data.branches, branches, strict=True)):
        outages = [
            (k, names.index(k), float(L[j, c]))
            for c, k in enumerate(data.contingencies)
            if k != br.name and L[j, c] != 0.0
        ]
        if br.is_link or not outages:
            continue
        limit = br.limit_mw.tolist()
        post = {k: (branches[i], share) for k, i, share in outages}
        blk.N1 = pyo.Set(initialize=list(post), ordered=True)
        blk.n1_max = pyo.Constraint(
            blk.N1,
            T,
            rule=lambda b, k, t, f=limit, p=post: (
                b.flow_mw[t] + p[k][1] * p[k][0].flow_mw[t] <= f[t]
            ),
        )
        blk.n1_min = pyo.Constraint(
            blk.N1,
            T,
            rule=lambda b, k, t, f=limit, p=post: (
                b.flow_mw[t] + p[k][1] * p[k][0].flow_mw[t] >= -f[t]
            ),
        )
