"""Type ③ (N-1 margin) events and the per-scenario series they give.

* **Faults** come from a rate and a duration distribution, sampled per scenario with a seed; or
  from the grid operator's published statistics (events a year per duration bin); or from an
  explicit list. Area-wide figures (e.g. ~100 faults a year across the area) are scaled to this
  substation by ``area_share``. A scenario is one sampled horizon: the number of faults is
  Poisson(rate × horizon in years), starts are uniform, the class is drawn by its probability and
  the duration log-uniformly within the class (uniformly when the class starts at 0).
* **Stratified sampling** (``sampling = "stratified"``) splits the years into two strata: with at
  least one fault of the longest class (probability ``1 − exp(−λ_L T)``, λ_L that class's rate, T
  the horizon in years) and without. ``K_L = min(K − 1, max(1, round(K (1 − exp(−λ_L T)))))``
  scenarios are drawn in the first (the count of long faults from the zero-truncated Poisson),
  the rest in the second; the other classes are drawn as in plain sampling (Poisson thinning
  makes the classes independent). Each scenario weighs its stratum's probability over its
  stratum's scenarios, so every K holds a long fault and the weighted mean stays unbiased.
* **Maintenance windows** are explicit dates (in every scenario, cut to the horizon), or a count
  and duration a year with sampled starts.
* An event cuts the N-1 margin from the start of the step in which it begins until the end of the
  step in which it ends, ``reconnect_h`` later (the operator's go-ahead after the relay opened):
  whole steps, never less than the event. A momentary fault (shorter than ``momentary_max_h``)
  trips the relay too (a transfer-trip scheme opens on the equipment outage whether the line
  recloses or not), so it cuts the margin for ``reconnect_h``; with ``reconnect_h = 0`` it cuts
  nothing (a voltage dip the UPS rides).
* Per step: import limit ``firm + margin`` normally, ``firm + min(margin, residual)`` when cut
  (the fault residual, the maintenance residual, the smaller of the two when both cut); the share
  of the step after the generator's start delay, the shutdown notice, the migration notice and
  the refuelling delay of the fault that cut it (planned maintenance: no delay).
* The generator runs in a fault (after its start delay); in planned maintenance only with a
  prime-mover permit (``generator.maintenance_permit``: an emergency generator is for
  emergencies); outside events only if ``run_outside_events``. Fuel arrives in a fault only by
  contracted deliveries (``refuel_rate_fraction`` of rated use after ``refuel_delay_h``; none by
  default); where no fault cuts, the tank is refilled without limit (between faults, and through
  a permitted maintenance window by planned deliveries).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from wattbit.case import LoadedCase, Type3
from wattbit.errors import CaseError

HOURS_PER_YEAR = 8760.0
FAULT, MAINTENANCE = "fault", "maintenance"


@dataclass(frozen=True)
class OutageEvent:
    """An event, in hours from the start of the horizon; ``shared`` by every scenario (an
    explicit maintenance window) or the scenario's own."""

    start_h: float
    duration_h: float
    kind: str
    shared: bool = False

    def is_momentary(self, momentary_max_h: float) -> bool:
        return self.kind == FAULT and self.duration_h < momentary_max_h


@dataclass(frozen=True)
class DurationClass:
    name: str
    probability: float
    min_h: float
    max_h: float


def fault_model(t3: Type3) -> tuple[float, list[DurationClass]]:
    """Faults a year at this substation and their duration classes (from the rate and classes,
    or from the published statistics, whose bins become the classes)."""
    if t3.fault_statistics:
        total = sum(s.events_per_year for s in t3.fault_statistics)
        lows = [0.0] + [s.max_duration_h for s in t3.fault_statistics[:-1]]
        classes = [
            DurationClass(
                f"≤ {s.max_duration_h:g} h",
                s.events_per_year / total if total else 0.0,
                lo,
                s.max_duration_h,
            )
            for lo, s in zip(lows, t3.fault_statistics, strict=True)
        ]
        return total * t3.area_share, classes
    classes = [DurationClass(c.name, c.probability, c.min_h, c.max_h) for c in t3.fault_classes]
    return (t3.area_faults_per_year or 0.0) * t3.area_share, classes


def sample_durations(rng: np.random.Generator, classes: list[DurationClass], n: int) -> np.ndarray:
    which = rng.choice(len(classes), size=n, p=[c.probability for c in classes])
    lo = np.array([classes[i].min_h for i in which])
    hi = np.array([classes[i].max_h for i in which])
    u = rng.uniform(size=n)
    positive = lo > 0
    log_uniform = np.exp(
        np.log(np.where(positive, lo, 1.0)) * (1 - u) + np.log(np.where(positive, hi, 1.0)) * u
    )
    return np.where(positive, log_uniform, lo + (hi - lo) * u)


def sample_faults(
    rng: np.random.Generator, rate_per_year: float, classes: list[DurationClass], horizon_h: float
) -> list[OutageEvent]:
    n = int(rng.poisson(rate_per_year * horizon_h / HOURS_PER_YEAR)) if rate_per_year > 0 else 0
    starts = rng.uniform(0.0, horizon_h, size=n)
    durations = sample_durations(rng, classes, n)
    return [OutageEvent(float(s), float(d), FAULT) for s, d in zip(starts, durations, strict=True)]


def long_class(classes: list[DurationClass]) -> int:
    """The index of the class of the longest faults (largest ``max_h``)."""
    return max(range(len(classes)), key=lambda i: classes[i].max_h)


def strata(
    t3: Type3, rate_per_year: float, classes: list[DurationClass], horizon_h: float
) -> tuple[int, float]:
    """``(K_L, P_L)``: scenarios drawn with a long fault, and that stratum's probability (module
    doc); ``(0, 0)`` for plain sampling, a single scenario or no long faults."""
    if t3.sampling != "stratified" or t3.scenarios < 2 or not classes:
        return 0, 0.0
    lam = rate_per_year * classes[long_class(classes)].probability * horizon_h / HOURS_PER_YEAR
    p_long = -float(np.expm1(-lam))
    if p_long <= 0.0:
        return 0, 0.0
    return min(t3.scenarios - 1, max(1, round(t3.scenarios * p_long))), p_long


def _truncated_poisson(rng: np.random.Generator, lam: float) -> int:
    """A Poisson(λ) count conditioned on being at least 1 (inverse transform)."""
    u = rng.uniform(np.exp(-lam), 1.0)
    n, pmf = 1, lam * np.exp(-lam)
    cdf = np.exp(-lam) + pmf
    while cdf < u and n < 10_000:
        n += 1
        pmf *= lam / n
        cdf += pmf
    return n


def sample_stratified_faults(
    rng: np.random.Generator,
    rate_per_year: float,
    classes: list[DurationClass],
    horizon_h: float,
    with_long: bool,
) -> list[OutageEvent]:
    """One year of a stratum: the long class's faults (at least one if ``with_long``, none
    otherwise) and the other classes' as in :func:`sample_faults`."""
    i = long_class(classes)
    p_long = classes[i].probability
    others = [c for j, c in enumerate(classes) if j != i]
    rest = 1.0 - p_long
    events = []
    if others and rest > 0:
        scaled = [DurationClass(c.name, c.probability / rest, c.min_h, c.max_h) for c in others]
        events = sample_faults(rng, rate_per_year * rest, scaled, horizon_h)
    if with_long:
        lam = rate_per_year * p_long * horizon_h / HOURS_PER_YEAR
        n = _truncated_poisson(rng, lam)
        starts = rng.uniform(0.0, horizon_h, size=n)
        durations = sample_durations(rng, [replace(classes[i], probability=1.0)], n)
        events += [
            OutageEvent(float(s), float(d), FAULT) for s, d in zip(starts, durations, strict=True)
        ]
    return events


def sample_maintenance(
    rng: np.random.Generator, per_year: float, duration_h: float, horizon_h: float
) -> list[OutageEvent]:
    expected = per_year * horizon_h / HOURS_PER_YEAR
    n = int(expected) + int(rng.uniform() < expected - int(expected))
    starts = rng.uniform(0.0, horizon_h, size=n)
    return [OutageEvent(float(s), duration_h, MAINTENANCE) for s in starts]


def _hours_from_start(loaded: LoadedCase, stamp: pd.Timestamp) -> float:
    return (stamp - loaded.series.index[0]).total_seconds() / 3600.0


def scenario_events(loaded: LoadedCase) -> list[list[OutageEvent]]:
    """The events of every scenario (see module doc). Listed events must start inside the
    horizon; maintenance windows must overlap it and are cut to it."""
    t3, file = loaded.case.type3, loaded.file
    index = loaded.series.index
    dt = (index[1] - index[0]).total_seconds() / 3600.0
    horizon_h = len(index) * dt
    listed: list[list[OutageEvent]] = [[] for _ in range(t3.scenarios)]
    for i, event in enumerate(t3.events):
        start = _hours_from_start(loaded, pd.Timestamp(event.start))
        if not 0.0 <= start < horizon_h:
            raise CaseError(
                file,
                f"type3.events[{i}].start",
                f"{event.start.isoformat()} is outside the horizon "
                f"({index[0].isoformat()} to {(index[-1] + (index[1] - index[0])).isoformat()})",
            )
        listed[event.scenario].append(OutageEvent(start, event.duration_h, event.kind))
    windows = []
    for i, window in enumerate(t3.maintenance):
        start = _hours_from_start(loaded, pd.Timestamp(window.start))
        end = _hours_from_start(loaded, pd.Timestamp(window.end))
        if end <= 0.0 or start >= horizon_h:
            raise CaseError(
                file,
                f"type3.maintenance[{i}]",
                f"{window.start.isoformat()} to {window.end.isoformat()} is outside the horizon",
            )
        windows.append(
            OutageEvent(
                max(start, 0.0), min(end, horizon_h) - max(start, 0.0), MAINTENANCE, shared=True
            )
        )
    rate, classes = fault_model(t3)
    k_long, _ = strata(t3, rate, classes, horizon_h)
    scenarios = []
    for k in range(t3.scenarios):
        rng = np.random.default_rng([t3.seed, k])
        events = listed[k] + windows
        if k_long:
            events += sample_stratified_faults(rng, rate, classes, horizon_h, k < k_long)
        else:
            events += sample_faults(rng, rate, classes, horizon_h)
        events += sample_maintenance(
            rng, t3.maintenance_per_year, t3.maintenance_duration_h, horizon_h
        )
        scenarios.append(sorted(events, key=lambda e: e.start_h))
    return scenarios


def cut_steps(event: OutageEvent, t3: Type3, dt_h: float, steps: int) -> range:
    """The steps whose margin the event cuts (a momentary fault: ``reconnect_h``, see module doc)."""
    if event.is_momentary(t3.momentary_max_h) and t3.reconnect_h == 0:
        return range(0)
    first = int(np.floor(event.start_h / dt_h + 1e-9))
    end_h = event.start_h + event.duration_h + t3.reconnect_h
    last = max(int(np.ceil(end_h / dt_h - 1e-9)), first + 1)
    return range(first, min(last, steps))


def branch_step(events: list[OutageEvent], t3: Type3, dt_h: float, steps: int) -> int:
    """The first step whose data a scenario's own events change (``steps`` if none): before it,
    the scenario cannot be told apart from any other."""
    starts = [span.start for e in events if not e.shared if (span := cut_steps(e, t3, dt_h, steps))]
    return min(starts, default=steps)


def after_delay(steps: int, delay_h: float, dt_h: float) -> np.ndarray:
    """Share of each of an event's ``steps`` steps that lies after ``delay_h`` from its start."""
    elapsed_at_end = (np.arange(steps) + 1.0) * dt_h
    return np.clip((elapsed_at_end - delay_h) / dt_h, 0.0, 1.0)


@dataclass(frozen=True, eq=False)
class OutageSeries:
    """One scenario's series on the horizon."""

    fault_cut: np.ndarray
    maintenance_cut: np.ndarray
    generator_availability: np.ndarray
    refuel_limit: np.ndarray
    shutdown_availability: np.ndarray
    migration_availability: np.ndarray

    @property
    def cut(self) -> np.ndarray:
        return np.maximum(self.fault_cut, self.maintenance_cut)


def outage_series(
    loaded: LoadedCase, events: list[OutageEvent], steps: int, dt_h: float
) -> OutageSeries:
    """The availability series of one scenario (see module doc)."""
    case, t3 = loaded.case, loaded.case.type3
    gen, sd, mig = case.generator, case.shutdown, case.migration
    fault_cut = np.zeros(steps)
    maint_cut = np.zeros(steps)
    outside = 1.0 if gen is not None and gen.run_outside_events else 0.0
    gen_avail = np.full(steps, outside)
    tank_h = gen.fuel_tank_h if gen is not None else 0.0
    free_refuel = tank_h / dt_h + 1.0
    permit = 1.0 if gen is not None and gen.maintenance_permit else 0.0
    refuel_fault = np.zeros(steps)
    sd_avail = np.zeros(steps)
    mig_avail = np.zeros(steps)
    for event in events:
        span = cut_steps(event, t3, dt_h, steps)
        if not span:
            continue
        n = len(span)
        if event.kind == MAINTENANCE:
            maint_cut[span.start : span.stop] = 1.0
            gen_avail[span.start : span.stop] = np.maximum(
                gen_avail[span.start : span.stop], permit
            )
            sd_avail[span.start : span.stop] = 1.0
            mig_avail[span.start : span.stop] = 1.0
            continue
        fault_cut[span.start : span.stop] = 1.0
        window = slice(span.start, span.stop)
        if gen is not None:
            gen_avail[window] = np.maximum(
                gen_avail[window], after_delay(n, gen.start_delay_h, dt_h)
            )
            rate = gen.refuel_rate_fraction * after_delay(n, gen.refuel_delay_h, dt_h)
            refuel_fault[window] = np.maximum(refuel_fault[window], rate)
        if sd is not None:
            sd_avail[window] = np.maximum(sd_avail[window], after_delay(n, sd.notice_h, dt_h))
        if mig is not None:
            mig_avail[window] = np.maximum(mig_avail[window], after_delay(n, mig.notice_h, dt_h))
    refuel = np.where(fault_cut > 0, refuel_fault, free_refuel)
    return OutageSeries(fault_cut, maint_cut, gen_avail, refuel, sd_avail, mig_avail)


def import_limit(loaded: LoadedCase, series: OutageSeries) -> np.ndarray:
    """``firm + margin``, cut to ``firm + min(margin, residual)`` (see module doc)."""
    t3 = loaded.case.type3
    fault_res = np.clip(loaded.quantity("type3.fault_residual_mw"), 0.0, t3.margin_mw)
    maint_res = np.clip(loaded.quantity("type3.maintenance_residual_mw"), 0.0, t3.margin_mw)
    residual = np.full(len(fault_res), t3.margin_mw)
    residual = np.where(series.maintenance_cut > 0, np.minimum(residual, maint_res), residual)
    residual = np.where(series.fault_cut > 0, np.minimum(residual, fault_res), residual)
    return t3.firm_mw + residual


def site_series(loaded: LoadedCase, series: OutageSeries) -> dict[str, np.ndarray]:
    """One scenario's series under the names of the input Dataset (:mod:`wattbit.inputs`)."""
    return {
        "grid_import_limit_mw": import_limit(loaded, series),
        "type3_fault_cut": series.fault_cut,
        "type3_maintenance_cut": series.maintenance_cut,
        "generator_availability": series.generator_availability,
        "generator_refuel_limit": series.refuel_limit,
        "ups_discharge_allowed": series.cut,
        "shutdown_availability": series.shutdown_availability,
        "migration_availability": series.migration_availability,
    }


def scenario_probabilities(t3: Type3, horizon_h: float = HOURS_PER_YEAR) -> np.ndarray:
    """The listed weights; under stratified sampling each stratum's probability over its
    scenarios; else equal."""
    if t3.scenario_probabilities:
        return np.asarray(t3.scenario_probabilities, dtype=float)
    rate, classes = fault_model(t3)
    k_long, p_long = strata(t3, rate, classes, horizon_h)
    if k_long:
        rest = t3.scenarios - k_long
        return np.array([p_long / k_long] * k_long + [(1.0 - p_long) / rest] * rest)
    return np.full(t3.scenarios, 1.0 / t3.scenarios)
