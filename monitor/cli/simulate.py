"""`vigil simulate`: a simulated device writing its real bytes to a serial port or a new pty."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated

import typer

from monitor.cli import app


@app.command()
def simulate(
    protocol: Annotated[str, typer.Option(help="Device protocol id.")] = "masimo-ascii",
    scenario: Annotated[
        str,
        typer.Option(
            help="Scenario: steady, post_dose_rise, hypertensive_surge, desaturation, "
            "motion_artefact, probe_off, cuff_error, disconnect_return."
        ),
    ] = "steady",
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
        str,
        typer.Option(help='Scenario options as JSON, e.g. \'{"desat_start_s": 30, "speed": 10}\'.'),
    ] = "{}",
    device_options: Annotated[
        str, typer.Option(help="Simulated device options as JSON, e.g. '{\"measure_s\": 5}'.")
    ] = "{}",
    corrupt_every: Annotated[
        int, typer.Option(help="Damage every Nth frame burst (line noise, lost byte); 0: never.")
    ] = 0,
    interval: Annotated[
        float | None, typer.Option(help="Seconds between ticks (default: the device's rate).")
    ] = None,
) -> None:
    """Run a simulated device until interrupted."""
    import serial

    from drivers.registry import protocol_info
    from drivers.sim.pty import PtyPair
    from drivers.sim.runner import PySerialLink, run_serial_sim
    from drivers.sim.scenarios import scenario as make_scenario

    try:
        info = protocol_info(protocol)
    except ValueError as exc:
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None
    if info.transport != "serial" or info.simulator is None:
        typer.echo(f"vigil: no serial simulator for protocol {protocol!r}", err=True)
        raise typer.Exit(2)
    if (port is None) == (not pty):
        typer.echo("vigil: give exactly one of --port PATH or --pty", err=True)
        raise typer.Exit(2)
    try:
        scen = make_scenario(scenario, json.loads(options))
        device = info.simulator(**json.loads(device_options))
    except (ValueError, TypeError) as exc:
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None

    link: PtyPair | PySerialLink
    if pty:
        link = PtyPair()
        typer.echo(link.port, err=False)
    else:
        assert port is not None
        try:
            ser = serial.serial_for_url(
                port, baudrate=info.baudrate or 9600, parity=info.parity, timeout=0
            )
        except (serial.SerialException, ValueError) as exc:
            typer.echo(f"vigil: cannot open {port}: {exc}", err=True)
            raise typer.Exit(2) from None
        link = PySerialLink(ser)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                run_serial_sim(link, device, scen, interval_s=interval, corrupt_every=corrupt_every)
            )
    finally:
        if isinstance(link, PtyPair):
            link.close()
