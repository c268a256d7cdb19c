"""The case file: one TOML file with CSV time series beside it, validated on load.

A *quantity* field takes a constant, the name of a column of the case's series files, or a table
``{ column = "…", scale = 1.0, offset = 0.0 }``. A *capacity* field takes a fixed value or a range
``{ min = …, max = … }`` that the optimiser sizes within. Every field carries its unit in its name.

Modules: :mod:`~wattbit.case.fields` (value types), :mod:`~wattbit.case.schema` (the case and its
site's tables), :mod:`~wattbit.case.grid` (the grid connection's tables),
:mod:`~wattbit.case.messages` (validation errors as one line), :mod:`~wattbit.case.series` (CSV
series), :mod:`~wattbit.case.load` (:func:`load_case`).
"""

from wattbit.case.fields import (
    Capacity,
    Efficiency,
    Fraction,
    NonNegative,
    Positive,
    Quantity,
    SeriesColumn,
    SizeRange,
    Table,
)
from wattbit.case.grid import (
    DEFAULT_FAULT_CLASSES,
    MODES,
    SEED_FIRM_TIERS,
    Connect,
    Event,
    FaultClass,
    FaultStatistic,
    FirmTier,
    Forecast,
    Grid,
    MaintenanceWindow,
    Mode,
    Pattern,
    Type3,
)
from wattbit.case.load import LoadedCase, load_case, read_toml, set_path
from wattbit.case.messages import validated, validation_message
from wattbit.case.schema import (
    PV,
    UPS,
    Battery,
    Case,
    DataCentre,
    Economics,
    Generator,
    Horizon,
    Migration,
    Shutdown,
    Solver,
)
from wattbit.case.series import cut_horizon, read_series

__all__ = [
    "DEFAULT_FAULT_CLASSES",
    "MODES",
    "PV",
    "SEED_FIRM_TIERS",
    "UPS",
    "Battery",
    "Capacity",
    "Case",
    "Connect",
    "DataCentre",
    "Economics",
    "Efficiency",
    "Event",
    "FaultClass",
    "FaultStatistic",
    "FirmTier",
    "Forecast",
    "Fraction",
    "Generator",
    "Grid",
    "Horizon",
    "LoadedCase",
    "MaintenanceWindow",
    "Migration",
    "Mode",
    "NonNegative",
    "Pattern",
    "Positive",
    "Quantity",
    "SeriesColumn",
    "Shutdown",
    "SizeRange",
    "Solver",
    "Table",
    "Type3",
    "cut_horizon",
    "load_case",
    "read_series",
    "read_toml",
    "set_path",
    "validated",
    "validation_message",
]
