"""The one exclusivity loop (``optimise.solve_exclusive``) through its other callers: the
stochastic problem (a battery per scenario) and a network (a battery per part).

The case is the burn case of ``test_exclusivity.py`` (4 hourly steps, α = 2190, a 1 MW IT load,
a battery of P = 2 MW, E = 1 MWh, η_c = 1, η_d = 0.5, cyclic; price −10 000 JPY/MWh at step 0 and
20 000 after), whose LP charges 2 MW and burns 0.5 MW at once at step 0 (cost α · 25 000) and
whose MILP charges 1 MW only (α · 30 000); ``auto`` gets there with one binary in one round.

* Stochastic, one scenario: the same site, so the same costs, binaries and rounds.
* Network, one slack node holding the DC and the battery (import limit 10 MW, no export): the
  same site. In merchant mode the battery first trades alone at the price: the LP is paid
  2 · 10 000 to charge, pays 0.5 · 10 000 to burn and sells 0.5 MWh at 20 000 later (−25 000 per
  α); the MILP charges 1 MWh and sells 0.5 (−20 000). The system solve then holds the owner to
  that profit with the battery free (``network/merchant.py``), so the rule applies there again:
  one more round, the binaries of the system solve's battery reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import hourly_index, to_toml, write_series
from test_network import network_toml

from wattbit.case import load_case
from wattbit.inputs import build_inputs
from wattbit.network.case import load_network_case
from wattbit.network.run import solve_network_case
from wattbit.optimise import options_from_case
from wattbit.strategies.stochastic import solve_stochastic

ALPHA = 8760 / 4
REL = 1e-7
BATTERY: dict[str, Any] = {
    "power_mw": 2.0,
    "energy_mwh": 1.0,
    "charge_efficiency": 1.0,
    "discharge_efficiency": 0.5,
}
# mode → (total cost / α, binaries, rounds)
EXPECTED = {"never": (25_000, 0, 0), "auto": (30_000, 1, 1), "always": (30_000, 4, 1)}
MERCHANT = {"never": -25_000, "auto": -20_000, "always": -20_000}


@pytest.fixture
def series(tmp_path: Path) -> Path:
    write_series(tmp_path / "series.csv", hourly_index(4), price=[-10_000, 20_000, 20_000, 20_000])
    return tmp_path


@pytest.mark.parametrize("mode", list(EXPECTED))
def test_stochastic_one_scenario_applies_the_rule(series: Path, mode: str):
    case = {
        "name": "burn",
        "series": ["series.csv"],
        "dc": {"it_mw": 1.0},
        "grid": {"import_limit_mw": 10.0, "energy_price_jpy_per_mwh": "price"},
        "battery": {**BATTERY, "exclusive": mode},
        "solver": {"mip_gap": 0.0},
    }
    (series / "case.toml").write_text(to_toml(case))
    loaded = load_case(series / "case.toml")
    run = solve_stochastic(build_inputs(loaded), options_from_case(loaded))
    assert run.ok, run.solution.message
    assert run.verification.ok, run.verification.worst
    cost, binaries, rounds = EXPECTED[mode]
    attrs = run.results.attrs
    assert attrs["expected_cost_jpy"] == pytest.approx(ALPHA * cost, rel=REL)
    assert attrs["battery_exclusivity_binaries"] == binaries
    assert attrs["battery_exclusivity_rounds"] == rounds
    assert attrs["battery_exclusivity_enforced"] == int(binaries > 0)


@pytest.mark.parametrize("network_mode", ["system", "merchant"])
@pytest.mark.parametrize("mode", list(EXPECTED))
def test_network_battery_applies_the_rule(series: Path, mode: str, network_mode: str):
    case = {
        "name": "burn",
        "series": ["series.csv"],
        "horizon": {"steps": 4},
        "solver": {"mip_gap": 0.0},
        "nodes": [
            {
                "name": "s",
                "slack": True,
                "import_limit_mw": 10.0,
                "import_price_jpy_per_mwh": "price",
            }
        ],
        "dcs": [
            {"name": "dc", "node": "s", "it_mw": 1.0, "value_of_lost_compute_jpy_per_mwh": 1e6}
        ],
        "batteries": [
            {"name": "bess", "node": "s", "owner": "bess_co", **BATTERY, "exclusive": mode}
        ],
        "owners": [
            {"name": "bess_co", "energy_price_jpy_per_mwh": "price"},
            {"name": "dc", "energy_price_jpy_per_mwh": "price"},
        ],
    }
    (series / "case.toml").write_text(network_toml(case))
    run = solve_network_case(load_network_case(series / "case.toml"), network_mode)
    assert run.ok, run.solution.message
    assert run.verification.ok, run.verification.worst
    cost, binaries, rounds = EXPECTED[mode]
    attrs = run.results.attrs
    assert run.kpis["total_cost_jpy"] == pytest.approx(ALPHA * cost, rel=REL)
    assert attrs["battery_exclusivity_binaries"] == binaries
    assert attrs["battery_exclusivity_rounds"] == rounds * (2 if network_mode == "merchant" else 1)
    if network_mode == "merchant":
        assert attrs["merchant_objective_jpy"] == pytest.approx(ALPHA * MERCHANT[mode], rel=REL)
