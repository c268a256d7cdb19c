"""Battery charge/discharge exclusivity: where the LP burns energy, and what "auto" does about it.

The case (4 hourly steps, ``α = 8760/4 = 2190``): a 1 MW IT load (PUE 1, never shed at the default
value of lost compute), import limit 10 MW, no export, no PV; a free fixed battery of P = 2 MW,
E = 1 MWh, η_c = 1, η_d = 0.5, cyclic, σ_min = 0. Balance: ``g_t = 1 + c_t − d_t ≥ 0``, so the
battery can discharge at most 1 MW into the load; SoC: ``e_t = e_{t−1} + c_t − 2 d_t``.

**Negative price at step 0** (−p = −10 000 JPY/MWh, then q = 20 000 at steps 1–3). Being paid to
import, the site wants to draw as much as it can at step 0, but every MWh charged must be either
stored (E = 1 MWh at most) or, in the LP, burnt by discharging at the same time.
With the cyclic rule, what is stored at step 0 is discharged later: ``Σ_{t≥1} d_t = (c_0 − 2 d_0)/2``.
Cost / α = −p (1 + c_0 − d_0) + q (3 − (c_0 − 2 d_0)/2), whose slope is −p − q/2 < 0 in c_0 and
p + q > 0 in d_0; so c_0 as large as possible and d_0 as small as the storage bound
``e_0 = e_{−1} + c_0 − 2 d_0 ≤ 1`` (with e_{−1} ≥ 0) allows:

* LP: c_0 = P = 2, d_0 = 0.5 (simultaneous!), e_0 = 1, g_0 = 2.5; later 0.5 MWh discharged.
  Cost = α (−2.5 p + 2.5 q) = 2190 · 25 000 = 54 750 000 JPY/yr.
* MILP: d_0 = 0, so c_0 ≤ 1 (storage): g_0 = 2; later 0.5 MWh discharged.
  Cost = α (−2 p + 2.5 q) = 2190 · 30 000 = 65 700 000 JPY/yr.

Steps 1–3 have a positive price, where burning energy only costs: the LP is simultaneous at step 0
alone, so "auto" adds exactly one binary (0 < 1 < 4) in one round and reaches the MILP optimum.

**All prices positive** (p' = 10 000 at step 0, 30 000 at steps 1–3): burning energy costs at every
step, so the LP is never simultaneous and "auto" adds no binary. Charging 1 MWh at step 0 and
discharging 0.5 MWh later saves 0.5 · 30 000 − 10 000 = 5 000 per MWh; storage caps it at 1 MWh:
cost = α (10 000 · 2 + 30 000 · (3 − 0.5)) = 2190 · 95 000 = 208 050 000 JPY/yr.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import hourly_index, solve_verified

ALPHA = 8760 / 4
LP_COST = ALPHA * 25_000
MILP_COST = ALPHA * 30_000
POSITIVE_COST = ALPHA * 95_000
REL = 1e-7


def burn_case(make_case, prices):
    case = {
        "dc": {"it_mw": 1.0},
        "grid": {"import_limit_mw": 10.0, "energy_price_jpy_per_mwh": "price"},
        "battery": {
            "power_mw": 2.0,
            "energy_mwh": 1.0,
            "charge_efficiency": 1.0,
            "discharge_efficiency": 0.5,
        },
        "solver": {"mip_gap": 0.0},
    }
    return make_case(case, hourly_index(4), price=np.asarray(prices, dtype=float))


NEGATIVE = [-10_000, 20_000, 20_000, 20_000]
POSITIVE = [10_000, 30_000, 30_000, 30_000]


def flows(run):
    return run.results["battery_charge_mw"].values, run.results["battery_discharge_mw"].values


def test_lp_burns_energy_through_losses_at_the_negative_price(make_case):
    run = solve_verified(burn_case(make_case, NEGATIVE), **{"battery.exclusive": "never"})
    c, d = flows(run)
    assert c[0] == pytest.approx(2.0, abs=1e-7)
    assert d[0] == pytest.approx(0.5, abs=1e-7)
    assert run.results["grid_import_mw"].values[0] == pytest.approx(2.5, abs=1e-7)
    assert np.all(np.minimum(c, d)[1:] <= 1e-7)
    assert run.kpis["total_cost_jpy"] == pytest.approx(LP_COST, rel=REL)
    assert run.results.attrs["battery_exclusivity_binaries"] == 0
    assert run.results.attrs["battery_exclusivity_enforced"] == 0


def test_auto_adds_binaries_only_where_the_lp_burns(make_case):
    run = solve_verified(burn_case(make_case, NEGATIVE), **{"battery.exclusive": "auto"})
    attrs = run.results.attrs
    assert attrs["battery_exclusive_mode"] == "auto"
    assert 0 < attrs["battery_exclusivity_binaries"] < 4
    assert attrs["battery_exclusivity_binaries"] == 1
    assert attrs["battery_exclusivity_rounds"] == 1
    assert attrs["battery_exclusivity_enforced"] == 1
    c, d = flows(run)
    assert np.max(np.minimum(c, d)) <= 1e-6
    assert c[0] == pytest.approx(1.0, abs=1e-7)
    assert d[1:].sum() == pytest.approx(0.5, abs=1e-7)
    assert run.kpis["total_cost_jpy"] == pytest.approx(MILP_COST, rel=REL)
    assert attrs["objective_jpy"] == pytest.approx(MILP_COST, rel=REL)
    # the verifier checked exclusivity at every step, not only where the binary stands
    assert "B7 battery exclusive charge/discharge" in run.verification.violations


def test_always_gives_the_same_optimum(make_case):
    run = solve_verified(burn_case(make_case, NEGATIVE), **{"battery.exclusive": "always"})
    assert run.results.attrs["battery_exclusivity_binaries"] == 4
    c, d = flows(run)
    assert np.max(np.minimum(c, d)) <= 1e-6
    assert run.kpis["total_cost_jpy"] == pytest.approx(MILP_COST, rel=REL)


@pytest.mark.parametrize("mode", ["never", "auto", "always"])
def test_no_binaries_when_the_lp_never_burns(make_case, mode):
    run = solve_verified(burn_case(make_case, POSITIVE), **{"battery.exclusive": mode})
    attrs = run.results.attrs
    c, d = flows(run)
    assert np.max(np.minimum(c, d)) <= 1e-6
    assert c[0] == pytest.approx(1.0, abs=1e-7)
    assert run.kpis["total_cost_jpy"] == pytest.approx(POSITIVE_COST, rel=REL)
    expected_binaries = {"never": 0, "auto": 0, "always": 4}[mode]
    assert attrs["battery_exclusivity_binaries"] == expected_binaries
    if mode == "auto":
        assert attrs["battery_exclusivity_rounds"] == 0
        assert attrs["battery_exclusivity_enforced"] == 0
