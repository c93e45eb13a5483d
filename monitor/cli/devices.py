"""`vigil devices`: the serial ports on this machine and, where BLE works, nearby devices."""

from __future__ import annotations

import asyncio
import importlib
from typing import Annotated, Any

import typer

from monitor.cli import app

#: The BLE scanner hook: a module with `async def scan(timeout: float) -> list[dict]`
#: returning {"address", "name", "services"} per device that offers the BP (0x1810),
#: PLX (0x1822) or HR (0x180D) service, and raising RuntimeError("why") when BLE is
#: unavailable (no adapter, no BlueZ). Provided by drivers/ble.
BLE_SCANNER_MODULE = "drivers.ble.scan"


def ble_scan(timeout: float) -> tuple[list[dict[str, Any]] | None, str]:
    """(devices, "") or (None, reason BLE scanning is unavailable)."""
    try:
        module = importlib.import_module(BLE_SCANNER_MODULE)
    except ImportError:
        return None, "no BLE scanner in this build"
    try:
        return asyncio.run(module.scan(timeout)), ""
    except Exception as exc:  # bleak raises several types when there is no adapter/BlueZ
        return None, str(exc) or type(exc).__name__


@app.command()
def devices(
    ble_timeout: Annotated[float, typer.Option(help="Seconds to scan for BLE devices.")] = 5.0,
) -> None:
    """List serial ports, and BLE devices offering BP, pulse-oximeter or heart-rate service."""
    from serial.tools import list_ports

    ports = sorted(list_ports.comports(), key=lambda p: p.device)
    typer.echo("Serial ports:")
    if not ports:
        typer.echo("  (none found)")
    for p in ports:
        typer.echo(f"  {p.device}  {p.description}  [{p.hwid}]")
    found, why = ble_scan(ble_timeout)
    typer.echo("BLE devices:")
    if found is None:
        typer.echo(f"  BLE scanning unavailable: {why}")
        return
    if not found:
        typer.echo("  (none offering BP, PLX or HR service)")
    for d in found:
        services = ", ".join(d.get("services", []))
        typer.echo(f"  {d.get('address')}  {d.get('name') or '(no name)'}  {services}")
