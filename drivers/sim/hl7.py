"""A simulated bedside monitor that sends real HL7 v2.6 ORU^R01 messages over MLLP.

Driven by the same scenarios as every other simulator (`drivers.sim.scenarios`). Codes are
the MDC ones of IHE PCD-01 (or Mindray's legacy ids with `vendor="mindray"`); NIBP is sent
every `bp_interval_s`. A blocked CO2 sampling line is reported as monitors report technical
alerts, an IHE PCD-04 ORU^R40 when it starts and when it ends. The sim connects to Vigil's
listener (`connect`) or serves Vigil's client (`serve`), waits for each ACK and keeps the
MSA codes it got (tests read them).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import hl7
from hl7.mllp import open_hl7_connection, start_hl7_server
from hl7.mllp.streams import MLLPStreamReader, MLLPStreamWriter

from drivers.hl7.mdc import (
    ATTR_ALARM_STATE,
    ATTR_ALERT_SOURCE,
    ATTR_EVENT_PHASE,
    EVT_ALARM,
    METRICS,
    PROFILE_ACM,
)
from drivers.sim.scenarios import Scenario, Vitals

ACK_TIMEOUT_S = 5.0

# channel: (MDC code^refid, unit code^refid), the codes Vigil's PCD-01 output sends too.
_MDC = {ch: (m.identifier, m.units) for ch, m in METRICS.items()} | {
    "apnea": ("199680^MDC_EVT_APNEA^MDC", ""),
}
_MINDRAY = {
    "spo2": ("160^SpO2", "%"),
    "pulse_rate": ("161^PR", "bpm"),
    "resp_rate": ("151^RR", "rpm"),
    "etco2": ("250^EtCO2", "mmHg"),
    "sbp": ("170^Sys", "mmHg"),
    "dbp": ("171^Dia", "mmHg"),
    "map": ("172^Mean", "mmHg"),
}


def _ts(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y%m%d%H%M%S+0000")


def oru_r01(
    vitals: Vitals,
    t: float,
    control_id: str,
    *,
    with_bp: bool = False,
    vendor: str = "mdc",
    patient_id: str = "SIM-0001",
    ack_mode: tuple[str, str] = ("", ""),
) -> str:
    """One ORU^R01 with the numerics a monitor would report at `t`."""
    codes = _MINDRAY if vendor == "mindray" else _MDC
    values: dict[str, float | None] = {
        "spo2": vitals.spo2,
        "pulse_rate": vitals.pulse_rate,
        "resp_rate": vitals.resp_rate,
        "etco2": vitals.etco2,
        "apnea": 1.0 if vitals.apnea else 0.0,
    }
    if vitals.probe_off:
        values["spo2"] = values["pulse_rate"] = None
    if with_bp and vitals.sbp is not None and vitals.dbp is not None:
        values.update(
            sbp=vitals.sbp, dbp=vitals.dbp, map=round(vitals.dbp + (vitals.sbp - vitals.dbp) / 3)
        )
    accept, app = ack_mode
    segments = [
        f"MSH|^~\\&|SIMMON^SIM|ICU|VIGIL|CLINIC|{_ts(t)}||ORU^R01^ORU_R01|{control_id}|P|2.6"
        f"|||{accept}|{app}||UNICODE UTF-8",
        f"PID|||{patient_id}^^^SIM^MR||TEST^PATIENT",
        f"OBR|1|||182777000^monitoring of patient^SCT|||{_ts(t)}",
    ]
    n = 0
    for channel, value in values.items():
        if channel not in codes:
            continue
        n += 1
        ident, unit = codes[channel]
        shown = "" if value is None else f"{value:g}"
        status = "X" if value is None else "F"
        segments.append(f"OBX|{n}|NM|{ident}|1.{n}|{shown}|{unit}|||||{status}|||{_ts(t)}")
    return "\r".join(segments) + "\r"


def oru_r40_co2_line(
    active: bool,
    t: float,
    control_id: str,
    *,
    since: float,
    text: str = "CO2 Occlusion",
    ack_mode: tuple[str, str] = ("", ""),
) -> str:
    """An IHE PCD-04 technical alert: the CO2 sampling line blocked (start) or clear (end).
    `since` names the episode (OBR-2/3 alike in its start and end); `text` is the words the
    monitor shows (Philips: "CO2 Occlusion")."""
    accept, app = ack_mode
    alert = f"CO2LINE-{round(since)}^SIMMON"
    phase, state = ("start", "active") if active else ("end", "inactive")
    base = f"1.{METRICS['etco2'].vmd}.1"
    segments = [
        f"MSH|^~\\&|SIMMON^SIM|ICU|VIGIL|CLINIC|{_ts(t)}||ORU^R40^ORU_R40|{control_id}|P|2.6"
        f"|||{accept}|{app}||UNICODE UTF-8|||{PROFILE_ACM}",
        "PID|||SIM-0001^^^SIM^MR||TEST^PATIENT",
        f"OBR|1|{alert}|{alert}|{EVT_ALARM}|||{_ts(since)}",
        f"OBX|1|ST|{EVT_ALARM}|{base}.1|{text}|||PM~ST|||F|||{_ts(t)}",
        f"OBX|2|CWE|{ATTR_ALERT_SOURCE}|{base}.2|{METRICS['etco2'].identifier}||||||F",
        f"OBX|3|ST|{ATTR_EVENT_PHASE}|{base}.3|{phase}||||||F",
        f"OBX|4|ST|{ATTR_ALARM_STATE}|{base}.4|{state}||||||F",
    ]
    return "\r".join(segments) + "\r"


@dataclass
class Hl7MonitorSim:
    """Sends one ORU^R01 every `interval_s` from the scenario, over one MLLP connection."""

    scenario: Scenario
    interval_s: float = 1.0
    bp_interval_s: float = 60.0
    vendor: str = "mdc"
    ack_mode: tuple[str, str] = ("", "")
    clock: Callable[[], float] = time.time
    acks: list[str] = field(default_factory=list)  # MSA-1 of every reply received
    sent: int = 0

    async def converse(self, reader: MLLPStreamReader, writer: MLLPStreamWriter) -> None:
        """Send messages forever on this connection, each followed by its ACK(s)."""
        start = self.clock()
        last_bp: float | None = None
        blocked_since: float | None = None
        while True:
            now = self.clock()
            vitals = self.scenario(now - start)
            if not vitals.connected:
                return  # the monitor is unplugged: drop the connection
            if vitals.co2_line_blocked != (blocked_since is not None):
                since = now if blocked_since is None else blocked_since
                blocked_since = now if vitals.co2_line_blocked else None
                self.sent += 1
                alert = oru_r40_co2_line(vitals.co2_line_blocked, now, f"SIM{self.sent}",
                                         since=since, ack_mode=self.ack_mode)  # fmt: skip
                await self._send(reader, writer, alert)
            with_bp = last_bp is None or now - last_bp >= self.bp_interval_s
            if with_bp:
                last_bp = now
            self.sent += 1
            msg = oru_r01(vitals, now, f"SIM{self.sent}", with_bp=with_bp, vendor=self.vendor,
                          ack_mode=self.ack_mode)  # fmt: skip
            await self._send(reader, writer, msg)
            await asyncio.sleep(self.interval_s)

    async def _send(self, reader: MLLPStreamReader, writer: MLLPStreamWriter, msg: str) -> None:
        """One message, then the ACK(s) the ack mode asks for."""
        writer.writeblock(msg.encode())
        await writer.drain()
        for _ in range(max(1, sum(1 for m in self.ack_mode if m == "AL"))):
            async with asyncio.timeout(ACK_TIMEOUT_S):
                block = await reader.readblock()
            self.acks.append(str(hl7.parse(block.decode()).segment("MSA")(1)))

    async def connect(self, host: str, port: int | Callable[[], Awaitable[int]]) -> None:
        """Connect to Vigil's listener (retrying while it is not up) and send."""
        while True:
            target = port if isinstance(port, int) else await port()
            try:
                reader, writer = await open_hl7_connection(host, target)
            except OSError:
                await asyncio.sleep(0.5)
                continue
            try:
                await self.converse(reader, writer)
            except (ConnectionError, OSError, asyncio.IncompleteReadError, TimeoutError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    writer.close()
            await asyncio.sleep(0.5)

    async def serve(self, host: str, port: int, ready: Callable[[int], None] | None = None) -> None:
        """Serve Vigil's client mode: every connection gets the scenario's messages."""

        writers: set[MLLPStreamWriter] = set()

        async def session(reader: MLLPStreamReader, writer: MLLPStreamWriter) -> None:
            writers.add(writer)
            with contextlib.suppress(ConnectionError, OSError, asyncio.IncompleteReadError,
                                     TimeoutError):  # fmt: skip
                await self.converse(reader, writer)
            writers.discard(writer)
            writer.close()

        server = await start_hl7_server(session, host, port)
        if ready is not None:
            ready(server.sockets[0].getsockname()[1])
        try:
            async with server:
                await server.serve_forever()
        finally:
            for writer in writers:  # the monitor going away drops its connections too
                writer.close()
