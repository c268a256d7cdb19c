"""``wattbit compare --jobs 2``: the cells of the modes without a breakeven solved in a second
process equal one process's (objective 1e-9 relative, sizes 1e-6), in the same order, with the
same breakevens; errors raised there reach the caller whole."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from test_warm import CASE

from wattbit.errors import CaseError, SolveError
from wattbit.studies.compare import compare, shares

CUT = {"horizon.steps": 48, "horizon.start": "2026-01-12T00:00:00+09:00"}
MODES = ("type2_fixed", "type2_dynamic", "type2_forecast", "firm")


def test_shares_keep_the_breakeven_modes_here():
    assert shares(MODES, ("type2_fixed",), 2) == (
        ["type2_fixed"],
        ["type2_dynamic", "type2_forecast", "firm"],
    )
    assert shares(MODES, ("type2_fixed",), 1) == (list(MODES), [])
    assert shares(MODES, (), 2) == (list(MODES), [])  # nothing would stay here: no split
    assert shares(("type2_fixed",), ("type2_fixed",), 2) == (["type2_fixed"], [])


def test_two_processes_give_one_process_answers():
    one = compare(CASE, modes=MODES, overrides=CUT)
    two = compare(CASE, modes=MODES, overrides=CUT, jobs=2)
    assert [(c.strategy, c.mode) for c in two.cells] == [(c.strategy, c.mode) for c in one.cells]
    for a, b in zip(one.cells, two.cells, strict=True):
        assert b.total == pytest.approx(a.total, rel=1e-9), (a.strategy, a.mode)
        for size in ("battery_power_mw", "battery_energy_mwh"):
            assert b.run.kpis.get(size, 0.0) == pytest.approx(a.run.kpis.get(size, 0.0), abs=1e-6)
        assert b.run.verification.ok
    scale = 1e-9 * one.baseline.total  # a breakeven's points: costs (JPY/yr) or energies (MWh)
    for a, b in zip(one.breakevens, two.breakevens, strict=True):
        ra, rb = a.record(), b.record()
        assert {k: v for k, v in rb.items() if k not in ("points", "curve")} == {
            k: v for k, v in ra.items() if k not in ("points", "curve")
        }
        if a.question == "vs_load_following":  # size_zero's energies are degenerate at the root
            assert np.allclose(rb["points"], ra["points"], rtol=1e-9, atol=scale)
    assert two.verdict() == one.verdict()


@pytest.mark.parametrize(
    "error", [SolveError("case.toml: firm: infeasible", 3), CaseError("case.toml", "grid", "bad")]
)
def test_errors_cross_a_process_whole(error):
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and str(back) == str(error)
    assert back.exit_code == error.exit_code
