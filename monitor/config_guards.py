"""Whole-configuration checks that one room's table cannot make on its own.

Two rooms reading one serial port, one BLE device or one HL7 monitor endpoint would show
room A's patient in room B (issue #11: both started, room B showed room A's SpO2); a device
id used twice hides one device in `/api/health`; room ids that differ only by case collide
in URLs and records.
Each refusal names both places: `rooms[1].devices[0].port: /dev/ttyUSB0 is already used by
rooms[0].devices[0] (room a, device ox-a)`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.config import RoomConfig

#: pyserial URLs that open a private endpoint per device: two of them never share a line.
PRIVATE_URL_SCHEMES = ("loop://",)


def port_key(port: str) -> str:
    """What identifies a serial line: a device path with symlinks resolved
    (/dev/serial/by-id/... and /dev/ttyUSB0 are one port), a pyserial URL as written."""
    if "://" in port:
        return port
    return os.path.realpath(port)


def ble_key(address: str, transport: str | None) -> tuple[str, str]:
    """BLE MACs and CoreBluetooth UUIDs are case-insensitive; a name is one per transport."""
    return (transport or "", address.casefold())


def config_conflicts(rooms: Sequence[RoomConfig]) -> list[str]:
    """One `<field>: <message>` line per room id, device id, port or BLE address used twice."""
    problems: list[str] = []
    room_seen: dict[str, int] = {}
    device_seen: dict[str, tuple[int, int]] = {}
    port_seen: dict[str, tuple[int, int]] = {}
    ble_seen: dict[tuple[str, str], tuple[int, int]] = {}
    hl7_seen: dict[tuple[str, int], tuple[int, int]] = {}

    def where(ri: int, di: int) -> str:
        return f"rooms[{ri}].devices[{di}] (room {rooms[ri].id}, device {rooms[ri].devices[di].id})"

    for ri, room in enumerate(rooms):
        first = room_seen.setdefault(room.id.casefold(), ri)
        if first != ri:
            same = "is" if rooms[first].id == room.id else "differs only by case from"
            problems.append(
                f"rooms[{ri}].id: {room.id!r} {same} rooms[{first}].id {rooms[first].id!r}"
            )
        for di, dev in enumerate(room.devices):
            here = (ri, di)
            at = f"rooms[{ri}].devices[{di}]"
            seen = device_seen.setdefault(dev.id.casefold(), here)
            if seen != here:
                problems.append(f"{at}.id: {dev.id!r} is already used by {where(*seen)}")
            if dev.port is not None and not dev.port.startswith(PRIVATE_URL_SCHEMES):
                seen = port_seen.setdefault(port_key(dev.port), here)
                if seen != here:
                    problems.append(f"{at}.port: {dev.port} is already used by {where(*seen)}")
            hl7 = dev.hl7
            if hl7 is not None and hl7.port != 0:  # port 0: any free port, never shared
                # One monitor's feed (connect) or one listening socket (listen) per device.
                seen = hl7_seen.setdefault((hl7.host.casefold(), hl7.port), here)
                if seen != here:
                    problems.append(
                        f"{at}.hl7: {hl7.host}:{hl7.port} is already used by {where(*seen)}"
                    )
            if dev.address is not None:
                seen = ble_seen.setdefault(ble_key(dev.address, dev.transport), here)
                if seen != here:
                    problems.append(
                        f"{at}.address: {dev.address} is already used by {where(*seen)}"
                    )
    return problems
