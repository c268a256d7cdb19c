"""Property tests on slices of the measured example data (``cases/tokyo_substation_dc``).

Hypothesis picks where a slice starts (and how long it is, ≤ 48 h) in the real series, and a few
case parameters; each property compares two solves that differ in one respect, and every solve
passes the independent verifier (``solve_verified``). The MIP gap is 0 so that MILP results are
optima, not merely within 1e-4 of one.

Why each property must hold (``f`` the total cost, ``F`` a feasible set):

(a) a larger fixed battery (P' ≥ P, E' ≥ E) at zero capex, with no standing loss: any dispatch
    of the smaller battery, shifted up by the constant σ·(E' − E) with σ the fixed-rule initial
    fraction (or σ_min for the cyclic rule), is feasible for the larger one and costs the same,
    so ``F ⊆ F'`` and ``min f' ≤ min f``. (With a standing loss the shift itself leaks energy, so
    the property does not hold then and is not claimed.)
(b) H' = max(L + δ − base, 0) ≥ H: every dispatch feasible under H is feasible under H' (the
    contract's upper bound, max H, grows too).
(c) With costs ``f(x) + v·S(x)`` (S the IT energy shed), optima x₁ at v₁ and x₂ at v₂ > v₁ give
    f(x₁) + v₁S₁ ≤ f(x₂) + v₁S₂ and f(x₂) + v₂S₂ ≤ f(x₁) + v₂S₁; adding, (v₂ − v₁)(S₂ − S₁) ≤ 0:
    served energy never falls, for *any* pair of optima (degenerate ones included).
(d) The LP ("never") is the relaxation of the MILP ("always"); "auto" reaches the MILP optimum
    (see :mod:`wattbit.pipeline`). The price offset is drawn from +8 000 down to −30 000 JPY/MWh, the battery
    capex scaled down to ≤ 5 % and the throughput cost (which taxes burning) set to 0, so that
    many examples have negative prices and a battery, where the LP burns energy through its
    losses and the two differ. The MILP (gap 0) keeps this property to ≤ 24 steps.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, solve_verified, to_toml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

SERIES = REPO / "cases" / "tokyo_substation_dc" / "series.csv"
STAMPS = pd.read_csv(SERIES, usecols=["timestamp"])["timestamp"].tolist()
MAX_STEPS = 48
REL = 1e-7

PROPERTY = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def write_base_case(folder: Path) -> Path:
    """The example case (sized battery and PV, substation limit − measured base flow, spot price
    + 8 JPY/kWh), reading the real series by absolute path; MIP gap 0."""
    case = {
        "name": "properties",
        "series": [str(SERIES)],
        "solver": {"mip_gap": 0.0},
        "dc": {
            "utilisation": "dc_utilisation",
            "idle_it_mw": 12.5,
            "peak_it_mw": 25.0,
            "pue": 1.3,
            "value_of_lost_compute_jpy_per_mwh": 300_000.0,
        },
        "grid": {
            "limit_mw": 75.0,
            "base_flow_mw": "base_flow_mw",
            "energy_price_jpy_per_mwh": {
                "column": "spot_price_jpy_per_kwh",
                "scale": 1000.0,
                "offset": 8000.0,
            },
            "capacity_charge_jpy_per_kw_year": 20_000.0,
        },
        "pv": {
            "capacity_mw": {"min": 0.0, "max": 5.0},
            "availability": "pv_availability",
            "capex_jpy_per_kw": 200_000.0,
        },
        "battery": {
            "power_mw": {"min": 0.0, "max": 50.0},
            "energy_mwh": {"min": 0.0, "max": 300.0},
            "power_capex_jpy_per_kw": 30_000.0,
            "energy_capex_jpy_per_kwh": 40_000.0,
            "throughput_cost_jpy_per_mwh": 1_000.0,
        },
    }
    path = folder / "case.toml"
    path.write_text(to_toml(case))
    return path


@pytest.fixture(scope="module")
def base_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_base_case(tmp_path_factory.mktemp("properties"))


@st.composite
def windows(draw: st.DrawFn, max_steps: int = MAX_STEPS) -> dict:
    """A slice of the real series: start (a timestamp of it) and length."""
    steps = draw(st.integers(min_value=6, max_value=max_steps))
    start = draw(st.integers(min_value=0, max_value=len(STAMPS) - steps))
    return {"horizon.start": datetime.fromisoformat(STAMPS[start]), "horizon.steps": steps}


# A tighter substation limit than the example's 75 MW makes the import limit bind in far more
# slices (at 75 MW it binds in ~5 % of hours), so that the properties are not trivially equal.
limits = st.floats(min_value=50.0, max_value=75.0)


def cost(run) -> float:
    return run.kpis["total_cost_jpy"]


def no_more_than(a: float, b: float) -> bool:
    return a <= b + REL * max(abs(a), abs(b), 1.0)


def strictly(a: float, b: float) -> str:
    """Label for ``--hypothesis-show-statistics``: how often the property is not a tie."""
    return "strict" if a < b - 1e-4 * max(abs(b), 1.0) else "tie"


@PROPERTY
@given(
    window=windows(),
    limit=limits,
    power=st.floats(0.0, 20.0),
    energy=st.floats(0.0, 80.0),
    more_power=st.floats(0.0, 20.0),
    more_energy=st.floats(0.0, 80.0),
    soc_rule=st.sampled_from(["cyclic", "fixed"]),
    soc_min=st.sampled_from([0.0, 0.1]),
    initial=st.sampled_from([0.1, 0.5, 0.9]),
    exclusive=st.sampled_from(["never", "auto"]),
)
def test_more_free_battery_never_raises_cost(
    base_case, window, limit, power, energy, more_power, more_energy, soc_rule, soc_min, initial,
    exclusive,
):  # fmt: skip
    common = {
        **window,
        "grid.limit_mw": limit,
        "battery.power_capex_jpy_per_kw": 0.0,
        "battery.energy_capex_jpy_per_kwh": 0.0,
        "battery.soc_rule": soc_rule,
        "battery.soc_min_fraction": soc_min,
        "battery.initial_soc_fraction": initial,
        "battery.exclusive": exclusive,
    }
    small = solve_verified(
        base_case, **common, **{"battery.power_mw": power, "battery.energy_mwh": energy}
    )
    large = solve_verified(
        base_case,
        **common,
        **{"battery.power_mw": power + more_power, "battery.energy_mwh": energy + more_energy},
    )
    event(strictly(cost(large), cost(small)))
    assert no_more_than(cost(large), cost(small)), (cost(large), cost(small))


@PROPERTY
@given(window=windows(), limit=limits, delta=st.floats(0.0, 10.0))
def test_looser_import_limit_never_raises_cost(base_case, window, limit, delta):
    tight = solve_verified(base_case, **window, **{"grid.limit_mw": limit})
    loose = solve_verified(base_case, **window, **{"grid.limit_mw": limit + delta})
    assert (loose.results["grid_import_limit_mw"] >= tight.results["grid_import_limit_mw"]).all()
    event(strictly(cost(loose), cost(tight)))
    assert no_more_than(cost(loose), cost(tight)), (cost(loose), cost(tight))


@PROPERTY
@given(
    window=windows(),
    limit=limits,
    value=st.floats(5_000.0, 100_000.0),
    factor=st.floats(1.1, 5.0),
)
def test_higher_value_of_lost_compute_never_lowers_served_energy(
    base_case, window, limit, value, factor
):
    def served(v: float) -> float:
        run = solve_verified(
            base_case,
            **window,
            **{"grid.limit_mw": limit, "dc.value_of_lost_compute_jpy_per_mwh": v},
        )
        return run.kpis["dc_it_served_mwh"]

    low, high = served(value), served(value * factor)
    event(strictly(-high, -low))
    assert high >= low - 1e-6 * max(low, 1.0), (low, high)


@PROPERTY
@given(
    window=windows(max_steps=24),
    limit=st.floats(60.0, 75.0),
    offset=st.sampled_from([-30_000.0, -20_000.0, -12_000.0, 8_000.0]),
    export_mw=st.sampled_from([0.0, 5.0]),
    capex_scale=st.sampled_from([0.0, 0.05]),
)
# Found by this test: 'auto' needs all 8 exclusivity rounds here (the last binds every step).
@example(
    window={
        "horizon.start": datetime(2025, 7, 30, 5, tzinfo=timezone(timedelta(hours=9))),
        "horizon.steps": 20,
    },
    limit=64.1433552009362,
    offset=-20_000.0,
    export_mw=0.0,
    capex_scale=0.0,
)
def test_lp_relaxation_below_milp_and_auto_equals_always(
    base_case, window, limit, offset, export_mw, capex_scale
):
    common = {
        **window,
        "grid.limit_mw": limit,
        "battery.throughput_cost_jpy_per_mwh": 0.0,
        "battery.power_capex_jpy_per_kw": 30_000.0 * capex_scale,
        "battery.energy_capex_jpy_per_kwh": 40_000.0 * capex_scale,
        "grid.energy_price_jpy_per_mwh.offset": offset,
        "grid.export_limit_mw": export_mw,
        "grid.export_price_jpy_per_mwh": {"column": "spot_price_jpy_per_kwh", "scale": 1000.0},
    }
    runs = {
        mode: solve_verified(base_case, **common, **{"battery.exclusive": mode})
        for mode in ("never", "auto", "always")
    }
    lp, auto, milp = (cost(runs[m]) for m in ("never", "auto", "always"))
    event(f"LP < MILP: {strictly(lp, milp)}")
    event(f"auto binaries > 0: {runs['auto'].results.attrs['battery_exclusivity_binaries'] > 0}")
    assert no_more_than(lp, milp), (lp, milp)
    assert auto == pytest.approx(milp, rel=1e-6, abs=1e-6)
    steps = window["horizon.steps"]
    assert runs["always"].results.attrs["battery_exclusivity_binaries"] == steps
    assert runs["auto"].results.attrs["battery_exclusivity_binaries"] <= steps
