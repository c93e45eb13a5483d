"""HL7 devices in the config (`protocol = "hl7"` with an `[hl7]` table) and their start-up.

    [[rooms.devices]]
    id = "A-monitor"
    protocol = "hl7"
    hl7 = { mode = "listen", host = "0.0.0.0", port = 2575, vendor = "mindray",
            mapping = { "MDC:151594" = "resp_rate", "999" = "ignore" } }

`mode = "listen"`: Vigil listens and the monitor connects (most monitors and gateways);
`mode = "connect"`: Vigil connects to a monitor that serves. With `simulate = {...}` instead
of a real monitor, a simulated monitor sends real ORU^R01 messages to a listener on a free
loopback port.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from drivers.hl7.codes import CONDITIONS, IGNORE, TARGETS, VENDOR_LOCAL, VENDORS

HL7_PROTOCOL = "hl7"
SIM_OPTIONS = frozenset({"vendor", "bp_interval_s", "ack_mode"})
SIM_VENDORS = frozenset({"mdc", "mindray"})  # the code sets the simulator speaks


class Hl7Config(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    mode: Literal["listen", "connect"] = "listen"
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(2575, ge=0, le=65535)
    # A vendor-local OBX code table (drivers/hl7/codes.py); MDC and LOINC always apply.
    vendor: str | None = None
    # OBX identifier -> channel ("code", "SYSTEM:code" or the reference id), "ignore", or
    # a device condition ("co2_line_blocked": a vendor's own code for a blocked CO2 line).
    mapping: dict[str, str] = Field(default_factory=dict)
    # Key for a pseudonym of the monitor's patient id (PID-3); without it nothing is kept.
    pseudonym_key: str | None = Field(None, min_length=16)
    # The monitor reports respiration: its silence is `resp_stale`.
    respiration: bool = True

    @field_validator("vendor")
    @classmethod
    def _known_vendor(cls, v: str | None) -> str | None:
        if v is not None and v not in VENDORS:
            raise ValueError(f"unknown vendor {v!r}; known: {', '.join(sorted(VENDORS))}")
        return v

    @model_validator(mode="after")
    def _known_channels(self) -> Hl7Config:
        # On the model, so the message's "mapping.<code>" joins the field's location.
        for key, name in self.mapping.items():
            if name != IGNORE and name not in TARGETS and name not in CONDITIONS:
                known = ", ".join([*sorted(TARGETS), *sorted(CONDITIONS), IGNORE])
                raise ValueError(f"mapping.{key}: unknown channel {name!r}; known: {known}")
        return self


def check_hl7_device(dc: Any) -> None:
    """The DeviceConfig rules for an HL7 device (ValueError naming the field)."""
    for name in ("port", "address", "transport", "baudrate"):
        if getattr(dc, name) is not None:
            raise ValueError(f"{name}: an HL7 device is configured in its 'hl7' table")
    if dc.options:
        raise ValueError("options: an HL7 device is configured in its 'hl7' table")
    if dc.hl7 is None and dc.simulate is None:
        raise ValueError("hl7: give the 'hl7' table (mode, host, port) or 'simulate'")
    if dc.simulate is not None:
        unknown = set(dc.simulate.device_options) - SIM_OPTIONS
        if unknown:
            raise ValueError(
                f"simulate.device_options: unknown {sorted(unknown)}; "
                f"known: {', '.join(sorted(SIM_OPTIONS))}"
            )
        sim_vendor = dc.simulate.device_options.get("vendor", "mdc")
        if sim_vendor not in SIM_VENDORS:
            raise ValueError(
                f"simulate.device_options.vendor: {sim_vendor!r}; known: "
                f"{', '.join(sorted(SIM_VENDORS))}"
            )


def resp_sources(devices: list[Any]) -> list[str]:
    """HL7 devices that report respiration (for `resp_stale` before their first value)."""
    return [
        dc.id
        for dc in devices
        if dc.protocol == HL7_PROTOCOL and (dc.hl7 is None or dc.hl7.respiration)
    ]


def build_hl7_device(dc: Any, clock: Any) -> tuple[Any, list[Callable[[], Awaitable[None]]]]:
    """The driver for an HL7 device, and the simulator's task factories when it is simulated
    (factories: the supervisor calls one again after a failure)."""
    from drivers.hl7.decoder import Hl7Decoder
    from drivers.hl7.driver import Hl7Driver
    from drivers.sim.hl7 import Hl7MonitorSim
    from drivers.sim.scenarios import scenario

    cfg: Hl7Config = dc.hl7 or Hl7Config(port=0)
    sims: list[Callable[[], Awaitable[None]]] = []
    mode, host, port = cfg.mode, cfg.host, cfg.port
    vendor = cfg.vendor
    if dc.simulate is not None:
        mode, host, port = "listen", "127.0.0.1", 0  # the sim calls a free loopback port
        # A simulated vendor's local codes are read with that vendor's table.
        sim_vendor = dc.simulate.device_options.get("vendor")
        vendor = vendor or (sim_vendor if sim_vendor in VENDOR_LOCAL else None)
    decoder = Hl7Decoder(dc.id, vendor=vendor, mapping=cfg.mapping, pseudonym_key=cfg.pseudonym_key)
    driver = Hl7Driver(decoder, source=dc.id, mode=mode, host=host, port=port, clock=clock)
    if dc.simulate is not None:
        opts = dc.simulate.device_options
        ack_mode = opts.get("ack_mode", ["", ""])
        sim = Hl7MonitorSim(
            scenario(dc.simulate.scenario, dc.simulate.options),
            interval_s=dc.simulate.interval_s or 1.0,
            bp_interval_s=float(opts.get("bp_interval_s", 60.0)),
            vendor=str(opts.get("vendor", "mdc")),
            ack_mode=(str(ack_mode[0]), str(ack_mode[1])),
            clock=clock,
        )

        async def bound_port() -> int:
            await driver.listening.wait()
            assert driver.bound_port is not None
            return driver.bound_port

        sims.append(partial(sim.connect, "127.0.0.1", bound_port))
    return driver, sims
