"""Every protocol Vigil speaks, in one table: id → how to decode and connect it.

The CLI (`vigil decode`, `vigil simulate`), the config validator and the runtime all read
this table, so a protocol added here is available everywhere. BLE protocols register with
transport "ble" and input "hex-lines" (one characteristic value per feed call); see
`register()`. Their simulators are listed apart, in drivers.sim.registry: production
code never loads the simulators.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from drivers.base import StreamDecoder
from drivers.quality import CHECKED, QualityGated, QualityPolicy

Transport = Literal["serial", "ble", "mllp"]
InputMode = Literal["bytes", "hex-lines"]


@dataclass(frozen=True, slots=True)
class ProtocolInfo:
    id: str
    description: str
    transport: Transport
    #: Builds a fresh decoder: decoder(source="room-A-ox") -> StreamDecoder.
    decoder: Callable[..., StreamDecoder]
    #: How `vigil decode` reads a file: raw bytes (serial) or hex, one record per line (BLE).
    input: InputMode = "bytes"
    baudrate: int | None = None
    parity: str = "N"  # pyserial parity letter: N, E, O
    #: Frames per second the device sends; above 1 the runtime throttles readings to ~1/s.
    frame_rate_hz: float = 1.0
    #: Builds the transport driver; None = drivers.serial_port.SerialDriver.
    driver: Callable[..., Any] | None = None
    #: Bytes to send on connect, and every keepalive_s while connected (serial).
    greeting: bytes | None = None
    keepalive: bytes | None = None
    keepalive_s: float = 5.0
    #: True when the driver can start a measurement (driver.start_measurement()).
    can_start_measurement: bool = False
    #: Option names a device config may set for this protocol's driver, with their types.
    options: Mapping[str, type] = field(default_factory=dict)
    #: True when each frame carries a check random bytes almost never pass (a checksum, a
    #: rigid text layout). Without one (sync bits only) a new stream must stay clean for a
    #: while before its values are used (drivers.quality).
    frame_check: bool = True

    @property
    def quality_policy(self) -> QualityPolicy:
        return CHECKED if self.frame_check else QualityPolicy()


PROTOCOLS: dict[str, ProtocolInfo] = {}


def register(info: ProtocolInfo) -> None:
    """Add (or replace) a protocol. BLE example (drivers/ble adds these at merge):

    register(ProtocolInfo("ble-2a35", "BLE Blood Pressure Measurement 0x2A35", "ble",
                          decoder=BloodPressureDecoder, input="hex-lines"))
    """
    PROTOCOLS[info.id] = info


def protocol_info(protocol_id: str) -> ProtocolInfo:
    """The protocol's entry; ValueError naming the known ids when it is not registered."""
    try:
        return PROTOCOLS[protocol_id]
    except KeyError:
        known = ", ".join(sorted(PROTOCOLS))
        raise ValueError(f"unknown protocol {protocol_id!r}; known: {known}") from None


def _serial_protocols() -> None:
    from drivers import berrymed, contec, masimo, nonin, suntech
    from drivers.suntech_driver import SunTechDriver

    for info in (
        ProtocolInfo(
            masimo.PROTOCOL_ID,
            "Masimo Rad-8 / Radical-7 / Radical-5 ASCII 1 serial output",
            "serial",
            decoder=masimo.MasimoDecoder,
            baudrate=9600,
        ),
        ProtocolInfo(
            nonin.PROTOCOL_ID,
            "Nonin OEM III / Xpod 3012 serial Data Format 2",
            "serial",
            decoder=nonin.NoninDecoder,
            baudrate=9600,
            frame_rate_hz=3.0,
        ),
        ProtocolInfo(
            contec.LEGACY_ID,
            "Contec CMS50 legacy 5-byte stream (19200 baud, odd parity)",
            "serial",
            decoder=contec.ContecLegacyDecoder,
            baudrate=19200,
            parity="O",
            frame_rate_hz=60.0,
            frame_check=False,
        ),
        ProtocolInfo(
            contec.NEW_ID,
            "Contec CMS50D+ (fw >= 4.6) / CMS50E/F/EW 9-byte live packets",
            "serial",
            decoder=contec.ContecNewDecoder,
            baudrate=115200,
            frame_rate_hz=60.0,
            frame_check=False,
            greeting=contec.command(contec.CMD_START_LIVE),
            keepalive=contec.command(contec.CMD_KEEPALIVE),
            keepalive_s=contec.KEEPALIVE_S,
        ),
        ProtocolInfo(
            berrymed.PROTOCOL_ID,
            "BerryMed BCI protocol V1.2 (BM1000 family), serial/USB",
            "serial",
            decoder=berrymed.BerryMedDecoder,
            baudrate=115200,
            frame_rate_hz=100.0,
            frame_check=False,
        ),
        ProtocolInfo(
            suntech.PROTOCOL_ID,
            "SunTech Advantage OEM NIBP module (request/response)",
            "serial",
            decoder=suntech.SunTechDecoder,
            baudrate=9600,
            driver=SunTechDriver,
            can_start_measurement=True,
            options={"poll_s": float, "measurement_timeout_s": float, "ack_timeout_s": float},
        ),
    ):
        register(info)


def _ble_protocols() -> None:
    # One characteristic value per feed() call; `vigil decode` reads them as hex lines.
    # The runtime starts BLE devices by profile (drivers.ble.factory, drivers.sim.ble_factory),
    # not through this table.
    from drivers.ble import DECODERS

    descriptions = {
        "ble-2a35": "BLE Blood Pressure Measurement 0x2A35",
        "ble-2a36": "BLE Intermediate Cuff Pressure 0x2A36",
        "ble-2a5e": "BLE PLX Spot-Check Measurement 0x2A5E",
        "ble-2a5f": "BLE PLX Continuous Measurement 0x2A5F",
        "ble-2a37": "BLE Heart Rate Measurement 0x2A37",
    }
    for pid, factory in DECODERS.items():
        register(
            # A record's integrity is the radio's CRC, below us: nothing in it to check.
            ProtocolInfo(
                pid,
                descriptions.get(pid, pid),
                "ble",
                decoder=factory,
                input="hex-lines",
                frame_check=False,
            )
        )


def _hl7_protocol() -> None:
    # `vigil decode --protocol hl7` reads an MLLP capture; the runtime starts HL7 devices from
    # their [hl7] table (monitor.hl7_device), not through this table's serial driver.
    from drivers.hl7 import PROTOCOL_ID
    from drivers.hl7.decoder import Hl7Decoder

    register(ProtocolInfo(PROTOCOL_ID, "HL7 v2 ORU^R01 over MLLP (bedside monitors)", "mllp",
                          decoder=Hl7Decoder))  # fmt: skip


_serial_protocols()
_ble_protocols()
_hl7_protocol()


def build_decoder(protocol_id: str, source: str, *, throttle: bool = True) -> StreamDecoder:
    """A decoder for live use: high-rate devices throttled to about one reading per second,
    behind a stream-quality gate (drivers.quality) that holds back values from noise."""
    from drivers.throttle import Throttled

    info = protocol_info(protocol_id)
    decoder = info.decoder(source=source)
    if info.driver is not None:
        return decoder  # its driver talks to the decoder's own methods (SunTech: checksummed)
    if throttle and info.frame_rate_hz > 1.0:
        decoder = Throttled(decoder)
    return QualityGated(decoder, info.quality_policy)


def build_serial_driver(
    protocol_id: str,
    port: str,
    source: str,
    *,
    baudrate: int | None = None,
    clock: Callable[[], float] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Any:
    """The transport driver for a serial protocol, with the protocol's line settings."""
    from drivers.serial_port import SerialDriver

    info = protocol_info(protocol_id)
    if info.transport != "serial":
        raise ValueError(f"protocol {protocol_id!r} is not a serial protocol")
    kwargs: dict[str, Any] = {
        "source": source,
        "baudrate": baudrate or info.baudrate or 9600,
        "parity": info.parity,
    }
    if clock is not None:
        kwargs["clock"] = clock
    decoder = build_decoder(protocol_id, source)
    if info.driver is not None:
        return info.driver(port, decoder, **kwargs, **dict(options or {}))
    return SerialDriver(
        port,
        decoder,
        greeting=info.greeting,
        keepalive=info.keepalive,
        keepalive_s=info.keepalive_s,
        **kwargs,
    )
