"""Derive this case's series.csv from the measured data in ../data (run from anywhere).

* base_flow_mw — flow of the other customers through a 75 MW substation, modelled as a scaled copy
  of the Tokyo area's net demand: 0.00125 · area demand − 0.0025 · area solar (the substation's
  area has twice the area-average share of solar, so midday flow falls deeply in spring).
* pv_availability — area solar output over an assumed installed capacity of 19.5 GW (the measured
  peak is 16.6 GW), i.e. a capacity factor in [0, 0.85].
* dc_utilisation — the Google 2019 cluster's average CPU utilisation, hourly means of the 5-minute
  trace; the 28-day trace is repeated to cover the year.
* spot_price_jpy_per_kwh — JEPX day-ahead Tokyo area price.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
DATA = HERE.parent / "data"
AREA_SOLAR_CAPACITY_MW = 19_500.0


def main() -> None:
    area = pd.read_csv(DATA / "tokyo_area_fy2025_hourly.csv")
    cluster = pd.read_csv(DATA / "google2019_cluster_cpu_5min.csv")
    hourly_cpu = cluster["avg_cpu"].to_numpy().reshape(-1, 12).mean(axis=1)
    repeats = int(np.ceil(len(area) / len(hourly_cpu)))
    series = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(area["timestamp"]).map(pd.Timestamp.isoformat),
            "base_flow_mw": (0.00125 * area["area_demand_mw"] - 0.0025 * area["solar_mw"]).round(4),
            "pv_availability": (area["solar_mw"] / AREA_SOLAR_CAPACITY_MW).round(5),
            "dc_utilisation": np.tile(hourly_cpu, repeats)[: len(area)].round(5),
            "spot_price_jpy_per_kwh": area["tokyo_price_jpy_per_kwh"],
        }
    )
    series.to_csv(HERE / "series.csv", index=False)


if __name__ == "__main__":
    main()
