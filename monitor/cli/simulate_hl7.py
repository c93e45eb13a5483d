"""`vigil simulate --protocol hl7`: a bedside monitor sending ORU^R01 over MLLP/TCP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re

import typer

_MLLP = re.compile(r"^(connect|serve):(\[[0-9a-fA-F:]+\]|[^:\[\]]+):(\d{1,5})$")


def simulate_hl7(
    *,
    scenario: str,
    mllp: str | None,
    options: str,
    device_options: str,
    interval: float | None,
    serial_only: dict[str, bool],
) -> None:
    from drivers.sim.hl7 import Hl7MonitorSim
    from drivers.sim.scenarios import scenario as make_scenario
    from monitor.hl7_device import SIM_OPTIONS

    for opt, given in serial_only.items():
        if given:
            typer.echo(f"vigil: {opt} is a serial simulator option; hl7 uses --mllp", err=True)
            raise typer.Exit(2)
    match = _MLLP.match(mllp or "")
    if match is None:
        typer.echo(
            "vigil: --mllp: give connect:HOST:PORT (to vigil's listener) or serve:HOST:PORT "
            "(vigil connects)",
            err=True,
        )
        raise typer.Exit(2)
    mode, host, port = match[1], match[2].strip("[]"), int(match[3])
    try:
        scen = make_scenario(scenario, json.loads(options))
        dev = json.loads(device_options)
        unknown = set(dev) - SIM_OPTIONS
        if unknown:
            raise ValueError(f"unknown device options {sorted(unknown)}")
    except (ValueError, TypeError) as exc:
        typer.echo(f"vigil: {exc}", err=True)
        raise typer.Exit(2) from None
    ack_mode = dev.get("ack_mode", ["", ""])
    sim = Hl7MonitorSim(
        scen,
        interval_s=interval or 1.0,
        bp_interval_s=float(dev.get("bp_interval_s", 60.0)),
        vendor=str(dev.get("vendor", "mdc")),
        ack_mode=(str(ack_mode[0]), str(ack_mode[1])),
    )
    typer.echo(f"hl7 monitor simulator: {mode} {host}:{port}", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        if mode == "connect":
            asyncio.run(sim.connect(host, port))
        else:
            asyncio.run(sim.serve(host, port))
