"""wattbit's pipeline: case file → validated case → input dataset → Pyomo model → HiGHS
→ result dataset → verification, KPIs, reports and plots; plus the command line.

The Python API (:mod:`wattbit.api`) is re-exported here and imported on first use, so that
``import wattbit`` stays light::

    import wattbit

    result = wattbit.solve_case("cases/tokyo_substation_dc/case.toml", {"horizon.steps": 168})
    result.kpis["total_cost_jpy"]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "NetworkResult",
    "SolveResult",
    "__version__",
    "battery_value",
    "build_inputs",
    "compare",
    "connect",
    "headroom_study",
    "load_case",
    "ridethrough",
    "run_sweep",
    "solve_case",
    "solve_network",
    "sweep_spec",
]
_API = frozenset(__all__) - {"__version__"}

if TYPE_CHECKING:
    from wattbit.api import (
        NetworkResult,
        SolveResult,
        battery_value,
        build_inputs,
        compare,
        connect,
        headroom_study,
        load_case,
        ridethrough,
        run_sweep,
        solve_case,
        solve_network,
        sweep_spec,
    )


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module("wattbit.api"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wattbit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
