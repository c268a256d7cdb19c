"""Sizes: the capacities of a site, found in its input Dataset by one naming rule.

The input builder (:mod:`wattbit.inputs`) writes every capacity as two scalars,
``<name>_min`` and ``<name>_max`` (equal when the capacity is fixed), and nothing else under that
pair of names. ``<name>`` is ``<block>_<attribute>``: the formulation block that owns the size
variable (``battery``) and the variable itself (``power_mw``), so the result Dataset holds the
chosen size under ``<name>`` (``battery_power_mw``) beside its bounds. Block names have no
underscore (``dc``, ``pv``, ``battery``, ``ups``, ``generator``, ``grid``).

A size bought up front also has ``<name>_investment_jpy_per_<unit>`` (capital per MW or MWh of
the size, ``<unit>`` the size's own unit suffix) and ``<name>_lifetime_years``, written by
``Builder.capital`` (:mod:`wattbit.input_dataset`) beside the annualised coefficient the model reads.

Every list of sizes comes from here: the sizes the rolling horizon takes from its foresight solve,
the first-stage sizes of the stochastic problem, the investment of the sweep economics
(:func:`wattbit.economics.capital`), the verifier's bound checks. A new sized component needs only
``Builder.capacity`` (and ``Builder.capital`` if it costs capital) in the inputs.
"""

from __future__ import annotations

from typing import NamedTuple

import xarray as xr

LOWER, UPPER = "_min", "_max"


class SizeName(NamedTuple):
    """A size variable: the block that owns it and its name there."""

    block: str
    attribute: str

    @property
    def name(self) -> str:
        """The Dataset name, ``<block>_<attribute>``."""
        return f"{self.block}_{self.attribute}"


def size_names(ds: xr.Dataset) -> list[str]:
    """Every ``<name>`` with both ``<name>_min`` and ``<name>_max`` in ``ds``, in Dataset order."""
    names = [str(v) for v in ds.data_vars]
    present = set(names)
    return [
        n.removesuffix(LOWER)
        for n in names
        if n.endswith(LOWER) and n.removesuffix(LOWER) + UPPER in present
    ]


def size_vars(ds: xr.Dataset) -> list[SizeName]:
    """:func:`size_names` split into (block, attribute) at the first underscore."""
    return [SizeName(*name.split("_", 1)) for name in size_names(ds)]


def bounds(ds: xr.Dataset, name: str) -> tuple[float, float]:
    """The lower and upper bound of size ``name``."""
    return float(ds[name + LOWER]), float(ds[name + UPPER])


def investment_name(size: str) -> str:
    """``battery_energy_mwh`` → ``battery_energy_mwh_investment_jpy_per_mwh``."""
    return f"{size}_investment_jpy_per_{size.rsplit('_', 1)[1]}"


def lifetime_name(size: str) -> str:
    """``battery_energy_mwh`` → ``battery_energy_mwh_lifetime_years``."""
    return f"{size}_lifetime_years"
