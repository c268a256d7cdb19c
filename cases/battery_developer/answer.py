"""The table of docs/battery-economics.md: the example case's optimal battery and its NPV with and
without each service and with and without ageing, over the whole series. Each row is the same as
`wattbit cashflow cases/battery_developer/case.toml --set <its overrides>`; this script solves the
baseline (no battery) once for all rows. Run: python cases/battery_developer/answer.py [--steps N]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from wattbit.studies.battery_value import battery_value

CASE = Path(__file__).with_name("case.toml")
OFF = {
    "primary": {"market.reserve.primary.price_jpy_per_mw_h": 0.0},
    "tertiary_2": {"market.reserve.tertiary_2.price_jpy_per_mw_h": 0.0},
    "capacity": {"market.capacity.price_jpy_per_kw_year": 0.0},
    "export": {"grid.export_limit_mw": 0.0},
}
ROWS = {
    "all services, ageing": {},
    "without primary reserve": OFF["primary"],
    "without tertiary reserve": OFF["tertiary_2"],
    "without capacity market": OFF["capacity"],
    "without export": OFF["export"],
    "energy only (no market, no export)": {k: v for off in OFF.values() for k, v in off.items()},
    "capacity market without obligation hours": {"market.capacity.obligation_hours": []},
    "all services, no ageing": {
        "battery.calendar_fade_per_year": 0.0,
        "battery.cycle_fade_per_cycle": 0.0,
    },
    "all services, replacement at 80 %": {"battery.maintenance": "replacement"},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=None, help="cut the horizon (a test run)")
    parser.add_argument("--out", type=Path, default=Path("out/battery_developer/answer.json"))
    args = parser.parse_args()
    cut = {} if args.steps is None else {"horizon.steps": args.steps}
    baseline, rows = None, {}
    for label, overrides in ROWS.items():
        start = time.perf_counter()
        value = battery_value(CASE, {**cut, **overrides}, baseline=baseline)
        baseline = value.baseline
        rows[label] = {
            "set": overrides,
            **value.summary(),
            "wall_s": time.perf_counter() - start,
        }
        print(label, json.dumps(rows[label]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
