"""wattbit's Python API: the calls the command line makes, for notebooks and scripts.

Each function takes a case file (or, for :func:`solve_case`, a loaded case) and ``overrides``: a
dict of the dotted paths ``--set`` takes, with Python values
(``{"battery.energy_mwh": 20.0, "horizon.steps": 168}``). Each returns a result object that holds
its xarray Dataset(s) and pandas tables and writes, with ``.write(out_dir)``, the files the
matching command writes with ``--out``. Bad input raises :class:`~wattbit.errors.CaseError`
(``exit_code`` 2), a solve without a usable solution :class:`~wattbit.errors.SolveError` (its
``exit_code`` is the command line's).

==========================  ======================  ==============================================
function                    command                 result
==========================  ======================  ==============================================
:func:`load_case`           ``wattbit validate``    :class:`~wattbit.case.LoadedCase`
:func:`build_inputs`        ``wattbit validate``    the input :class:`xarray.Dataset`
:func:`solve_case`          ``wattbit solve``       :class:`SolveResult`
:func:`headroom_study`      ``wattbit headroom``    :class:`~wattbit.studies.potential.HeadroomStudy`
:func:`compare`             ``wattbit compare``     :class:`~wattbit.studies.compare.Comparison`
:func:`ridethrough`         ``wattbit ridethrough`` :class:`~wattbit.studies.ridethrough.RideThrough`
:func:`connect`             ``wattbit connect``     :class:`~wattbit.studies.connection.Choice`
:func:`battery_value`       ``wattbit cashflow``    :class:`~wattbit.studies.battery_value.BatteryValue`
:func:`solve_network`       ``wattbit network``     :class:`NetworkResult`
:func:`sweep_spec`          ``wattbit sweep``       :class:`~wattbit.sweep.spec.SweepSpec` (not solved)
:func:`run_sweep`           ``wattbit sweep``       :class:`~wattbit.sweep.run.SweepResult`
==========================  ======================  ==============================================

The names ``solve``, ``headroom``, ``network`` and ``sweep`` are wattbit's modules, so the functions
carry the longer names above. This module imports the solver stack only when a function runs, so
``import wattbit`` and ``wattbit --help`` stay light.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import xarray as xr

    from wattbit.case import LoadedCase
    from wattbit.network.align import Alignment
    from wattbit.network.run import NetworkRun
    from wattbit.optimise import Run
    from wattbit.studies.battery_value import BatteryValue
    from wattbit.studies.compare import Comparison
    from wattbit.studies.connection import Choice
    from wattbit.studies.potential import HeadroomStudy
    from wattbit.studies.ridethrough import RideThrough
    from wattbit.sweep.run import SweepResult
    from wattbit.sweep.spec import SweepSpec
    from wattbit.verify import Verification

Overrides = Mapping[str, Any]
Progress = Callable[[str], None]


def load_case(path: str | Path, overrides: Overrides | None = None) -> LoadedCase:
    """Read and validate a case file, ``overrides`` applied (``wattbit validate``)."""
    from wattbit.case import load_case as load

    return load(path, dict(overrides or {}))


def _loaded(case: str | Path | LoadedCase, overrides: Overrides | None) -> LoadedCase:
    from wattbit.case import LoadedCase

    if not isinstance(case, LoadedCase):
        return load_case(case, overrides)
    if overrides:
        raise ValueError("overrides apply when a case is loaded: pass them to load_case")
    return case


def _failed(what: str, run: Run | NetworkRun) -> Exception:
    from wattbit.errors import SolveError
    from wattbit.solve import EXIT_CODES

    sol = run.solution
    return SolveError(f"{what}: {sol.status}: {sol.message}", EXIT_CODES[sol.status])


@dataclass
class _RunResult(ABC):
    """What a solved run holds: its result Dataset, KPIs, verification and timings."""

    name: str
    run: Run | NetworkRun

    @property
    def results(self) -> xr.Dataset:
        """Inputs, every variable, every cost term; ``attrs`` hold the run's status and settings."""
        return self.run.results

    @property
    def kpis(self) -> dict[str, float]:
        return self.run.kpis

    @property
    def status(self) -> str:
        """The solver status: ``optimal`` or ``time_limit`` (with a feasible solution)."""
        return self.run.solution.status

    @property
    def verification(self) -> Verification:
        return self.run.verification

    @property
    def timings(self) -> dict[str, float]:
        return self.run.timings

    @abstractmethod
    def plots(self, out: Path) -> list[Path]:
        """Write the run's PNGs into ``out``; return their paths."""

    def write(self, out: Path, plot: bool = True) -> list[Path]:
        """``results.nc``, ``kpis.csv``, ``kpis.json`` and (``plot``) the PNGs of
        :meth:`plots` in ``out``."""
        from wattbit.report import write_results

        out = Path(out)
        paths = write_results(self.results, self.kpis, out)
        return paths + self.plots(out) if plot else paths


@dataclass
class SolveResult(_RunResult):
    """One case sized and dispatched. A result whose verifier found a violation is returned,
    not raised: check ``verification.ok`` (the command line exits 7)."""

    def plot(self, path: Path, window: slice | None = None) -> Path:
        """A week of dispatch (the busiest for the battery, or the steps of ``window``) as a
        PNG."""
        from wattbit.plots import plot_dispatch

        return plot_dispatch(self.results, Path(path), window)

    def plots(self, out: Path) -> list[Path]:
        """``dispatch.png``: :meth:`plot` of the busiest week."""
        return [self.plot(Path(out) / "dispatch.png")]


@dataclass
class NetworkResult(_RunResult):
    """A network case dispatched (``system`` or ``merchant``); ``verification`` as
    :class:`SolveResult`'s."""

    def plots(self, out: Path) -> list[Path]:
        """``branch_loading.png``, ``schematic.png`` and, with prices, ``prices.png``."""
        from wattbit.network.plots import plot_branch_loading, plot_prices, plot_schematic

        out = Path(out)
        paths = [
            plot_branch_loading(self.results, out / "branch_loading.png"),
            plot_schematic(self.results, out / "schematic.png"),
        ]
        if "node_price_jpy_per_mwh" in self.results:
            paths.append(plot_prices(self.results, out / "prices.png"))
        return paths

    def align(self, **options: float | int) -> Alignment:
        """The contract that aligns the merchant batteries with this ``system`` result, the
        owners' best responses to it and the accounts under flat prices, nodal prices and the
        contract (``wattbit network --align``; :func:`wattbit.network.align.align`). ``options``
        as :func:`solve_network`'s solver settings. A failed solve raises ``SolveError``."""
        from wattbit.errors import CaseError, SolveError
        from wattbit.network.align import align
        from wattbit.network.model import merchant_parts
        from wattbit.solve import EXIT_CODES, SolverOptions

        if self.results.attrs.get("mode") != "system":
            raise ValueError("alignment starts from a system-mode result")
        if not merchant_parts(self.results):
            raise CaseError(
                str(self.results.attrs.get("case_file", self.name)),
                "batteries",
                "no merchant battery to align (none, or every one reserved by a contract)",
            )
        try:
            return align(self.results, SolverOptions(**options))
        except ValueError as exc:
            raise SolveError(f"{self.name}: alignment: {exc}", EXIT_CODES["error"]) from None


def solve_case(
    case: str | Path | LoadedCase,
    overrides: Overrides | None = None,
    *,
    time_limit_s: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
) -> SolveResult:
    """Size and dispatch one case (``wattbit solve``): its connection mode picks the strategy.

    ``case`` is a case file, or a case :func:`load_case` returned (then without ``overrides``:
    they apply when a case is loaded). Solver settings default to the case's ``[solver]`` table.
    """
    from wattbit.optimise import options_from_case
    from wattbit.strategies import solve_case as solve

    loaded = _loaded(case, overrides)
    options = options_from_case(loaded, time_limit_s=time_limit_s, mip_gap=mip_gap, threads=threads)
    run = solve(loaded, options)
    if not run.ok:
        raise _failed(loaded.file, run)
    return SolveResult(loaded.case.name, run)


def build_inputs(case: str | Path | LoadedCase, overrides: Overrides | None = None) -> xr.Dataset:
    """The input Dataset the optimiser is built from (``wattbit validate`` builds it)."""
    from wattbit.inputs import build_inputs as build

    return build(_loaded(case, overrides))


def headroom_study(
    case: str | Path,
    overrides: Overrides | None = None,
    *,
    reference_weeks: int | None = None,
) -> HeadroomStudy:
    """Headroom H(t), the fixed operating pattern and their potential over the case's whole
    series; with ``reference_weeks``, the pattern of the first weeks tested on the rest
    (``wattbit headroom``)."""
    from wattbit.studies.potential import headroom_study as study

    return study(Path(case), overrides, reference_weeks)


def compare(
    case: str | Path,
    overrides: Overrides | None = None,
    *,
    strategies: Sequence[str] | None = None,
    modes: Sequence[str] | None = None,
    breakeven_modes: Sequence[str] = ("type2_fixed",),
    breakeven_tolerance: float = 1e-3,
    time_limit_s: float | None = None,
    progress: Progress | None = None,
    sensitivity_ranges: Mapping[str, tuple[float, float]] | None = None,
    jobs: int = 1,
) -> Comparison:
    """Solve strategies × headroom rules, the two breakeven battery prices and, with
    ``sensitivity_ranges`` (``{}`` for the defaults), the sensitivity tornado
    (``wattbit compare``).

    ``strategies`` and ``modes`` default to the command's (every strategy; ``type2_fixed``,
    ``type2_dynamic``, ``type2_forecast``, ``firm``); the time limit applies to each solve.
    ``jobs`` = 2 solves the cells of the modes without a breakeven in a second process (spawned:
    a script that asks for it needs the ``if __name__ == "__main__":`` guard).
    """
    from wattbit.solve import SolverOptions
    from wattbit.studies.compare import compare as study

    chosen = {"strategies": strategies, "modes": modes}
    return study(
        Path(case),
        overrides=dict(overrides or {}),
        options=SolverOptions(time_limit_s=time_limit_s) if time_limit_s else None,
        breakeven_modes=breakeven_modes,
        breakeven_tolerance=breakeven_tolerance,
        progress=progress,
        sensitivity_ranges=sensitivity_ranges,
        jobs=jobs,
        **{name: list(values) for name, values in chosen.items() if values is not None},
    )


def ridethrough(
    case: str | Path,
    overrides: Overrides | None = None,
    *,
    time_limit_s: float | None = None,
    max_h: float | None = None,
    progress: Progress | None = None,
    method: str = "benders",
    jobs: int = 1,
    scheduler: str | None = None,
    dask_local: int | None = None,
) -> RideThrough:
    """Type ③: size ride-through assets over the case's event scenarios; the firm reference,
    the ride-through cost by term and the survival curve up to ``max_h`` hours
    (``wattbit ridethrough``). ``type3.scenarios`` and ``type3.seed`` are overrides.
    ``method``: ``benders`` (the L-shaped method, its scenarios on ``jobs`` local processes, a
    Dask ``scheduler`` or a Dask LocalCluster of ``dask_local`` workers) or ``extensive``."""
    from wattbit.strategies.scenario_pool import ScenarioEngine
    from wattbit.studies.ridethrough import ride_through

    engine = ScenarioEngine(jobs=jobs, scheduler=scheduler, dask_local=dask_local)
    return ride_through(Path(case), overrides, time_limit_s, max_h, progress, method, engine)


def battery_value(
    case: str | Path, overrides: Overrides | None = None, *, time_limit_s: float | None = None
) -> BatteryValue:
    """A battery's life-cycle value (``wattbit cashflow``): the case solved with its battery and
    without it, and the battery's yearly cash flow, NPV, IRR and payback between the two."""
    from wattbit.studies.battery_value import battery_value as study

    return study(Path(case), overrides, time_limit_s=time_limit_s)


def connect(
    case: str | Path,
    overrides: Overrides | None = None,
    *,
    time_limit_s: float | None = None,
    progress: Progress | None = None,
) -> Choice:
    """NPV of waiting for a firm connection vs type ③ or type ② now (``wattbit connect``)."""
    from wattbit.solve import SolverOptions
    from wattbit.studies.connection import connection_choice

    options = SolverOptions(time_limit_s=time_limit_s) if time_limit_s else None
    return connection_choice(Path(case), dict(overrides or {}), options, progress)


def solve_network(
    case: str | Path,
    overrides: Overrides | None = None,
    *,
    mode: str = "system",
    time_limit_s: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
) -> NetworkResult:
    """Dispatch a network case (``wattbit network``): ``system`` coordinates every asset;
    ``merchant`` lets the batteries trade for profit first, the rest then dispatched around
    them. Solver settings default to the case's ``[solver]`` table."""
    from wattbit.network.case import load_network_case
    from wattbit.network.run import solve_network_case
    from wattbit.solve import SolverOptions

    if mode not in ("system", "merchant"):
        raise ValueError(f"mode {mode!r}: choose system or merchant")
    loaded = load_network_case(Path(case), dict(overrides or {}))
    s = loaded.case.solver
    given = {"time_limit_s": time_limit_s, "mip_gap": mip_gap, "threads": threads}
    options = {"time_limit_s": s.time_limit_s, "mip_gap": s.mip_gap, "threads": s.threads}
    options.update({k: v for k, v in given.items() if v is not None})
    run = solve_network_case(loaded, mode, SolverOptions(**options))
    if not run.ok:
        raise _failed(str(case), run)
    return NetworkResult(run.results.attrs["case_name"], run)


SweepValues = Mapping[str, Any]


def _sweep_text(value: Any) -> str:
    """A Python value as ``--set`` writes it: a list ``v1,v2,…`` of TOML scalars; a string is
    passed as written (a range ``start:stop:step``, or one bare word)."""
    import json
    from datetime import date, time

    def scalar(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, date | time):
            return v.isoformat()
        return repr(v)

    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        return ",".join(scalar(v) for v in value)
    return scalar(value)


def sweep_spec(
    case: str | Path | None,
    values: SweepValues | None = None,
    *,
    zipped: Sequence[Sequence[str]] = (),
    modes: Sequence[str] | None = None,
    baseline: SweepValues | None = None,
    spec: str | Path | None = None,
    study: str | None = None,
) -> SweepSpec:
    """The sweep :func:`run_sweep` would run, checked but not solved (its ``shape``, ``axes``).

    ``values`` maps a dotted path to its values: a list (``[0.0, 10.0, 20.0]``), a range string
    ``"start:stop:step"`` (stop included), or one value (fixed for every point). ``zipped``
    groups paths that move together, ``modes`` sweeps ``grid.mode``, ``baseline`` picks the
    point net benefit, NPV and payback are taken against; ``spec`` is a sweep file; ``study`` what
    each point runs (``solve``, ``compare``, ``ridethrough``, ``connect``, ``network``). A bad
    definition raises :class:`~wattbit.sweep.spec.SweepError` (exit code 2).
    """
    from wattbit.sweep.spec import parse_spec

    return parse_spec(
        Path(case) if case is not None else None,
        [f"{path}={_sweep_text(v)}" for path, v in (values or {}).items()],
        [",".join(group) for group in zipped],
        ",".join(modes) if modes else None,
        [f"{path}={_sweep_text(v)}" for path, v in (baseline or {}).items()],
        Path(spec) if spec is not None else None,
        study,
    )


def run_sweep(
    case: str | Path | None,
    values: SweepValues | None = None,
    *,
    zipped: Sequence[Sequence[str]] = (),
    modes: Sequence[str] | None = None,
    baseline: SweepValues | None = None,
    spec: str | Path | None = None,
    study: str | None = None,
    out: str | Path = "sweep",
    jobs: int = 1,
    scheduler: str | None = None,
    dask_local: int | None = None,
    time_limit_s: float | None = None,
    resume: bool = False,
    analysis_years: float = 15.0,
) -> SweepResult:
    """Solve a case over a grid of parameter values (``wattbit sweep``); the records, ``sweep.nc``
    and ``sweep.csv`` go to ``out``. The definition as :func:`sweep_spec`'s; cases run in
    ``jobs`` local processes unless a Dask ``scheduler`` or ``dask_local`` cluster is given."""
    from wattbit.sweep.engine import Engine
    from wattbit.sweep.run import run_sweep as run

    definition = sweep_spec(
        case, values, zipped=zipped, modes=modes, baseline=baseline, spec=spec, study=study
    )
    engine = Engine(jobs=jobs, scheduler=scheduler, dask_local=dask_local)
    return run(definition, engine, Path(out), time_limit_s, resume, analysis_years)
