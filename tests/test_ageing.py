"""Battery ageing (wattbit.ageing): linear calendar + cycle fade, the cycle cost it implies, and
the state of health under each maintenance strategy, against hand-derived values."""

from __future__ import annotations

import math

import pytest

from wattbit.ageing import Ageing, cycle_cost_jpy_per_mwh, fade_per_year, simulate, years_to_soh

E = 100.0  # MWh nameplate
FADE = Ageing(calendar_fade_per_year=0.01, cycle_fade_per_cycle=5e-5)


def test_fade_after_n_cycles_and_t_years():
    """f_cal = 1 %/yr, f_cyc = 0.005 %/cycle; 300 equivalent full cycles a year, i.e. an
    equivalent-cycle throughput (Q^c + Q^d)/2 = 300 · 100 = 30 000 MWh/yr. Loss per year =
    0.01 + 5e-5 · 300 = 0.025; after T = 4 years without maintenance SoH = 1 − 4 · 0.025 = 0.90,
    usable energy over year 4 = (0.925 + 0.90)/2 · 100 = 91.25 MWh; SoH 0.8 after 8 years."""
    none = Ageing(0.01, 5e-5, maintenance="none")
    assert fade_per_year(none, E, 30_000.0) == pytest.approx(0.025)
    rows = simulate(none, E, 30_000.0, 4)
    assert [r.soh_end for r in rows] == pytest.approx([0.975, 0.95, 0.925, 0.90])
    assert rows[-1].usable_energy_mwh == pytest.approx(91.25)
    assert not any(r.replaced or r.augmented_mwh for r in rows)
    assert years_to_soh(none, E, 30_000.0, 0.8) == pytest.approx(8.0)


def test_cycle_fade_alone_counts_equivalent_full_cycles():
    """No calendar fade; 1 000 cycles at f_cyc = 2e-4 lose 20 % whatever E: 1 000 · E MWh of
    equivalent-cycle throughput, SoH 0.8 after one year."""
    cycle = Ageing(cycle_fade_per_cycle=2e-4, maintenance="none")
    for energy in (1.0, 50.0):
        assert simulate(cycle, energy, 1_000.0 * energy, 1)[0].soh_end == pytest.approx(0.8)
    assert years_to_soh(Ageing(), E, 1e6, 0.8) == math.inf


def test_augmentation_keeps_usable_energy_constant():
    """Augmentation buys back each year's 2.5 % (2.5 MWh of 100) at its end: SoH starts every
    year at 1, usable energy is the same every year, 2.5 MWh bought each year."""
    aug = Ageing(0.01, 5e-5, maintenance="augmentation")
    rows = simulate(aug, E, 30_000.0, 10)
    assert {round(r.soh_start, 12) for r in rows} == {1.0}
    assert {round(r.usable_energy_mwh, 9) for r in rows} == {98.75}
    assert [r.augmented_mwh for r in rows] == pytest.approx([2.5] * 10)


def test_replacement_renews_the_cells_at_the_threshold():
    """Replacement at SoH 0.8 with 2.5 %/yr: SoH 0.8 at the end of year 8, replaced, year 9
    starts at 1 again; no augmentation."""
    rep = Ageing(0.01, 5e-5, maintenance="replacement", replacement_soh=0.8)
    rows = simulate(rep, E, 30_000.0, 10)
    assert [r.year for r in rows if r.replaced] == [8]
    assert rows[8].soh_start == pytest.approx(1.0)
    assert rows[7].soh_end == pytest.approx(0.8)
    assert sum(r.augmented_mwh for r in rows) == 0.0


def test_cycle_cost_per_strategy():
    """k_a = f_cyc k_aug (augmentation): 5e-5 · 2e7 = 1 000 JPY/MWh; replacement at s_r = 0.8:
    f_cyc k_rep / (1 − s_r) = 5e-5 · 3e7 / 0.2 = 7 500 JPY/MWh — the replacement cost shared
    over the (1 − s_r)/f_cyc = 4 000 cycles a cell set lasts; no maintenance: 0."""
    costs = {"augmentation_cost_jpy_per_mwh": 2e7, "replacement_cost_jpy_per_mwh": 3e7}
    aug = Ageing(0.01, 5e-5, "augmentation", **costs)
    rep = Ageing(0.01, 5e-5, "replacement", 0.8, **costs)
    assert cycle_cost_jpy_per_mwh(aug) == pytest.approx(1_000.0)
    assert cycle_cost_jpy_per_mwh(rep) == pytest.approx(7_500.0)
    assert cycle_cost_jpy_per_mwh(Ageing(0.01, 5e-5, "none", **costs)) == 0.0
