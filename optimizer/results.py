"""Solved model → result Dataset (inputs + every variable + cost terms) → KPIs."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import xarray as xr

from wattbit.formulations.site import component_blocks, cost_terms
from wattbit.genset_types import type_names
from wattbit.input_dataset import units_of
from wattbit.sizes import size_vars


def _values(var: pyo.Var) -> np.ndarray:
    return np.fromiter((v.value for v in var.values()), dtype=float, count=len(var))


def build_results(inputs: xr.Dataset, m: pyo.ConcreteModel, attrs: dict) -> xr.Dataset:
    """The inputs plus every time-indexed or scalar variable as ``<block>_<var>`` and every cost
    term as ``cost_<block>_<term>_jpy``; binaries and other index sets are left out."""
    found: dict[str, tuple] = {}
    for blk in component_blocks(m):
        for var in blk.component_objects(pyo.Var, descend_into=False):
            name = f"{blk.local_name}_{var.local_name}"
            if not var.is_indexed():
                doc = var.doc or ""
                found[name] = ((), float(var.value), {"units": units_of(name), "doc": doc})
            elif var.index_set() is m.T:
                found[name] = ("time", _values(var), {"units": units_of(name)})
    for key, expr in cost_terms(m).items():
        name = "cost_" + key.replace(".", "_") + "_jpy"
        found[name] = ((), float(pyo.value(expr)), {"units": "JPY/yr", "doc": f"annualised {key}"})
    found["total_cost_jpy"] = ((), float(pyo.value(m.total_cost_jpy)), {"units": "JPY/yr"})
    # one merge: each ``ds[name] = …`` merges (and copies) the whole Dataset
    ds = inputs.assign(found)
    if "dc_size_mw" in ds:  # a sized DC: its desired load is the profile at the chosen size
        ds["dc_it_mw"] = ds["dc_it_per_mw"] * ds["dc_size_mw"]
        ds["dc_it_mw"].attrs.update(units="MW", doc="desired IT power at the chosen size")
    ds.attrs.update(attrs)
    return add_site_prices(ds, m)


def add_site_prices(ds: xr.Dataset, m: pyo.ConcreteModel) -> xr.Dataset:
    """With duals in ``m.dual`` (:func:`wattbit.solve.request_duals`): the site's price per step,
    the cost of one more MWh consumed at the site's bus (the dual of E1 over α Δt, JPY/MWh), and
    each size bound's value, the reduced cost of the size (JPY/yr per unit its binding bound is
    raised; negative at a binding upper bound, 0 where no bound binds). A MIP's duals are those of
    its LP with the binaries fixed (attrs ``duals_source``)."""
    suffix = getattr(m, "dual", None)
    if not isinstance(suffix, pyo.Suffix) or not len(suffix):
        return ds
    scale = float(ds.attrs["annual_factor"]) * float(ds.attrs["dt_h"])
    balance = m.bus.power_balance
    price = np.fromiter((suffix.get(balance[t], 0.0) for t in m.T), float, len(m.T)) / scale
    found: dict[str, tuple] = {
        "site_price_jpy_per_mwh": (
            "time",
            price,
            {"units": "JPY/MWh", "doc": "cost of one more MWh consumed at the site (E1's dual)"},
        )
    }
    for size in size_vars(ds):
        var = getattr(getattr(m, size.block), size.attribute)
        unit = size.attribute.rsplit("_", 1)[1].replace("mwh", "MWh").replace("mw", "MW")
        found[f"{size.name}_bound_value_jpy"] = (
            (),
            float(suffix.get(var, 0.0)),
            {"units": f"JPY/yr per {unit}", "doc": "reduced cost of the size at its bound"},
        )
    ds.update(found)  # one merge, as in build_results
    return ds


def served_it_mw(ds: xr.Dataset) -> xr.DataArray:
    """IT power served: the inflexible share less its shed, plus deferrable work served."""
    share = float(ds["dc_deferrable_share"]) if "dc_deferrable_share" in ds else 0.0
    served = ds["dc_it_mw"] * (1.0 - share) - ds["dc_shed_it_mw"]
    if "shift_served_it_mw" in ds:
        served = served + ds["shift_served_it_mw"]
    if "emergency_curtailed_it_mw" in ds:
        served = served - ds["emergency_curtailed_it_mw"]
    for reduction in ("shutdown_it_mw", "migration_it_mw"):  # shut down, or served elsewhere
        if reduction in ds:
            served = served - ds[reduction]
    return served


def kpis(ds: xr.Dataset) -> dict[str, float]:
    """Headline figures of a result Dataset. Energies are totals over the horizon (MWh); costs are
    annualised (JPY/yr)."""
    dt = float(ds.attrs["dt_h"])
    out: dict[str, float] = {"horizon_h": ds.sizes["time"] * dt}

    def energy(name: str) -> float:
        return float(ds[name].sum()) * dt

    served = served_it_mw(ds)
    if "dc_size_mw" in ds:
        out["dc_size_mw"] = float(ds["dc_size_mw"])
    out["dc_it_demand_mwh"] = energy("dc_it_mw")
    out["dc_it_served_mwh"] = float(served.sum()) * dt
    out["dc_it_unserved_mwh"] = energy("dc_shed_it_mw")
    if "shift_served_it_mw" in ds:
        out["dc_it_unserved_mwh"] += energy("shift_dropped_it_mw")
        out["dc_it_deferred_mwh_h"] = energy("shift_backlog_mwh")
    if "emergency_curtailed_it_mw" in ds:
        out["dc_emergency_curtailed_mwh"] = energy("emergency_curtailed_it_mw")
        out["dc_it_unserved_mwh"] += out["dc_emergency_curtailed_mwh"]
    if "shutdown_it_mw" in ds:
        out["dc_it_shutdown_mwh"] = energy("shutdown_it_mw")
        out["dc_it_unserved_mwh"] += out["dc_it_shutdown_mwh"]
    migrated = energy("migration_it_mw") if "migration_it_mw" in ds else 0.0
    if "migration_it_mw" in ds:
        out["dc_it_migrated_mwh"] = migrated
    out["dc_facility_served_mwh"] = float((served * ds["dc_pue"]).sum()) * dt
    out["dc_served_fraction"] = (out["dc_it_served_mwh"] + migrated) / max(
        out["dc_it_demand_mwh"], 1e-12
    )
    out["grid_import_mwh"] = energy("grid_import_mw")
    out["grid_peak_import_mw"] = float(ds["grid_import_mw"].max())
    out["grid_contract_mw"] = float(ds["grid_contract_mw"])
    if "grid_export_mw" in ds:
        out["grid_export_mwh"] = energy("grid_export_mw")
    if "pv_generation_mw" in ds:
        available = float((ds["pv_availability"] * ds["pv_capacity_mw"]).sum()) * dt
        out["pv_capacity_mw"] = float(ds["pv_capacity_mw"])
        out["pv_used_mwh"] = energy("pv_generation_mw")
        out["pv_curtailed_mwh"] = available - out["pv_used_mwh"]
    if "battery_charge_mw" in ds:
        out["battery_power_mw"] = float(ds["battery_power_mw"])
        out["battery_energy_mwh"] = float(ds["battery_energy_mwh"])
        out["battery_charge_mwh"] = energy("battery_charge_mw")
        out["battery_discharge_mwh"] = energy("battery_discharge_mw")
        delta = float(ds["battery_soc_mwh"][-1] - ds["battery_soc_initial_mwh"])
        out["battery_losses_mwh"] = out["battery_charge_mwh"] - out["battery_discharge_mwh"] - delta
        e = out["battery_energy_mwh"]
        out["battery_cycles"] = out["battery_discharge_mwh"] / e if e > 1e-9 else 0.0
    if "generator_output_mw" in ds:
        out["generator_power_mw"] = float(ds["generator_power_mw"])
        out["generator_output_mwh"] = energy("generator_output_mw")
        out["generator_refuel_mwh"] = energy("generator_refuel_mw")
        out["generator_emissions_t"] = out["generator_output_mwh"] * float(
            ds["generator_emissions_t_per_mwh"]
        )
    if "ups_discharge_mw" in ds:
        out["ups_power_mw"] = float(ds["ups_power_mw"])
        out["ups_discharge_mwh"] = energy("ups_discharge_mw")
    for size in size_vars(ds):  # sizes bought in whole units (docs/milp.md)
        if f"{size.name}_units" in ds:
            out[size.name] = float(ds[size.name])
            out[f"{size.name}_units"] = float(round(float(ds[f"{size.name}_units"])))
    for name in ["generator", *(f"generator_{t}" for t in type_names(ds))]:
        if f"{name}_output_mw" in ds and name != "generator":  # a genset type (docs/milp.md)
            out[f"{name}_output_mwh"] = energy(f"{name}_output_mw")
        if f"{name}_starts" in ds:
            out[f"{name}_starts"] = float(ds[f"{name}_starts"].sum())
            out[f"{name}_run_unit_h"] = energy(f"{name}_units_on")  # Σ_t u_t Δt: unit-hours on
    for name in ds.data_vars:
        if str(name).startswith("cost_"):
            out[str(name)] = float(ds[name])
    out["total_cost_jpy"] = float(ds["total_cost_jpy"])
    return out
