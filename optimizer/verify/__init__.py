"""Independent verifier: re-checks a result Dataset against its own inputs, without the model.

It recomputes the site balance, the state-of-charge recursions, every bound and every cost term
from the arrays in the Dataset, with formulas written here again (not imported from
``formulations``), so that a modelling error shows up as a violation instead of being repeated.

One function per component (``verify_battery``, ``verify_connection``, … in
:mod:`wattbit.verify.site`; ``verify_generator``, … in :mod:`wattbit.verify.ride_through`)
returns that component's :class:`Checks`. Each check is named by the equation tags of its
formulation (``docs/formulation.md``) and what it checks, e.g. ``"B5 battery SoC recursion"``;
each cost term ``cost_<block>_<term>_jpy`` is recomputed under
``"<tag> cost_<block>_<term>_jpy recomputed"``. Variable domains (``≥ 0``) are checked with the
tagged bound of the same variable (``"G1 0 ≤ import ≤ limit"``); size bounds are untagged
(``"<size> within bounds"``).

To add a check: compute it in the component's function (or add a function for a new component and
list it in ``COMPONENTS``); record a cost term with :meth:`Checks.cost`, so that
``"E2 cost terms all checked"`` and ``"E2 total cost = sum of terms"`` count it.
"""

from __future__ import annotations

from collections.abc import Callable

import xarray as xr

from wattbit.verify.checks import (
    TOLERANCE,
    Checks,
    Result,
    Verification,
    excess,
    recursion,
    relative,
    within,
)
from wattbit.verify.market import verify_market
from wattbit.verify.milp import verify_commitment, verify_units
from wattbit.verify.ride_through import (
    verify_generator,
    verify_migration,
    verify_shutdown,
    verify_ups,
)
from wattbit.verify.site import (
    verify_battery,
    verify_connection,
    verify_dc,
    verify_emergency,
    verify_pv,
    verify_service,
    verify_shift,
    verify_site,
    verify_sizes,
)

__all__ = [
    "COMPONENTS",
    "TOLERANCE",
    "Checks",
    "Result",
    "Verification",
    "excess",
    "recursion",
    "relative",
    "verify",
    "within",
]

COMPONENTS: tuple[Callable[[Result], Checks], ...] = (
    verify_dc,
    verify_connection,
    verify_shift,
    verify_service,
    verify_emergency,
    verify_pv,
    verify_battery,
    verify_market,
    verify_generator,
    verify_ups,
    verify_shutdown,
    verify_migration,
    verify_sizes,
    verify_units,
    verify_commitment,
)


def verify(ds: xr.Dataset) -> Verification:
    """Check a result Dataset, component by component; see :class:`Verification`."""
    r = Result.of(ds)
    violations: dict[str, float] = {}
    costs: dict[str, float] = {}
    for component in COMPONENTS:
        checks = component(r)
        violations.update(checks.violations)
        costs.update(checks.costs)
    violations.update(verify_site(r, costs).violations)
    return Verification(violations)
