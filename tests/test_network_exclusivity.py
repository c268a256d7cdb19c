"""Exclusivity for an EV fleet with V2G in a network case (V10): the same LP-first rule as a
battery's (B7), by hand on a 2-step case where the LP would burn energy at a negative price.

Hourly steps from 2025-05-01 00:00+09:00; α = 8760 / 2 = 4380 (two one-hour steps annualised).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import hourly_index, write_series
from test_network import line, network_toml, slack

from wattbit.network.case import load_network_case
from wattbit.network.run import NetworkRun, solve_network_case
from wattbit.network.verify import verify_network

ALPHA = 8760.0 / 2
PRICE = -10_000.0  # JPY/MWh at the slack: paid to consume
TOL = 1e-6
V10 = "V10 EV exclusive charge/V2G"


def burning_fleet(exclusive: str) -> dict[str, Any]:
    """Slack s at −10 000 JPY/MWh, a 10 MW line to node d, one V2G fleet at d: pool E = 1 MWh,
    chargers P = 1 MW, η_c = η_v = 0.9, rule "fixed" from e_{−1} = 0.5 MWh (end ≥ 0.5 MWh),
    unplugged at step 0 (a = [0, 1]), no driving, no wear cost.

    The only cost is α p (c_1 − v_1), so the fleet draws as much as it can at step 1, subject to
    e_1 = 0.5 + 0.9 c_1 − v_1 / 0.9 ≤ 1 (V3, V5), c_1, v_1 ≤ 1 (V1, V2).

    * LP (``never``): c_1 = 1, and v_1 = 0.9 (0.5 + 0.9 − 1) = 0.36 drains what does not fit:
      charging and V2G at once, net draw 0.64 MWh, 0.0844 MWh of it burnt in losses.
      Cost = 4380 · (−10 000) · 0.64 = −28 032 000 JPY/yr.
    * With (V10) at step 1: z_1 = 1 gives v_1 = 0, c_1 ≤ 0.5 / 0.9 = 5/9; z_1 = 0 gives c_1 = 0.
      So c_1 = 5/9, v_1 = 0, e_1 = 1: cost = 4380 · (−10 000) · 5/9 = −24 333 333.3 JPY/yr.
    Step 0 has no flow either way (a_0 = 0), so ``auto`` adds its one binary at step 1 and
    ``always`` two; both reach the same optimum."""
    return {
        "horizon": {"steps": 2},
        "nodes": [slack("s", PRICE), {"name": "d"}],
        "branches": [line("l", "s", "d", 10.0)],
        "ev_fleets": [
            {
                "name": "fleet",
                "node": "d",
                "vehicles": 1,
                "battery_kwh": 1000.0,
                "charger_kw": 1000.0,
                "plugged_in": "plugged",
                "charge_efficiency": 0.9,
                "v2g": True,
                "v2g_efficiency": 0.9,
                "soc_rule": "fixed",
                "initial_soc_fraction": 0.5,
                "exclusive": exclusive,
            }
        ],
    }


def solved(tmp_path: Path, exclusive: str) -> NetworkRun:
    write_series(tmp_path / "series.csv", hourly_index(2), plugged=[0.0, 1.0])
    path = tmp_path / "case.toml"
    path.write_text(
        network_toml({"name": "test", "series": ["series.csv"], **burning_fleet(exclusive)})
    )
    run = solve_network_case(load_network_case(path), "system")
    assert run.ok, run.solution.message
    return run


def flows(run: NetworkRun) -> tuple[list[float], list[float], list[float]]:
    r = run.results
    return tuple(  # type: ignore[return-value]
        r[f"ev_{name}"].sel(ev="fleet").values.tolist()
        for name in ("charge_mw", "v2g_mw", "soc_mwh")
    )


def test_v2g_fleet_burns_energy_without_the_rule(tmp_path):
    """(V10) absent (``never``): the LP charges 1 MW and discharges 0.36 MW at once (docstring
    of :func:`burning_fleet`); no binary."""
    run = solved(tmp_path, "never")
    charge, v2g, soc = flows(run)
    assert charge == pytest.approx([0.0, 1.0], abs=TOL)
    assert v2g == pytest.approx([0.0, 0.36], abs=TOL)
    assert soc == pytest.approx([0.5, 1.0], abs=TOL)
    assert run.results.attrs["objective_jpy"] == pytest.approx(ALPHA * PRICE * 0.64, rel=1e-9)
    assert run.kpis["ev_simultaneous_steps"] == 1
    assert run.results.attrs["battery_exclusivity_binaries"] == 0


@pytest.mark.parametrize(("exclusive", "binaries"), [("auto", 1), ("always", 2)])
def test_v2g_fleet_does_not_burn_with_the_rule(tmp_path, exclusive, binaries):
    """(V10): ``auto`` finds the simultaneous step 1 in the LP and binds only it, ``always``
    binds both steps; both give c = [0, 5/9], v = [0, 0], e_1 = 1 and cost −24 333 333.3 JPY/yr
    (docstring of :func:`burning_fleet`), and the verifier's 'V10 ...' check holds."""
    run = solved(tmp_path, exclusive)
    charge, v2g, soc = flows(run)
    assert charge == pytest.approx([0.0, 5 / 9], abs=TOL)
    assert v2g == pytest.approx([0.0, 0.0], abs=TOL)
    assert soc == pytest.approx([0.5, 1.0], abs=TOL)
    assert run.results.attrs["objective_jpy"] == pytest.approx(ALPHA * PRICE * 5 / 9, rel=1e-6)
    assert run.kpis["ev_simultaneous_steps"] == 0
    assert run.results.attrs["battery_exclusivity_binaries"] == binaries
    assert run.verification.ok, run.verification.violations
    assert run.verification.violations[V10] == pytest.approx(0.0, abs=TOL)


def test_verifier_catches_simultaneous_charge_and_v2g(tmp_path):
    """(V10) checked from the result file: 0.3 MW more charge and V2G at step 1 of the ``auto``
    answer (charge 5/9 + 0.3 ≤ P = 1, V2G 0.3) is a violation of 0.3 MW in 'V10 ...'."""
    ds = solved(tmp_path, "auto").results.copy(deep=True)
    ds["ev_charge_mw"].loc[{"ev": "fleet"}] += [0.0, 0.3]
    ds["ev_v2g_mw"].loc[{"ev": "fleet"}] += [0.0, 0.3]
    violations = verify_network(ds).violations
    assert violations[V10] == pytest.approx(0.3, abs=TOL)
