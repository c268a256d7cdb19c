"""Type ② headroom: H(t), the grid operator's fixed operating pattern, forecasts, and statistics.

* ``H(t) = limit − base_flow(t)`` (or given directly), clipped at 0: a base flow above the limit
  leaves the DC no import, it cannot be made to export.
* The **fixed operating pattern** is, for each time-of-day slot (and each month or season if
  asked), the minimum of H over a reference period (or over several reference years' flows) — or a low quantile, to show what the strict
  minimum costs — less a safety margin (MW and/or a fraction). The DC must stay under it.
* Forecasts of H for the rolling-horizon mode: persistence (same slot yesterday), a given series,
  the truth with seeded multiplicative Gaussian errors (``noisy``, independent per step), or
  ``ar1``: a forecast issued at the start of each planning window whose relative error follows
  an AR(1) process from zero, so that it is autocorrelated and grows with lead time (see
  :func:`ar1_errors`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from wattbit.case import LoadedCase, Pattern, read_series
from wattbit.errors import CaseError

SEASON_OF_MONTH = {12: 0, 1: 0, 2: 0, 3: 1, 4: 1, 5: 1, 6: 2, 7: 2, 8: 2, 9: 3, 10: 3, 11: 3}
SEASON_NAMES = ("winter", "spring", "summer", "autumn")


def headroom(loaded: LoadedCase, full: bool = False) -> pd.Series:
    """H(t) in MW on the horizon (or on the whole series), clipped at 0, tz-aware local index."""
    grid = loaded.case.grid
    index = (loaded.full_series if full else loaded.series).index
    if grid.import_limit_mw is not None:
        values = loaded.quantity("grid.import_limit_mw", full)
    else:
        values = grid.limit_mw - loaded.quantity("grid.base_flow_mw", full)
    local = index.tz_convert(loaded.case.horizon.timezone)
    return pd.Series(np.maximum(values, 0.0), index=local, name="headroom_mw")


def reference_headroom(loaded: LoadedCase) -> pd.Series:
    """H over the pattern's reference period (default: the whole series)."""
    grid, pattern = loaded.case.grid, loaded.case.grid.pattern
    h = headroom(loaded, full=True)
    flows = pattern.reference_base_flow_mw
    if flows is not None:
        if grid.limit_mw is None:
            raise CaseError(
                loaded.file,
                "grid.pattern.reference_base_flow_mw",
                "needs grid.limit_mw (the headroom is limit − base flow)",
            )
        field = "grid.pattern.reference_base_flow_mw"
        fields = (
            [f"{field}[{i}]" for i in range(len(flows))] if isinstance(flows, list) else [field]
        )
        years = [  # several reference years pooled: the pattern is the minimum over them all
            pd.Series(np.maximum(grid.limit_mw - loaded.quantity(f, full=True), 0.0), h.index)
            for f in fields
        ]
        h = pd.concat(years).rename("headroom_mw")
    if pattern.reference_start is not None:
        h = h[h.index >= pd.Timestamp(pattern.reference_start)]
    if pattern.reference_end is not None:
        h = h[h.index < pd.Timestamp(pattern.reference_end)]
    if h.empty:
        raise CaseError(loaded.file, "grid.pattern.reference_start", "selects no time step")
    return h


def _group_keys(index: pd.DatetimeIndex, period: str) -> pd.MultiIndex:
    slot = index.hour * 60 + index.minute
    if period == "month":
        part = index.month
    elif period == "season":
        part = index.month.map(SEASON_OF_MONTH)
    else:
        part = np.zeros(len(index), dtype=int)
    return pd.MultiIndex.from_arrays([np.asarray(part), np.asarray(slot)], names=["period", "slot"])


def pattern_table(h_ref: pd.Series, pattern: Pattern) -> pd.Series:
    """The pattern per (period, time-of-day slot), before the margin: min or quantile of H."""
    keys = _group_keys(h_ref.index, pattern.period)
    grouped = pd.Series(h_ref.to_numpy(), index=keys).groupby(level=["period", "slot"])
    return grouped.min() if pattern.quantile == 0 else grouped.quantile(pattern.quantile)


def apply_margin(table: pd.Series, pattern: Pattern, file: str) -> pd.Series:
    """Subtract the safety margin; a margin that makes any value negative is bad input."""
    result = table * (1.0 - pattern.margin_fraction) - pattern.margin_mw
    if (result < -1e-9).any():
        period, slot = result.idxmin()
        field = (
            "grid.pattern.margin_mw" if pattern.margin_mw > 0 else "grid.pattern.margin_fraction"
        )
        raise CaseError(
            file,
            field,
            f"makes the pattern negative ({result.min():.3g} MW at {slot // 60:02d}:{slot % 60:02d}"
            f"{'' if pattern.period == 'year' else f', {pattern.period} {period}'}); "
            f"the headroom there is only {table.loc[(period, slot)]:.3g} MW",
        )
    return result.clip(lower=0.0)


def operating_pattern(loaded: LoadedCase, index: pd.DatetimeIndex | None = None) -> pd.Series:
    """The fixed operating pattern evaluated on ``index`` (default: the horizon), in MW."""
    pattern = loaded.case.grid.pattern
    table = apply_margin(pattern_table(reference_headroom(loaded), pattern), pattern, loaded.file)
    target = loaded.series.index if index is None else index
    target = target.tz_convert(loaded.case.horizon.timezone)
    keys = _group_keys(target, pattern.period)
    values = table.reindex(keys)
    if values.isna().any():
        period, slot = keys[int(np.argmax(values.isna().to_numpy()))]
        raise CaseError(
            loaded.file,
            "grid.pattern",
            f"the reference period has no data for {pattern.period} {period}, "
            f"slot {slot // 60:02d}:{slot % 60:02d}",
        )
    return pd.Series(values.to_numpy(), index=target, name="pattern_mw")


def firm_capacity(loaded: LoadedCase) -> float:
    """The firm reference: ``grid.firm_capacity_mw``, else the pattern's lowest value (the
    capacity usable at every hour of the reference period)."""
    given = loaded.case.grid.firm_capacity_mw
    if given is not None:
        return float(given)
    pattern = loaded.case.grid.pattern
    return float(
        apply_margin(pattern_table(reference_headroom(loaded), pattern), pattern, loaded.file).min()
    )


def forecast_headroom(loaded: LoadedCase) -> pd.Series:
    """The forecast of H on the horizon that ``type2_forecast`` plans on."""
    fc = loaded.case.grid.forecast
    truth_full = headroom(loaded, full=True)
    index = headroom(loaded).index
    if fc.file is not None:
        values = _forecast_file(loaded, index)
    elif fc.method == "series":
        values = np.maximum(loaded.quantity("grid.forecast.column"), 0.0)
    elif fc.method == "ar1":  # the centre; errors are drawn per issued window (issued_forecast)
        values = truth_full.reindex(index).to_numpy()
    elif fc.method == "persistence":
        shifted = truth_full.shift(freq=pd.Timedelta(hours=24))
        values = shifted.reindex(index).to_numpy().copy()
        first_day = np.isnan(values)
        values[first_day] = truth_full.reindex(index).to_numpy()[first_day]
    else:
        rng = np.random.default_rng(fc.seed)
        truth = truth_full.reindex(index).to_numpy()
        values = np.maximum(
            truth * (1.0 + fc.error_std_fraction * rng.standard_normal(len(truth))), 0.0
        )
    return pd.Series(values, index=index, name="forecast_headroom_mw")


def ar1_errors(steps: int, sigma: float, rho: float, rng: np.random.Generator) -> np.ndarray:
    r"""Relative forecast errors at lead times 1 … ``steps``: :math:`e_0 = 0`,
    :math:`e_k = ρ e_{k−1} + σ\sqrt{1 − ρ^2}\,ε_k` with :math:`ε_k` standard normal. The error is
    autocorrelated (ρ per step) and its standard deviation :math:`σ\sqrt{1 − ρ^{2k}}` grows with
    the lead time k towards σ."""
    shocks = (sigma * np.sqrt(1.0 - rho**2) * rng.standard_normal(steps)).tolist()
    errors = [0.0] * steps
    previous = 0.0
    for k in range(steps):  # on Python floats: the same arithmetic as NumPy scalars, faster
        previous = rho * previous + shocks[k]
        errors[k] = previous
    return np.array(errors)


def issued_forecast(
    truth: np.ndarray, first_step: int, sigma: float, rho_per_h: float, dt_h: float, seed: int
) -> np.ndarray:
    """The ``ar1`` forecast of ``truth`` (H over one planning window) issued just before step
    ``first_step``: ``max(truth · (1 + e_k), 0)`` with :func:`ar1_errors` at ρ per step
    ``rho_per_h ** dt_h``. The generator is seeded by (``seed``, ``first_step``), so a window's
    forecast is reproducible and does not depend on the other windows."""
    rng = np.random.default_rng([seed, first_step])
    errors = ar1_errors(len(truth), sigma, rho_per_h**dt_h, rng)
    return np.maximum(np.asarray(truth) * (1.0 + errors), 0.0)


def _forecast_file(loaded: LoadedCase, index: pd.DatetimeIndex) -> np.ndarray:
    """The forecast column of ``grid.forecast.file``, which must cover exactly the horizon."""
    fc = loaded.case.grid.forecast
    frame, source = read_series(loaded.path, [fc.file])
    where = source.get(fc.column, str(loaded.path.parent / fc.file))
    if fc.column not in frame.columns:
        raise CaseError(
            loaded.file, "grid.forecast.column", f"column '{fc.column}' not in {fc.file}"
        )
    if len(frame) != len(index):
        raise CaseError(
            where,
            "timestamp",
            f"the forecast has {len(frame)} steps, the horizon {len(index)}: "
            "it must cover exactly the horizon",
        )
    if not frame.index.equals(index.tz_convert("UTC")):
        first = int(np.argmax(frame.index != index.tz_convert("UTC")))
        raise CaseError(
            where,
            "timestamp",
            f"differs from the horizon at row {first + 2} ({frame.index[first]})",
        )
    values = frame[fc.column].to_numpy(dtype=float)
    if not np.all(np.isfinite(values)) or values.min() < 0:
        raise CaseError(where, fc.column, "forecast values must be finite and ≥ 0")
    return values


@dataclass(frozen=True)
class Potential:
    """What a limit series offers a DC: energy per year and the power usable at every step."""

    energy_mwh_per_year: float
    usable_all_year_mw: float
    mean_mw: float


def potential(series: pd.Series | np.ndarray) -> Potential:
    values = np.asarray(series, dtype=float)
    return Potential(
        energy_mwh_per_year=float(values.mean() * 8760.0),
        usable_all_year_mw=float(values.min()),
        mean_mw=float(values.mean()),
    )


@dataclass(frozen=True)
class Exceedance:
    """Where a pattern promises more than the real headroom."""

    hours: float
    energy_mwh: float
    max_mw: float


def exceedance(pattern: np.ndarray, real: np.ndarray, dt_h: float) -> Exceedance:
    over = np.maximum(np.asarray(pattern) - np.asarray(real), 0.0)
    return Exceedance(
        hours=float((over > 1e-9).sum() * dt_h),
        energy_mwh=float(over.sum() * dt_h),
        max_mw=float(over.max(initial=0.0)),
    )
