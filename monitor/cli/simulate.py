"""`vigil simulate`: a simulated device writing its real bytes to a serial port or a new pty."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated

import typer

from monitor.cli import app

SIMULATED_PROTOCOLS = ("masimo-ascii",)


@app.command()
def simulate(
    protocol: Annotated[str, typer.Option(help="Device protocol id.")] = "masimo-ascii",
    scenario: Annotated[str, typer.Option(help="Scenario name (steady, desaturation).")] = "steady",
    port: Annotated[
        str | None, typer.Option(help="Serial port or pyserial URL to write to.")
    ] = None,
    pty: Annotated[
        bool,
        typer.Option(
            "--pty", help="Create a pseudo-terminal and print its path for a driver to open."
        ),
    ] = False,
    options: Annotated[
        str, typer.Option(help="Scenario options as JSON, e.g. '{\"desat_start_s\": 30}'.")
    ] = "{}",
    interval: Annotated[float, typer.Option(help="Seconds between frames.")] = 1.0,
) -> None:
    """Run a simulated device until interrupted."""
    import serial

    from drivers.sim.masimo import run_masimo
    from drivers.sim.pty import PtyPair
    from drivers.sim.scenarios import scenario as make_scenario

    if protocol not in SIMULATED_PROTOCOLS:
        typer.echo(
            f"vigil: no simulator for protocol {protocol!r} "
            f"(have: {', '.join(SIMULATED_PROTOCOLS)})",
            err=True,
        )
        raise typer.Exit(2)
    if (port is None) == (not pty):
        typer.echo("vigil: give exactly one of --port PATH or --pty", err=True)
        raise typer.Exit(2)
    try:
        opts = json.loads(options)
        scen = make_scenario(scenario, opts)
    except (ValueError, TypeError) as exc:
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None

    if pty:
        pair = PtyPair()
        typer.echo(pair.port, err=False)
        write = pair.write
    else:
        assert port is not None
        try:
            ser = serial.serial_for_url(port, baudrate=9600)
        except (serial.SerialException, ValueError) as exc:
            typer.echo(f"vigil: cannot open {port}: {exc}", err=True)
            raise typer.Exit(2) from None
        write = ser.write
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_masimo(write, scen, interval_s=interval))
