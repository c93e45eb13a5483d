"""`vigil devices`: the serial ports on this machine and, where BLE works, nearby devices."""

from __future__ import annotations

import asyncio
import importlib
from typing import Annotated, Any

import typer

from monitor.cli import app

#: The BLE scanner hook: `async def scan_ble(timeout_s) -> list[dict]` returning
#: {"address", "name", "services"} per device offering the BP (0x1810), PLX (0x1822) or
#: HR (0x180D) service, raising BleUnavailable("why") with no adapter / BlueZ.
BLE_SCANNER = ("drivers.ble.link", "scan_ble")


def ble_scan(timeout: float) -> tuple[list[dict[str, Any]] | None, str]:
    """(devices, "") or (None, reason BLE scanning is unavailable)."""
    module_name, func = BLE_SCANNER
    try:
        scan = getattr(importlib.import_module(module_name), func)
    except (ImportError, AttributeError):
        return None, "no BLE scanner in this build"
    try:
        return asyncio.run(scan(timeout)), ""
    except Exception as exc:  # BleUnavailable, or whatever a broken adapter raises
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
