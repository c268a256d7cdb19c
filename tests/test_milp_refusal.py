"""Benders (:mod:`wattbit.strategies.benders`) refuses a case with integer variables from its
inputs, before any of the K scenario models is built, and the refusal agrees with the model: a
scenario model with an integer column is always refused, an LP never."""

from __future__ import annotations

import pyomo.environ as pyo
import pytest
from test_benders import inputs_of, reference_cut
from type3_helpers import OPTIONS

from wattbit.strategies import benders
from wattbit.strategies.benders import INTEGER_REASON, Refused, decompose, refusal
from wattbit.strategies.stochastic import create_stochastic_model

GENSETS = {"generator.power_mw": {"min": 0.0, "max": 10.0, "unit": 2.5}}


class NoPool:
    """Stands for the scenario pool: building scenario models is what must not happen."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("a scenario model was built before the refusal")


def has_integers(m: pyo.ConcreteModel) -> bool:
    return any(
        not v.is_continuous() and not v.fixed
        for v in m.component_data_objects(pyo.Var, descend_into=True)
    )


def test_whole_units_are_refused_before_any_scenario_model_is_built(monkeypatch):
    """Gensets of 2.5 MW: the reason names the size in whole units; no pool is started."""
    inputs = inputs_of(reference_cut(2, steps=48, **GENSETS))
    reason = refusal(inputs, OPTIONS)
    assert reason == f"{INTEGER_REASON} (sizes in whole units: generator_power_mw)"
    monkeypatch.setattr(benders, "ScenarioPool", NoPool)
    with pytest.raises(Refused, match="the scenario model has integer variables"):
        decompose(inputs, OPTIONS)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        GENSETS,
        {**GENSETS, "generator.min_load_fraction": 0.3, "generator.redundant_units": 1},
        {"type3.sla_penalty_jpy_per_event": 1e6},
    ],
    ids=["lp", "units", "commitment", "sla"],
)
def test_refusal_agrees_with_the_scenario_model(extra):
    """(Exclusivity ``always`` is left out: its binaries enter in the rounds of
    ``solve_exclusive``, not in the model built here; refusal() reads it from the option.)"""
    inputs = inputs_of(reference_cut(2, steps=48, **extra))
    integers = has_integers(create_stochastic_model(inputs, {}))
    assert integers == bool(extra)  # the cases are what they say
    assert (refusal(inputs, OPTIONS) is not None) == integers
