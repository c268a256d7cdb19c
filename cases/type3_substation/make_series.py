"""Derive this case's series.csv from the measured data in ../data (run from anywhere).

* base_flow_mw — flow of the substation's other customers, modelled as a scaled copy of the Tokyo
  area's demand whose peak is 95 MW, inside the 100 MW operating capacity of the 2 × 100 MW
  substation (the N-1 rule: one transformer must carry them all).
* dc_utilisation — the Google 2019 cluster's average CPU utilisation, hourly means of the 5-minute
  trace; the 28-day trace is repeated to cover the year.
* spot_price_jpy_per_kwh — JEPX day-ahead Tokyo area price.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
DATA = HERE.parent / "data"
BASE_PEAK_MW = 95.0


def main() -> None:
    area = pd.read_csv(DATA / "tokyo_area_fy2025_hourly.csv")
    cluster = pd.read_csv(DATA / "google2019_cluster_cpu_5min.csv")
    hourly_cpu = cluster["avg_cpu"].to_numpy().reshape(-1, 12).mean(axis=1)
    repeats = int(np.ceil(len(area) / len(hourly_cpu)))
    demand = area["area_demand_mw"]
    series = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(area["timestamp"]).map(pd.Timestamp.isoformat),
            "base_flow_mw": (BASE_PEAK_MW * demand / demand.max()).round(4),
            "dc_utilisation": np.tile(hourly_cpu, repeats)[: len(area)].round(5),
            "spot_price_jpy_per_kwh": area["tokyo_price_jpy_per_kwh"],
        }
    )
    series.to_csv(HERE / "series.csv", index=False)


if __name__ == "__main__":
    main()
