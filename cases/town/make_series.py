"""Derive the town's series.csv from the measured data in ../data (run from anywhere).

* north_base_mw, south_base_mw — the other customers of the two substations: scaled copies of the
  Tokyo area's demand less its solar (the south has more rooftop solar, so its midday load falls
  further and can turn negative in spring).
* pv_availability — area solar output over an assumed installed capacity of 19.5 GW.
* util_a, util_b, util_c — the Google 2019 cluster's average CPU utilisation, hourly means of the
  5-minute trace, repeated to cover the year; the three campuses start 0, 9 and 18 days into it.
* ev_plugged_in, ev_driving_mw — a campus bus fleet by local hour: in the depot 20:00–06:00,
  15 % of the buses in the depot in between; 1 MW of driving drain 07:00–20:00 (13 MWh a day).
* t_north_limit_mw — the north substation's transformers, 55 MW; 40 MW during a planned outage of
  one unit, 6–19 October 2025 (the type-3 maintenance window of DOMAIN.md §1).
* spot_price_jpy_per_kwh — JEPX day-ahead Tokyo area price.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
DATA = HERE.parent / "data"
AREA_SOLAR_CAPACITY_MW = 19_500.0
CAMPUS_OFFSET_DAYS = {"util_a": 0, "util_b": 9, "util_c": 18}
MAINTENANCE = ("2025-10-06T00:00:00+09:00", "2025-10-20T00:00:00+09:00")


def main() -> None:
    area = pd.read_csv(DATA / "tokyo_area_fy2025_hourly.csv")
    stamps = pd.to_datetime(area["timestamp"])
    hour = stamps.dt.hour.to_numpy()
    cluster = pd.read_csv(DATA / "google2019_cluster_cpu_5min.csv")
    hourly_cpu = cluster["avg_cpu"].to_numpy().reshape(-1, 12).mean(axis=1)
    repeats = int(np.ceil(len(area) / len(hourly_cpu))) + 1
    cpu = np.tile(hourly_cpu, repeats)
    demand, solar = area["area_demand_mw"], area["solar_mw"]
    in_depot = (hour >= 20) | (hour < 6)
    driving = (hour >= 7) & (hour < 20)
    maintenance = (stamps >= pd.Timestamp(MAINTENANCE[0])) & (stamps < pd.Timestamp(MAINTENANCE[1]))
    series = pd.DataFrame(
        {
            "timestamp": stamps.map(pd.Timestamp.isoformat),
            "north_base_mw": (0.00095 * demand - 0.0011 * solar).round(4),
            "south_base_mw": (0.00085 * demand - 0.0016 * solar).round(4),
            "pv_availability": (solar / AREA_SOLAR_CAPACITY_MW).round(5),
            **{
                name: cpu[24 * days : 24 * days + len(area)].round(5)
                for name, days in CAMPUS_OFFSET_DAYS.items()
            },
            "ev_plugged_in": np.where(in_depot, 1.0, 0.15),
            "ev_driving_mw": np.where(driving, 1.0, 0.0),
            "t_north_limit_mw": np.where(maintenance, 38.0, 48.0),
            "spot_price_jpy_per_kwh": area["tokyo_price_jpy_per_kwh"],
        }
    )
    series.to_csv(HERE / "series.csv", index=False)


if __name__ == "__main__":
    main()
