"""What every component check of the verifier shares: the result's arrays, the checks a component
returns, the verdict, and the few measures of a violation.

A violation is measured in the unit of its check: MW or MWh for physics (:func:`excess`,
:func:`within`, :func:`recursion`), relative for costs (:func:`relative`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

TOLERANCE = 1e-6


@dataclass
class Verification:
    """Largest violation per check: MW/MWh for physics, relative for costs."""

    violations: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # NaN compares false with everything: ``max`` would skip it unless it came first, and a
        # result with NaN in it would pass. A check that cannot be evaluated is a violation.
        self.violations = {
            name: math.inf if math.isnan(value) else float(value)
            for name, value in self.violations.items()
        }

    @property
    def max_violation(self) -> float:
        return max(self.violations.values(), default=0.0)

    @property
    def worst(self) -> str:
        return max(self.violations, key=self.violations.get) if self.violations else ""

    @property
    def ok(self) -> bool:
        return self.max_violation <= TOLERANCE


def excess(values: np.ndarray | float, limit: np.ndarray | float) -> float:
    """Largest amount by which ``values`` exceeds ``limit`` (0 if never)."""
    return float(np.max(np.asarray(values) - np.asarray(limit), initial=0.0))


def within(values: np.ndarray | float, lo: np.ndarray | float, hi: np.ndarray | float) -> float:
    """Largest amount by which ``values`` leaves ``[lo, hi]`` (0 if never)."""
    return max(excess(values, hi), excess(lo, values))


def relative(a: float, b: float) -> float:
    """|a − b| / max(1, |a|, |b|): the difference of two costs, relative (absolute below 1 JPY)."""
    return abs(a - b) / max(1.0, abs(a), abs(b))


def recursion(
    e: np.ndarray, e0: float, keep: float, inflow: np.ndarray, outflow: np.ndarray
) -> float:
    """max |e_t − (keep·e_{t−1} + inflow_t − outflow_t)|, e_{−1} = e0 (energies per step, MWh)."""
    previous = np.concatenate(([e0], e[:-1]))
    return float(np.max(np.abs(e - (keep * previous + inflow - outflow)), initial=0.0))


@dataclass(frozen=True)
class Result:
    """The arrays of a result Dataset, with the time axis every component check needs."""

    ds: xr.Dataset
    get: dict[str, np.ndarray]
    dt: float
    alpha: float
    zeros: np.ndarray

    @classmethod
    def of(cls, ds: xr.Dataset) -> Result:
        dt = float(ds.attrs["dt_h"])
        n = ds.sizes["time"]
        get = {str(name): ds.variables[name].values for name in ds.data_vars}
        return cls(ds, get, dt, 8760.0 / (n * dt), np.zeros(n))

    def __contains__(self, name: str) -> bool:
        return name in self.get

    def __getitem__(self, name: str) -> np.ndarray:
        return self.get[name]

    def series(self, name: str) -> np.ndarray:
        """A time series, zero when the component that writes it is absent."""
        return self.get.get(name, self.zeros)

    def scalar(self, name: str, default: float | None = None) -> float:
        return float(self.get[name]) if default is None else float(self.get.get(name, default))

    def annual_sum(self, price: float | np.ndarray, flow: np.ndarray) -> float:
        """α Σ_t price_t flow_t Δt: an operating cost term, annualised."""
        return self.alpha * float(np.sum(np.asarray(price) * flow)) * self.dt

    def fault_sums(self, flow: np.ndarray) -> list[float]:
        """Σ_{t ∈ e} flow_t Δt over each fault e of this result's scenario (the event table's
        rows); empty without an event table."""
        if "event_steps" not in self:
            return []
        k = int(self.ds["scenario"]) if "scenario" in self.ds.coords else 0
        rows = zip(
            self["event_scenario"],
            self["event_kind"],
            self["event_first_step"],
            self["event_steps"],
            strict=True,
        )
        return [
            float(flow[first : first + n].sum()) * self.dt
            for scenario, kind, first, n in rows
            if scenario == k and kind == "fault" and n > 0
        ]

    @property
    def inflexible_it_mw(self) -> np.ndarray:
        """(1 − φ) L^IT_t: the DC's IT load that is not deferrable."""
        return self["dc_it_mw"] * (1.0 - self.scalar("dc_deferrable_share", 0.0))

    @property
    def served_before_reductions_mw(self) -> np.ndarray:
        """(1 − φ) L^IT_t − s_t + w_t: the IT load served before emergency and type ③ cuts."""
        return self.inflexible_it_mw - self["dc_shed_it_mw"] + self.series("shift_served_it_mw")


@dataclass
class Checks:
    """One component's checks (largest violation per name) and its recomputed cost terms."""

    violations: dict[str, float] = field(default_factory=dict)
    costs: dict[str, float] = field(default_factory=dict)

    def __setitem__(self, name: str, violation: float) -> None:
        self.violations[name] = violation

    def cost(self, r: Result, tag: str, name: str, value: float) -> None:
        """Record the recomputed cost term ``name`` (tag ``tag``) and compare it with the result."""
        self.costs[name] = value
        reported = r.scalar(name) if name in r else math.nan
        self.violations[f"{tag} {name} recomputed"] = (
            math.inf if math.isnan(reported) else relative(value, reported)
        )
