"""What differs between two input Datasets, as a warm model sees it (:mod:`wattbit.warm`).

:func:`differences` names the data variables that differ, or says that something else does
(attributes but :data:`LABELS`, coordinates, the set of variables, a shape); :func:`cost_move`
measures how far apart two inputs are when only cost scalars differ; :func:`same_inputs` says
whether two cells are one optimisation.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from wattbit.sizes import investment_name, lifetime_name, size_names

COST_COLUMNS: dict[str, tuple[str, str]] = {
    "pv_capex_jpy_per_mw_year": ("pv", "capacity_mw"),
    "battery_power_capex_jpy_per_mw_year": ("battery", "power_mw"),
    "battery_energy_capex_jpy_per_mwh_year": ("battery", "energy_mwh"),
    "generator_capex_jpy_per_mw_year": ("generator", "power_mw"),
    "ups_capex_jpy_per_mw_year": ("ups", "power_mw"),
}
"""Annualised capex scalar → (block, size variable) whose objective coefficient it is."""

NOT_IN_MODEL = ("battery_augmentation_cost_jpy_per_mwh", "battery_replacement_cost_jpy_per_mwh")
"""Scalars that follow a capex price but feed only the results' economics (the model reads the
ageing cost they give, ``battery_ageing_cost_jpy_per_mwh``, which is not free):
``tests/test_warm.py`` checks that moving them leaves the compiled LP unchanged."""

LABELS = ("strategy",)
"""Attributes that name a study's cell and never enter the model (``studies.cells``: the same
inputs under ``battery_shaped`` and ``both`` when nothing is deferrable)."""


def same_inputs(a: xr.Dataset, b: xr.Dataset) -> bool:
    """Whether two input Datasets are the same optimisation: equal but for :data:`LABELS`."""
    return differences(a, b) == set()


def cost_move(old: xr.Dataset, new: xr.Dataset) -> float | None:
    """The largest relative move of a :data:`COST_COLUMNS` scalar from ``old`` to ``new`` when
    they differ in nothing else the model reads (else ``None``): how far a basis optimal for
    ``old`` is from ``new``'s optimum."""
    changed = differences(old, new)
    if changed is None:
        return None
    sizes = size_names(new)
    free = {investment_name(s) for s in sizes} | {lifetime_name(s) for s in sizes}
    if changed - free - set(NOT_IN_MODEL) - set(COST_COLUMNS):
        return None
    moves = [0.0]
    for name in changed & set(COST_COLUMNS):
        a, b = float(old[name]), float(new[name])
        moves.append(abs(b - a) / max(abs(a), abs(b)))
    return max(moves)


def differences(old: xr.Dataset, new: xr.Dataset) -> set[str] | None:
    """Names of the data variables that differ; ``None`` if anything else differs (attributes
    but :data:`LABELS`, coordinates, the set of variables, a variable's shape)."""
    if set(old.attrs) != set(new.attrs) or set(old.data_vars) != set(new.data_vars):
        return None
    if any(not np.array_equal(old.attrs[k], new.attrs[k]) for k in old.attrs if k not in LABELS):
        return None
    if not old.coords.to_dataset().equals(new.coords.to_dataset()):
        return None
    changed = set()
    for name in old.data_vars:
        a, b = old[name], new[name]
        if a.dims != b.dims or a.shape != b.shape:
            return None
        if not a.equals(b):
            if a.ndim:
                return None
            changed.add(str(name))
    return changed
