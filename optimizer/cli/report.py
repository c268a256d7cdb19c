"""``wattbit report DIR``: one self-contained HTML page from a result folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wattbit.cli.common import exits, out_console

if TYPE_CHECKING:
    import xarray as xr

    from wattbit.verify import Verification


def verify_stored(ds: xr.Dataset) -> Verification:
    """The verifier a stored ``results.nc`` needs: the network's (a ``node`` dimension), the
    stochastic type ③ one (``scenario``), else the single site's."""
    if "node" in ds.dims:
        from wattbit.network.verify import verify_network

        return verify_network(ds)
    if "scenario" in ds.dims:
        from wattbit.strategies.stochastic import verify_stochastic

        return verify_stochastic(ds)
    from wattbit.verify import verify

    return verify(ds)


def report(
    folder: Annotated[Path, typer.Argument(help="a folder a wattbit command wrote with --out")],
    output: Annotated[
        Path | None, typer.Option(help="the HTML file (default: FOLDER/report.html)")
    ] = None,
) -> None:
    """One self-contained HTML page of a result folder: case, solver, verifier, KPIs, figures.

    The verifier is re-run on a stored results.nc (exit 7 if it fails); tables carry units in
    their headers; every PNG is embedded; the versions of the software are listed."""
    from wattbit.html_report import build_report

    with exits():
        page = build_report(folder, verify_stored)
        path = page.write(output)
    verdict = {True: "verifier ok", False: "verifier FAILED", None: "not re-verified"}
    out_console().print(
        f"wrote {path}: {page.kind}, {len(page.tables)} tables, {len(page.figures)} figures, "
        f"{verdict[page.check.ok]}"
    )
    if page.check.ok is False:
        raise typer.Exit(7)


def register(app: typer.Typer) -> None:
    app.command()(report)
