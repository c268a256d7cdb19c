"""Geographic workload shift: a migratable share of a DC site's work moves to other sites over
data links with a capacity, paying an energy overhead and a cost per migrated MWh.

Routes exist only between sites whose link is within the distance (latency) limit of the work
that would move: the optimiser passes only those. Work leaves from the site's inflexible IT load
(:mod:`wattbit.formulations.dc_load`) and is served at the destination, within its IT capacity.

.. math::

    0 \\le m_{r,t} \\le M_{r,t}                                                 \\quad (M1)

    \\text{out}_{i,t} = \\textstyle\\sum_{r ∈ O(i)} m_{r,t} \\le μ_i L_{i,t}      \\quad (M2)

    \\text{out}_{i,t} \\le L_{i,t} − s_{i,t}                                    \\quad (M3)

    \\text{in}_{i,t} = \\textstyle\\sum_{r ∈ I(i)} (1 + ο_r)\\, m_{r,t}           \\quad (M4)

    L_{i,t} − s_{i,t} + w_{i,t} − \\text{out}_{i,t} + \\text{in}_{i,t} \\le K_i  \\quad (M5)

    \\text{injection}_{i,t} = \\mathrm{PUE}_{i,t}\\,(\\text{out}_{i,t} − \\text{in}_{i,t})   \\quad (M6)

    \\text{cost}_{migration,i} = α \\textstyle\\sum_{r ∈ O(i)} c_r \\sum_t m_{r,t} Δt   \\quad (M7)

==========  ===========================================================  =======
symbol      meaning                                                      unit
==========  ===========================================================  =======
m_{r,t}     IT work moved along route r (origin → destination site)      MW
M_{r,t}     capacity of r's data link, each direction, in IT MW           MW
O(i), I(i)  routes out of and into site i                                –
L_{i,t}     site i's inflexible desired IT load                          MW
μ_i         share of it that may migrate                                 –
s_{i,t}     IT load shed at i; ``L − s = −injection_{dc}/PUE``            MW
w_{i,t}     deferrable work served at i (0 without a workload-shift block) MW
K_i         IT capacity of site i                                        MW
ο_r         energy overhead per migrated MWh (served at the destination)  –
c_r         cost per migrated MWh                                        JPY/MWh
==========  ===========================================================  =======

The block of site i (``<site>_migration``) sits in the node block of the site, so the node's
balance counts (M6) with the DC's own injection; the route flows live in ``m.geo_shift``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo


@dataclass(frozen=True, eq=False)
class MigrationSite:
    name: str
    migratable_it_mw: np.ndarray
    it_capacity_mw: float
    pue: np.ndarray


@dataclass(frozen=True, eq=False)
class Route:
    origin: str
    destination: str
    capacity_mw: np.ndarray
    overhead_fraction: float = 0.0
    cost_jpy_per_mwh: float = 0.0


@dataclass(frozen=True, eq=False)
class GeoShiftData:
    sites: tuple[MigrationSite, ...]
    routes: tuple[Route, ...]


@dataclass(frozen=True, eq=False)
class SiteBlocks:
    """Where site i lives: its node block, its DC block, its workload-shift block if any."""

    host: pyo.Block
    dc: pyo.Block
    deferrable: pyo.Block | None = None


def define_geo_shift(
    m: pyo.Block, data: GeoShiftData, sites: Mapping[str, SiteBlocks]
) -> pyo.Block:
    """Add the route flows ``m.geo_shift`` and a ``<site>_migration`` block per site (M1–M7)."""
    T, dt, alpha = m.T, m.time.dt_h, m.time.annual_factor
    geo = pyo.Block()
    m.add_component("geo_shift", geo)
    geo.R = pyo.RangeSet(0, len(data.routes) - 1)
    geo.move_it_mw = pyo.Var(geo.R, T, within=pyo.NonNegativeReals)
    capacity = [route.capacity_mw.tolist() for route in data.routes]
    geo.move_max = pyo.Constraint(  # M1
        geo.R, T, rule=lambda b, r, t: b.move_it_mw[r, t] <= capacity[r][t]
    )
    move = geo.move_it_mw

    for site in data.sites:
        where = sites[site.name]
        out = [r for r, route in enumerate(data.routes) if route.origin == site.name]
        inn = [
            (r, 1.0 + route.overhead_fraction)
            for r, route in enumerate(data.routes)
            if route.destination == site.name
        ]
        pue = site.pue.tolist()
        migratable = site.migratable_it_mw.tolist()
        blk = pyo.Block()
        where.host.add_component(f"{site.name}_migration", blk)
        blk.out_it_mw = pyo.Expression(
            T, rule=lambda b, t, o=out: pyo.quicksum(move[r, t] for r in o)
        )
        blk.in_it_mw = pyo.Expression(  # M4
            T, rule=lambda b, t, i=inn: pyo.quicksum(k * move[r, t] for r, k in i)
        )
        if out:
            blk.migratable_max = pyo.Constraint(  # M2
                T, rule=lambda b, t, mu=migratable: b.out_it_mw[t] <= mu[t]
            )
            blk.served_max = pyo.Constraint(  # M3
                T,
                rule=lambda b, t, dc=where.dc, p=pue: (
                    b.out_it_mw[t] <= -dc.injection_mw[t] * (1.0 / p[t])
                ),
            )
        if inn:
            own = [where.dc] + ([where.deferrable] if where.deferrable is not None else [])
            blk.it_capacity_max = pyo.Constraint(  # M5
                T,
                rule=lambda b, t, own=own, p=pue, k=site.it_capacity_mw: (
                    -pyo.quicksum(x.injection_mw[t] for x in own) * (1.0 / p[t])
                    - b.out_it_mw[t]
                    + b.in_it_mw[t]
                    <= k
                ),
            )
        blk.injection_mw = pyo.Expression(  # M6
            T, rule=lambda b, t, p=pue: p[t] * (b.out_it_mw[t] - b.in_it_mw[t])
        )
        blk.cost_migration_jpy = pyo.Expression(  # M7
            expr=alpha
            * dt
            * pyo.quicksum(
                data.routes[r].cost_jpy_per_mwh * pyo.quicksum(move[r, t] for t in T) for r in out
            )
        )
    return geo
