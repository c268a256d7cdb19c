"""wattbit's pipeline: case file → validated case → input dataset → Pyomo model → HiGHS
→ result dataset → verification, KPIs, reports and plots; plus the command line."""

__version__ = "0.1.0"
