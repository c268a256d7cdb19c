"""Solve strategies above one optimisation (:mod:`wattbit.optimise`).

* one optimisation of the whole horizon (``firm``, ``type2_fixed``, ``type2_dynamic``);
* :mod:`~wattbit.strategies.rolling` — the rolling horizon of ``type2_forecast``;
* :mod:`~wattbit.strategies.realise` — a ``type2_fixed`` pattern that exceeds the realised
  headroom (derived out of sample), planned on the pattern and operated against H;
* :mod:`~wattbit.strategies.stochastic` — the two-stage problem over type ③ event scenarios.

:func:`solve` picks the strategy a connection mode needs; the strategies call
:func:`wattbit.optimise.solve_inputs`, never the reverse.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import xarray as xr

from wattbit.case import LoadedCase
from wattbit.errors import CaseError
from wattbit.inputs import build_inputs
from wattbit.markets import has_market
from wattbit.optimise import Run, options_from_case, solve_inputs
from wattbit.solve import SolverOptions
from wattbit.strategies.realise import exceeds, solve_pattern_realised
from wattbit.strategies.rolling import solve_rolling

Optimise = Callable[[xr.Dataset, SolverOptions], Run]
"""One optimisation of an input Dataset: :func:`solve_inputs`, or a study's warm re-solve
(:class:`wattbit.warm.WarmPool`) with the same result."""


def one_optimisation(inputs: xr.Dataset) -> bool:
    """Whether :func:`solve` solves ``inputs`` as one optimisation (:func:`solve_inputs`)."""
    if inputs.attrs["grid_mode"] == "type2_forecast":
        return False
    return not (inputs.attrs.get("grid_pattern_exceedance_borne_by") == "dc" and exceeds(inputs))


def solve(inputs: xr.Dataset, options: SolverOptions, optimise: Optimise = solve_inputs) -> Run:
    """Solve an input Dataset by its connection mode: one optimisation, or the rolling horizon.
    ``optimise`` solves the one optimisation of the whole horizon (the rolling horizon's
    perfect-foresight sizing too; a pattern that exceeds the realised headroom plans with
    :func:`solve_inputs`)."""
    if has_market(inputs) and not one_optimisation(inputs):
        raise CaseError(
            str(inputs.attrs.get("case_file", "")),
            "market",
            "market services are co-optimised in one optimisation of the year; not with "
            "grid.mode 'type2_forecast' or a fixed pattern that exceeds the realised headroom",
        )
    if inputs.attrs["grid_mode"] == "type2_forecast":
        return solve_rolling(inputs, options, optimise=optimise)
    if not one_optimisation(inputs):
        return solve_pattern_realised(inputs, options)
    return optimise(inputs, options)


def solve_case(loaded: LoadedCase, options: SolverOptions | None = None) -> Run:
    """Solve a loaded case end to end."""
    t0 = time.perf_counter()
    inputs = build_inputs(loaded)
    t_inputs = time.perf_counter() - t0
    run = solve(inputs, options or options_from_case(loaded))
    run.timings = {"inputs": t_inputs, **run.timings}
    return run
