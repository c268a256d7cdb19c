"""Headroom potential: the headroom H(t) of a case over its whole series, the fixed operating
pattern derived from it (:mod:`wattbit.headroom`), what each offers a DC, and, when the pattern
is derived from the first weeks only, how far it over-promises on the rest (its instability).

``wattbit headroom`` prints and writes a :class:`HeadroomStudy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wattbit.case import load_case
from wattbit.errors import CaseError
from wattbit.headroom import Exceedance, exceedance, headroom, operating_pattern, potential
from wattbit.studies.plots import plot_headroom


@dataclass(frozen=True)
class Instability:
    """The pattern of the first ``reference_weeks`` weeks applied to the rest of the series."""

    reference_weeks: int
    test_hours: float
    exceedance: Exceedance
    lost_compute_jpy: float  # the exceeded energy as IT energy (÷ mean PUE) at its value


@dataclass
class HeadroomStudy:
    """Headroom and fixed pattern of one case over its whole series (module doc)."""

    name: str
    headroom: pd.Series  # H(t), MW, on the series' (tz-aware) index
    pattern: pd.Series  # the fixed operating pattern, MW, same index
    instability: Instability | None = None

    def potentials(self) -> pd.DataFrame:
        """One row per limit (real-time use of H, fixed pattern): MWh/yr, MW usable all year,
        mean MW."""
        rows = []
        for limit, series in (
            ("H(t), real-time use", self.headroom),
            ("fixed pattern", self.pattern),
        ):
            p = potential(series)
            rows.append(
                {
                    "limit": limit,
                    "energy_mwh_per_year": p.energy_mwh_per_year,
                    "usable_all_year_mw": p.usable_all_year_mw,
                    "mean_mw": p.mean_mw,
                }
            )
        return pd.DataFrame(rows)

    def by_hour(self) -> pd.DataFrame:
        """Per hour of day: the pattern (its minimum), H's minimum and median, MW."""
        frame = pd.DataFrame({"H": self.headroom.to_numpy(), "pattern": self.pattern.to_numpy()})
        frame["hour"] = self.headroom.index.hour
        return frame.groupby("hour").agg(
            pattern_mw=("pattern", "min"), h_min_mw=("H", "min"), h_median_mw=("H", "median")
        )

    def frame(self) -> pd.DataFrame:
        """``headroom.csv``: timestamp (ISO, the case's timezone), headroom_mw, pattern_mw."""
        return pd.DataFrame(
            {
                "timestamp": self.headroom.index.map(pd.Timestamp.isoformat),
                "headroom_mw": self.headroom.to_numpy(),
                "pattern_mw": self.pattern.to_numpy(),
            }
        )

    def plot(self, path: Path) -> Path:
        """H(t) and the pattern over the series; H by hour of day against the pattern."""
        return plot_headroom(self.headroom, self.pattern, self.by_hour(), path, self.name)

    def write(self, out: str | Path) -> list[Path]:
        """``headroom.csv`` and ``headroom.png`` in ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        csv = out / "headroom.csv"
        self.frame().to_csv(csv, index=False)
        return [csv, self.plot(out / "headroom.png")]


def headroom_study(
    case_path: Path,
    overrides: Mapping[str, Any] | None = None,
    reference_weeks: int | None = None,
) -> HeadroomStudy:
    """H(t) and the pattern of a case over its whole series; with ``reference_weeks`` the
    pattern comes from the first weeks only and is tested on the rest."""
    base = dict(overrides or {})
    loaded = load_case(case_path, base)
    if reference_weeks is not None:
        if reference_weeks <= 0:
            raise CaseError("--reference-weeks", str(reference_weeks), "must be positive")
        cut = loaded.full_series.index[0] + timedelta(weeks=reference_weeks)
        if cut >= loaded.full_series.index[-1]:
            raise CaseError("--reference-weeks", str(reference_weeks), "leaves nothing to test")
        loaded = load_case(case_path, base | {"grid.pattern.reference_end": cut.to_pydatetime()})
    h = headroom(loaded, full=True)
    pattern = operating_pattern(loaded, h.index)
    study = HeadroomStudy(loaded.case.name, h, pattern)
    if reference_weeks is not None:
        dt = float((h.index[1] - h.index[0]).total_seconds() / 3600)
        test = h.index >= pd.Timestamp(loaded.case.grid.pattern.reference_end)
        exc = exceedance(pattern[test].to_numpy(), h[test].to_numpy(), dt)
        pue = float(np.mean(loaded.quantity("dc.pue", full=True)))
        lost = exc.energy_mwh / pue * loaded.case.dc.value_of_lost_compute_jpy_per_mwh
        study.instability = Instability(reference_weeks, float(test.sum() * dt), exc, lost)
    return study
