"""A DC's size decided in a network case (D0, D4), solved by hand on two nodes.

The slack ``s`` supplies at p = 10 000 JPY/MWh; the DC at node ``d`` draws its profile (1 at
every step: its size S in MW, PUE 1) over one line of 8 MW, and sheds what the line cannot carry
at v = 100 000 JPY/MWh. Four hourly steps, so α = 8760 / 4 and one MW served all year costs
α·4·p = 87.6 M JPY/yr, one MW shed all year α·4·v = 876 M JPY/yr. Each MW of size earns v_S.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import hourly_index, write_series
from test_network import line, network_toml, slack
from typer.testing import CliRunner

from wattbit.cli import app
from wattbit.network.case import load_network_case
from wattbit.network.run import NetworkRun, solve_network_case

TOL = 1e-6
SERVED, SHED = 87.6e6, 876e6  # JPY/yr per MW served / shed over the year


@pytest.fixture
def make_network(tmp_path: Path):
    def make(case: dict[str, Any], **columns: Any) -> Path:
        write_series(tmp_path / "series.csv", hourly_index(4), **columns)
        path = tmp_path / "case.toml"
        path.write_text(network_toml({"name": "sized", "series": ["series.csv"], **case}))
        return path

    return make


def run(path: Path) -> NetworkRun:
    return solve_network_case(load_network_case(path))


def sized_dc(value_of_size: float, **extra: Any) -> dict[str, Any]:
    return {
        "horizon": {"steps": 4},
        "nodes": [slack("s", 10_000.0), {"name": "d"}],
        "branches": [line("l", "s", "d", 8.0)],
        "dcs": [
            {
                "name": "dc",
                "node": "d",
                "it_mw": "it",
                "value_of_lost_compute_jpy_per_mwh": 100_000.0,
                "size_mw": {"min": 0.0, "max": 20.0},
                "value_of_size_jpy_per_mw_year": value_of_size,
                **extra,
            }
        ],
    }


def test_sized_dc_grows_to_the_line_limit(make_network):
    """v_S = 200 M: a MW served is worth 200 − 87.6 > 0, a MW shed 200 − 876 < 0, so S = 8 (the
    line's limit) and the total cost is 8 (87.6 − 200) M JPY/yr."""
    result = run(make_network(sized_dc(200e6), it=1.0))
    assert result.ok and result.verification.max_violation <= TOL, result.verification.violations
    ds = result.results
    assert float(ds["dc_size_mw"].sel(dc="dc")) == pytest.approx(8.0, abs=TOL)
    assert result.kpis["dc_dc_size_mw"] == pytest.approx(8.0, abs=TOL)
    np.testing.assert_allclose(ds["dc_it_mw"].sel(dc="dc"), 8.0, atol=TOL)
    np.testing.assert_allclose(ds["dc_shed_it_mw"].sel(dc="dc"), 0.0, atol=TOL)
    assert float(ds["total_cost_jpy"]) == pytest.approx(8 * (SERVED - 200e6), rel=1e-9)
    assert float(ds["cost_jpy"].sel(cost="dc.size_value")) == pytest.approx(-8 * 200e6, rel=1e-9)


def test_sized_dc_beyond_the_line_sheds_and_its_bound_has_a_value(make_network):
    """v_S = 1 000 M > 876 M: even a MW that is always shed pays, so S = 20 (its upper bound) and
    12 MW are shed at every step. One more MW of bound would save 1 000 − 876 = 124 M JPY/yr:
    the bound's reduced cost is −124 M."""
    result = run(make_network(sized_dc(1_000e6), it=1.0))
    assert result.ok and result.verification.max_violation <= TOL, result.verification.violations
    ds = result.results
    assert float(ds["dc_size_mw"].sel(dc="dc")) == pytest.approx(20.0, abs=TOL)
    np.testing.assert_allclose(ds["dc_shed_it_mw"].sel(dc="dc"), 12.0, atol=TOL)
    expected = 8 * SERVED + 12 * SHED - 20 * 1_000e6
    assert float(ds["total_cost_jpy"]) == pytest.approx(expected, rel=1e-9)
    bound = float(ds["dc_size_mw_bound_value_jpy"].sel(dc="dc"))
    assert bound == pytest.approx(SHED - 1_000e6, rel=1e-6)


def test_unsized_dc_keeps_its_profile_as_its_size(make_network):
    """Without ``size_mw`` the DC's size is its profile's peak and nothing is decided."""
    case = sized_dc(0.0)
    del case["dcs"][0]["size_mw"], case["dcs"][0]["value_of_size_jpy_per_mw_year"]
    result = run(make_network(case, it=[1.0, 2.0, 3.0, 2.0]))
    assert result.ok and result.verification.max_violation <= TOL
    assert float(result.results["dc_size_mw"].sel(dc="dc")) == 3.0
    assert float(result.results["total_cost_jpy"]) == pytest.approx(2190 * 8 * 10_000.0)


def test_sized_dc_on_a_data_link_is_refused(make_network):
    case = sized_dc(200e6)
    case["dcs"].append({"name": "other", "node": "s", "it_mw": 1.0})
    case["links"] = [{"name": "k", "dcs": ["dc", "other"], "capacity_mw": 1.0, "distance_km": 1}]
    path = make_network(case, it=1.0)
    result = CliRunner().invoke(app, ["network", str(path)])
    assert result.exit_code == 2, result.output
    assert "links[0].dcs" in result.stderr and "sized" in result.stderr
    assert "Traceback" not in result.output
