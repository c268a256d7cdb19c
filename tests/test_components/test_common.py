"""Shared pieces of every formulation: the time axis, sizes and annualisation, by hand."""

from __future__ import annotations

import pyomo.environ as pyo
import pytest

from test_components.closing import model
from wattbit.formulations.common import Size, TimeAxis, capital_recovery_factor, size_var


def test_annual_factor_scales_a_horizon_to_a_year():
    """α = 8760 / (n Δt): 4 half-hour steps are 2 h, α = 4380; a year of hours, α = 1."""
    assert TimeAxis(4, 0.5).annual_factor == 4380.0
    assert TimeAxis(8760, 1.0).annual_factor == 1.0


def test_capital_recovery_factor():
    """CRF = r(1+r)^N / ((1+r)^N − 1): r = 10 %, N = 2 gives 0.1 · 1.21 / 0.21 = 0.576190…;
    r = 0 gives 1/N."""
    assert capital_recovery_factor(0.1, 2) == pytest.approx(0.121 / 0.21, rel=1e-12)
    assert capital_recovery_factor(0.0, 10) == 0.1


def test_sizes_are_bounded_variables():
    """A fixed size has equal bounds and is not sized; a range is sized within its bounds."""
    m = model(3)
    fixed, sized = Size.fixed(5.0), Size(1.0, 4.0)
    assert not fixed.is_sized and sized.is_sized
    var = size_var(m, "power_mw", sized)
    assert (var.lb, var.ub) == (1.0, 4.0)
    assert var.domain is pyo.NonNegativeReals
