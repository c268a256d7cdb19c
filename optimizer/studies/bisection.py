"""The breakeven bisection, and the bisection steps a concave optimal cost decides without a solve.

:func:`bisect_price` finds the smallest price :math:`c \\ge 0` at which a non-increasing function
:math:`v(c)` is :math:`\\le 0`: it doubles an upper bracket from the case's own price, then halves
the bracket to a relative tolerance. A step's sign may come from ``known`` instead of a solve.

:class:`Concave` gives such signs for the breakeven's two functions. At a battery energy price
:math:`c` the model's objective is :math:`g(x) + k(c)\\,E(x)` with :math:`k` the annualised
energy coefficient (affine in :math:`c`) and :math:`E` the battery energy; every other term is
independent of :math:`c` (the warm model's cost-only update, :mod:`wattbit.warm`). So the optimal
cost :math:`f(k) = \\min_x g(x) + k E(x)` is concave in :math:`k`, and the energy :math:`E_i` of
an optimum at :math:`k_i` is a supergradient there. From solved points :math:`(k_i, f_i, E_i)`:

* :math:`f(k) \\le U(k) = \\min_i f_i + (k - k_i) E_i` (every supergradient line lies above);
* :math:`f(k) \\ge` the chord of the solved neighbours :math:`k_i < k < k_j`, and
  :math:`f(k) \\ge f_i` for :math:`k_i \\le k` (the cost is non-decreasing, :math:`E \\ge 0`);
* any optimal energy :math:`E(k)` lies between
  :math:`\\max_{k_j > k} \\max(E_j, (f_j - U(k)) / (k_j - k))` and
  :math:`\\min_{k_i < k} \\min(E_i, (U(k) - f_i) / (k - k_i))` (chord slopes of a concave
  function fall, and supergradients with them).

Where these bounds put :math:`v` on one side of 0 with a margin, the step is decided without a
solve. Costs are taken as exact only to :data:`COST_RTOL` (the warm/cold agreement of the solves)
and energies to :data:`ENERGY_ATOL`. When a step cannot be decided, the point solved is where the
supergradient lines of its solved neighbours cross (a breakpoint of :math:`f` when two linear
pieces meet there; with that point solved the whole interval is decided), else the step itself.

The answer stays the bisection's: :mod:`wattbit.studies.breakeven` solves both ends of the final
bracket in full (results and verifier) and, if either end's sign differs from the one decided,
repeats the bisection solving every step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

COST_RTOL = 1e-12
"""Relative precision granted to a solved optimal cost: warm and cold solves of one LP agree to
2e-16 (``docs/performance.md``); a sign decided wrongly is caught at the bracket's ends."""
ENERGY_ATOL = 1e-7
"""MWh granted to a solved battery energy (a tenth of the size tolerance of ``size_zero``)."""
NEAR_END = 1e-6
"""A crossing of supergradient lines this close (relative) to a solved end is not solved."""


FREE = "already at zero when battery energy capacity is free"
FLOOR_JPY_PER_KWH = 1000.0
"""The smallest price the tolerance is relative to (also the smallest first bracket): a root at 0
(a free battery is built, and at any price above none, as when any size is optimal at price 0)
ends at ``tolerance × 1000`` JPY/kWh instead of halving towards 0 until the float runs out."""


def bisect_price(
    evaluate: Callable[[float], float],
    start: float,
    tolerance: float,
    max_doublings: int = 12,
    known: Callable[[float], bool | None] | None = None,
) -> tuple[float | None, float, str, list[tuple[float, bool]]]:
    """The smallest price ``c ≥ 0`` with ``evaluate(c) ≤ 0`` for a non-increasing ``evaluate``:
    (estimate, half-width of the final bracket, note, the prices the answer rests on with the
    sign decided for each, ``True`` for ``> 0``: the bracket's ends, or the one price of a
    ``None``). ``None`` with a note when ``evaluate(0) ≤ 0`` or when it stays positive up to
    ``start · 2^max_doublings``.

    The bracket starts at ``max(start, 1000)`` and is doubled while positive; ``0`` is evaluated
    only when that first price is ``≤ 0`` (else it is positive too). The tolerance is relative
    to the bracket's upper end, and to no less than :data:`FLOOR_JPY_PER_KWH`. ``known(c)``,
    when given, is the sign of ``evaluate(c) > 0`` where it is certain without evaluating
    (``None`` where not)."""

    def positive(price: float) -> bool:
        sign = None if known is None else known(price)
        return evaluate(price) > 0 if sign is None else sign

    hi = max(start, FLOOR_JPY_PER_KWH)
    doublings = 0
    while positive(hi):
        hi *= 2
        doublings += 1
        if doublings > max_doublings:
            return None, 0.0, f"still positive at {hi:,.0f} JPY/kWh", [(hi / 2, True)]
    if doublings == 0 and evaluate(0.0) <= 0:
        return None, 0.0, FREE, [(0.0, False)]
    lo = 0.0 if doublings == 0 else hi / 2
    while hi - lo > tolerance * max(hi, FLOOR_JPY_PER_KWH):
        mid = 0.5 * (lo + hi)
        if positive(mid):
            lo = mid
        else:
            hi = mid
    ends = [(lo, True), (hi, False)]
    return 0.5 * (lo + hi), 0.5 * (hi - lo), f"relative tolerance {tolerance:g}", ends


@dataclass
class Concave:
    """Solved points of the concave optimal cost :math:`f(k)` (module doc): ``k`` the annualised
    energy coefficient (JPY/MWh/yr), ``cost`` the optimal cost (JPY/yr), ``energy`` the optimum's
    battery energy (MWh)."""

    points: list[tuple[float, float, float]] = field(default_factory=list)

    def add(self, k: float, cost: float, energy: float) -> None:
        self.points = sorted({*self.points, (k, cost, energy)})

    def _slack(self) -> float:
        return COST_RTOL * max((abs(f) for _, f, _ in self.points), default=0.0)

    def upper(self, k: float) -> float:
        """:math:`U(k)` plus the cost slack; ``inf`` without points."""
        lines = (f + (k - ki) * e for ki, f, e in self.points)
        return min(lines, default=float("inf")) + self._slack()

    def lower(self, k: float) -> float:
        """A lower bound on :math:`f(k)` less the cost slack; ``-inf`` without one."""
        left = [(ki, f) for ki, f, _ in self.points if ki <= k]
        right = [(kj, f) for kj, f, _ in self.points if kj > k]
        if not left:
            return float("-inf")
        bound = max(f for _, f in left)
        if right:
            (ki, fi), (kj, fj) = left[-1], right[0]
            bound = max(bound, fi + (k - ki) * (fj - fi) / (kj - ki))
        return bound - self._slack()

    def energy_bounds(self, k: float) -> tuple[float, float]:
        """Bounds on the energy of any optimum at ``k`` (MWh), widened by the slacks."""
        u, slack = self.upper(k), self._slack()
        lo, hi = 0.0, float("inf")
        for ki, f, e in self.points:
            if ki < k:
                hi = min(hi, e + ENERGY_ATOL, (u - f + slack) / (k - ki))
            elif ki > k:
                lo = max(lo, e - ENERGY_ATOL, (f - slack - u) / (ki - k))
        return lo, hi

    def crossing(self, k: float) -> float | None:
        """Where the supergradient lines of the solved neighbours of ``k`` cross, strictly inside
        them (``None`` without two neighbours, for parallel lines or a crossing at an end)."""
        left = [p for p in self.points if p[0] < k]
        right = [p for p in self.points if p[0] > k]
        if not left or not right:
            return None
        (ki, fi, ei), (kj, fj, ej) = left[-1], right[0]
        if ei - ej <= ENERGY_ATOL:
            return None
        x = (fj - fi + ki * ei - kj * ej) / (ei - ej)
        margin = NEAR_END * (kj - ki)
        return x if ki + margin < x < kj - margin else None
