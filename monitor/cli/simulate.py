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
    protocol: Annotated[
        str | None,
        typer.Option(
            help="Device protocol id (default masimo-ascii; with --ble: ble or a ble-2aXX id)."
        ),
    ] = None,
    scenario: Annotated[
        str,
        typer.Option(
            help="Scenario: steady, post_dose_rise, hypertensive_surge, desaturation, "
            "motion_artefact, probe_off, cuff_error, disconnect_return, hypoventilation, apnea."
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
    ble: Annotated[
        bool,
        typer.Option(
            "--ble", help="A simulated BLE peripheral on a bumble transport instead of serial."
        ),
    ] = False,
    profile: Annotated[
        str | None,
        typer.Option(help="BLE: services offered: bps, plxs, hrs or a combo like plxs+hrs."),
    ] = None,
    transport: Annotated[
        str | None,
        typer.Option(
            help="BLE: bumble transport. tcp-server:HOST:PORT (default tcp-server:127.0.0.1:7755)"
            " serves a virtual radio for vigil (transport tcp-client:HOST:PORT); "
            "hci-socket:0 or usb:0 advertises on a real adapter."
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="BLE: advertised name (default Vigil-Sim-<profile>).")
    ] = None,
    mllp: Annotated[
        str | None,
        typer.Option(
            help="HL7 (--protocol hl7): connect:HOST:PORT sends to vigil's listener, "
            "serve:HOST:PORT serves vigil's client mode."
        ),
    ] = None,
) -> None:
    """Run a simulated device until interrupted."""
    if ble or (protocol or "").startswith("ble"):
        from monitor.cli.simulate_ble import simulate_ble

        simulate_ble(
            protocol=protocol,
            scenario=scenario,
            profile=profile,
            transport=transport,
            name=name,
            options=options,
            interval=interval,
            serial_only={
                "--port": port is not None,
                "--pty": pty,
                "--device-options": device_options != "{}",
                "--corrupt-every": corrupt_every != 0,
            },
        )
        return
    if protocol == "hl7":
        from monitor.cli.simulate_hl7 import simulate_hl7

        simulate_hl7(
            scenario=scenario,
            mllp=mllp,
            options=options,
            device_options=device_options,
            interval=interval,
            serial_only={"--port": port is not None, "--pty": pty,
                         "--corrupt-every": corrupt_every != 0},
        )  # fmt: skip
        return
    if mllp is not None:
        typer.echo("vigil: --mllp is an HL7 simulator option; add --protocol hl7", err=True)
        raise typer.Exit(2)
    for opt, value in (("--profile", profile), ("--transport", transport), ("--name", name)):
        if value is not None:
            typer.echo(f"vigil: {opt} is a BLE simulator option; add --ble", err=True)
            raise typer.Exit(2)
    protocol = protocol or "masimo-ascii"
    import serial

    from drivers.registry import protocol_info
    from drivers.sim.pty import PtyPair
    from drivers.sim.registry import simulator_for
    from drivers.sim.runner import PySerialLink, run_serial_sim
    from drivers.sim.scenarios import scenario as make_scenario

    try:
        info = protocol_info(protocol)
        simulator = simulator_for(protocol)
    except ValueError as exc:
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None
    if simulator is None:
        typer.echo(f"vigil: no serial simulator for protocol {protocol!r}", err=True)
        raise typer.Exit(2)
    if (port is None) == (not pty):
        typer.echo("vigil: give exactly one of --port PATH or --pty", err=True)
        raise typer.Exit(2)
    try:
        scen = make_scenario(scenario, json.loads(options))
        device = simulator(**json.loads(device_options))
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
