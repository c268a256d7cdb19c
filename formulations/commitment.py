"""Generator unit commitment: identical gensets of ū MW each, switched on and off in whole units,
with a minimum stable load, a start-up cost and delay, minimum up and down times, and N+k
redundancy. Needs the generator's size in units (:mod:`wattbit.formulations.modular`).

The units on are one integer per step (a clustered commitment): identical units are not told
apart, so no two solutions differ only by which unit runs (no symmetry to break). They exist only
on the steps where the generator may run (``a_t > 0``: outage and maintenance steps in type ③)
and on the step after each such run (to count stops); elsewhere they are fixed at 0 and leave
the problem before HiGHS sees it.

.. math::

    u_t \\le N,\\qquad u_t ∈ \\mathbb{Z}_{\\ge 0}\\ (t ∈ \\mathcal{C}),\\qquad u_t = 0\\ (t ∉ \\mathcal{C})
    \\quad (O1)

    μ\\, ū\\, u_t \\le y_t \\le ū\\,(a_t u_t − δ_t s_t)            \\quad t ∈ \\mathcal{C}      \\quad (O2)

    s_t − w_t = u_t − u_{t−1},\\quad s_t, w_t \\ge 0,\\quad u_{−1} = 0                       \\quad (O3)

    \\textstyle\\sum_{τ=t−τ_{up}+1}^{t} s_τ \\le u_t            \\quad t ∈ \\mathcal{C}      \\quad (O4)

    \\textstyle\\sum_{τ=t−τ_{dn}+1}^{t} w_τ \\le N − u_t        \\quad t ∈ \\mathcal{C}      \\quad (O5)

    y_t \\le ū\\,(N − k\\,b),\\quad k\\,b \\le N \\le \\bar N b,\\ b ∈ \\{0, 1\\}   \\quad t ∈ \\mathcal{C}      \\quad (O6)

    \\text{cost}_{startup} = α\\, c_s \\textstyle\\sum_t s_t                                \\quad (O7)

    \\text{cost}_{no\\,load} = α\\, c_{nl}\\, Δt \\textstyle\\sum_t u_t                        \\quad (O8)

    \\textstyle\\sum_{t ∈ \\mathcal{T}_e} u_t Δt \\le H_e N \\quad ∀e                              \\quad (O9)

    α \\textstyle\\sum_t u_t Δt \\le H_y N                                                 \\quad (O10)

=========  ======================================================================  =========
symbol     meaning                                                                 unit
=========  ======================================================================  =========
ū          genset unit size                                                         MW
N          units installed (``generator.power_mw_units``; P = ū N by (I1))          –
𝒞          steps where the generator may run, ``a_t > 0``                           –
u_t        units on                                                                 –
s_t, w_t   units started, stopped at step t                                         –
y_t        generator output (F1)                                                    MW
a_t        share of step t the generator may run (F1)                               –
μ          minimum stable load, share of a unit's rating                            –
δ_t        share of step t a unit started then loses to its start delay: the
           delay over Δt (at most 1) where a_t = 1, and 0 where a_t < 1 (the
           fault's first step, whose a_t already takes the delay off)              –
τ_up,      minimum up and down time, in steps (rounded up)                          –
τ_dn
k          redundant units: the output must be carried with k units out (N+k)      –
b          1 if the site has gensets at all (only with k > 0)                       –
N̄          most units the size's bounds allow                                       –
c_s        cost per unit start                                                      JPY
c_nl       no-load cost of a unit on: the fuel curve's part that does not grow
           with output (the part that does is F7's c_f)                             JPY/h
α          annualisation factor                                                     –
𝒯_e, H_e   the steps of fault e; most running hours of a unit per fault (F9's)      –, h
H_y        most running hours of a unit per year (F10's)                            h
=========  ======================================================================  =========

(O4) and (O5) hold on the steps the generator may run: a unit stopped because the grid is back
(``a_t = 0``) is not held on, and (O6) applies without commitment too (it needs only N). Its
binary b lets a site without gensets (N = 0) skip the k spares: N+k is a rule for a generator
plant the site has, not a reason to buy one.

With ``running_hours = "on"`` the caps of F9 and F10 count the hours a unit is on, whatever its
load, (O9) and (O10), instead of full-load hours. The units are identical and not told apart, so
unit-hours within H N are exactly what N units of at most H hours each can run: give the units
on at each step, u_t ≤ N, to units in turn (unit 1, 2, …, N, 1, …), and each runs ⌊Σ u_t/N⌋ or
⌈Σ u_t/N⌉ steps (to one step when H is not a whole number of steps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

STEP_TOL = 1e-9


def whole_steps(hours: float, dt_h: float) -> int:
    """A duration in steps, rounded up (at least 1)."""
    return max(1, math.ceil(hours / dt_h - STEP_TOL))


@dataclass(frozen=True, eq=False)
class CommitmentData:
    unit_mw: float
    availability: np.ndarray
    min_load_fraction: float = 0.0
    start_cost_jpy: float = 0.0
    start_delay_h: float = 0.0
    min_up_h: float = 0.0
    min_down_h: float = 0.0
    redundant_units: int = 0
    no_load_cost_jpy_per_h: float = 0.0
    hours_on: bool = False  # running hours counted on the units on (O9, O10), not F9, F10

    @property
    def commits(self) -> bool:
        """Whether units on/off matter: a minimum load, a start or no-load cost, a minimum
        up/down time or running hours counted on the units on."""
        return (
            self.min_load_fraction > 0
            or self.start_cost_jpy > 0
            or self.min_up_h > 0
            or self.min_down_h > 0
            or self.no_load_cost_jpy_per_h > 0
            or self.hours_on
        )


def define_commitment(
    blk: pyo.Block, data: CommitmentData, units: pyo.Var, output: pyo.Var, prefix: str = ""
) -> None:
    """Add (O1)–(O8) to the generator block ``blk``: ``units`` is its units installed N,
    ``output`` its output y_t. Every name starts with ``prefix``: a genset type's ``<type>_``
    in a plant of several (:mod:`wattbit.formulations.gensets`)."""
    m = blk.parent_block()
    T, dt, alpha = m.T, m.time.dt_h, m.time.annual_factor
    a = data.availability.tolist()
    ubar, k = data.unit_mw, data.redundant_units
    may = [t for t in T if a[t] > 0]

    def add(name: str, component: pyo.Component) -> pyo.Component:
        blk.add_component(prefix + name, component)
        return component

    C = add("C", pyo.Set(initialize=may, ordered=True))
    if k > 0:
        has = add("installed", pyo.Var(within=pyo.Binary))
        add(  # O6
            "output_max_redundant",
            pyo.Constraint(C, rule=lambda b, t: output[t] <= ubar * (units - k * has)),
        )
        add("spares_installed", pyo.Constraint(expr=units >= k * has))  # O6
        add("units_only_installed", pyo.Constraint(expr=units <= units.ub * has))  # O6
    if not data.commits:
        return
    counted = sorted(set(may) | {t + 1 for t in may if t + 1 < len(T)})
    u = add("units_on", pyo.Var(T, within=pyo.NonNegativeIntegers, bounds=(0, units.ub)))
    s = add("starts", pyo.Var(T, within=pyo.NonNegativeReals))
    w = add("stops", pyo.Var(T, within=pyo.NonNegativeReals))
    for t in set(T) - set(may):
        u[t].fix(0)
    for t in set(T) - set(counted):
        s[t].fix(0)
        w[t].fix(0)
    delay = min(1.0, data.start_delay_h / dt)

    add("units_on_max", pyo.Constraint(C, rule=lambda b, t: u[t] <= units))  # O1
    if data.min_load_fraction > 0:
        mu = data.min_load_fraction
        add(  # O2
            "output_min_stable",
            pyo.Constraint(C, rule=lambda b, t: output[t] >= mu * ubar * u[t]),
        )
    add(  # O2
        "output_max_committed",
        pyo.Constraint(
            C,
            rule=lambda b, t: (
                output[t] <= ubar * (a[t] * u[t] - (delay if a[t] >= 1 else 0.0) * s[t])
            ),
        ),
    )
    add(  # O3
        "start_stop_balance",
        pyo.Constraint(counted, rule=lambda b, t: s[t] - w[t] == u[t] - (u[t - 1] if t > 0 else 0)),
    )
    up, down = whole_steps(data.min_up_h, dt), whole_steps(data.min_down_h, dt)
    if up > 1:
        add(  # O4
            "min_up",
            pyo.Constraint(
                C,
                rule=lambda b, t: (
                    pyo.quicksum(s[i] for i in range(max(0, t - up + 1), t + 1)) <= u[t]
                ),
            ),
        )
    if down > 1:
        add(  # O5
            "min_down",
            pyo.Constraint(
                C,
                rule=lambda b, t: (
                    pyo.quicksum(w[i] for i in range(max(0, t - down + 1), t + 1)) <= units - u[t]
                ),
            ),
        )
    blk.add_component(  # O7 (a cost term's name starts with cost_: formulations.site)
        f"cost_{prefix}startup_jpy",
        pyo.Expression(expr=alpha * data.start_cost_jpy * pyo.quicksum(s[t] for t in counted)),
    )
    if data.no_load_cost_jpy_per_h > 0:
        blk.add_component(  # O8
            f"cost_{prefix}no_load_jpy",
            pyo.Expression(
                expr=alpha * dt * data.no_load_cost_jpy_per_h * pyo.quicksum(u[t] for t in may)
            ),
        )


def define_running_hours(
    blk: pyo.Block,
    units: pyo.Var,
    events: tuple[tuple[int, ...], ...],
    per_event_h: float | None,
    per_year_h: float | None,
    prefix: str = "",
) -> None:
    """Add (O9) and (O10) to the generator block ``blk`` whose units on are
    ``blk.<prefix>units_on``: each unit runs at most ``per_event_h`` hours in a fault and
    ``per_year_h`` a year, counted on the units on whatever their load (they replace F9 and
    F10, which count full-load hours)."""
    m = blk.parent_block()
    T, dt, alpha = m.T, m.time.dt_h, m.time.annual_factor
    u = blk.component(f"{prefix}units_on")
    if per_event_h is not None and events:
        blk.add_component(f"{prefix}E", pyo.RangeSet(0, len(events) - 1))
        blk.add_component(  # O9
            f"{prefix}run_hours_on_per_event_max",
            pyo.Constraint(
                blk.component(f"{prefix}E"),
                rule=lambda b, e: dt * pyo.quicksum(u[t] for t in events[e]) <= per_event_h * units,
            ),
        )
    if per_year_h is not None:
        blk.add_component(  # O10
            f"{prefix}run_hours_on_per_year_max",
            pyo.Constraint(expr=alpha * dt * pyo.quicksum(u[t] for t in T) <= per_year_h * units),
        )
