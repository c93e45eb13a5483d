"""Simulated serial devices: each turns `Vitals` into its protocol's real bytes.

They plug into the one runner (drivers.sim.runner.run_serial_sim). Devices that are spoken
to (SunTech; Contec's new protocol, which streams only after "start live") answer from the
bytes the host writes, as the real device would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from drivers import berrymed, contec, masimo, nonin, suntech
from drivers.sim.scenarios import Vitals

EXC_SENSOR_OFF = 0x000020
EXC_INTERFERENCE = 0x000010


def _int(v: float | None) -> int | None:
    return None if v is None else round(v)


@dataclass
class MasimoSim:
    tick_s: float = 1.0

    def emit(self, vitals: Vitals, now: float) -> bytes:
        device_time = time.strftime("%m/%d/%y %H:%M:%S", time.localtime(now))
        if vitals.probe_off:
            return masimo.encode_line(device_time, None, None, None, exc=EXC_SENSOR_OFF)
        return masimo.encode_line(
            device_time,
            vitals.spo2,
            vitals.pulse_rate,
            vitals.perfusion_index,
            exc=EXC_INTERFERENCE if vitals.motion else 0,
        )

    def receive(self, data: bytes, vitals: Vitals, now: float) -> bytes:
        return b""


@dataclass
class NoninSim:
    tick_s: float = 1 / 3  # 25 frames at 75 frames/s

    def emit(self, vitals: Vitals, now: float) -> bytes:
        if vitals.probe_off:
            return nonin.encode_packet(None, None, status=nonin.ST_SNSD | nonin.ST_OOT)
        status = nonin.ST_ARTF if vitals.motion else 0
        return nonin.encode_packet(_int(vitals.pulse_rate), _int(vitals.spo2), status=status)

    def receive(self, data: bytes, vitals: Vitals, now: float) -> bytes:
        return b""


@dataclass
class ContecLegacySim:
    tick_s: float = 0.1
    per_tick: int = 6  # ~60 packets/s

    def emit(self, vitals: Vitals, now: float) -> bytes:
        # These devices have no motion bit; during movement they show "searching".
        one = contec.encode_legacy(
            _int(vitals.pulse_rate),
            _int(vitals.spo2),
            probe_off=vitals.probe_off,
            searching=vitals.motion,
        )
        return one * self.per_tick

    def receive(self, data: bytes, vitals: Vitals, now: float) -> bytes:
        return b""


@dataclass
class BerryMedSim:
    tick_s: float = 0.1
    per_tick: int = 10  # 100 packets/s

    def emit(self, vitals: Vitals, now: float) -> bytes:
        one = berrymed.encode(
            _int(vitals.pulse_rate),
            _int(vitals.spo2),
            probe_off=vitals.probe_off,
            searching=vitals.motion,
        )
        return one * self.per_tick

    def receive(self, data: bytes, vitals: Vitals, now: float) -> bytes:
        return b""


@dataclass
class ContecNewSim:
    """Silent until the host sends "start live stream" (0xA1), as the real oximeter is."""

    tick_s: float = 0.1
    per_tick: int = 6
    streaming: bool = False
    commands: list[int] = field(default_factory=list)
    _buf: bytearray = field(default_factory=bytearray)

    def emit(self, vitals: Vitals, now: float) -> bytes:
        if not self.streaming:
            return b""
        if vitals.probe_off:
            one = contec.encode_live(None, None, probe_off=True)
        elif vitals.motion:
            one = contec.encode_live(None, None)
        else:
            one = contec.encode_live(_int(vitals.pulse_rate), _int(vitals.spo2))
        return one * self.per_tick

    def receive(self, data: bytes, vitals: Vitals, now: float) -> bytes:
        self._buf.extend(data)
        while len(self._buf) >= 9:
            start = self._buf.find(b"\x7d\x81")
            if start < 0:
                self._buf.clear()
                break
            del self._buf[:start]
            if len(self._buf) < 9:
                break
            cmd = self._buf[2] & 0x7F | 0x80
            del self._buf[:9]
            self.commands.append(cmd)
            if cmd == contec.CMD_START_LIVE:
                self.streaming = True
        return b""


@dataclass
class SunTechSim:
    """Answers the host's commands like the module; a cuff cycle takes `measure_s`."""

    tick_s: float = 0.05
    measure_s: float = 35.0
    commands: list[bytes] = field(default_factory=list)
    _parser: suntech.CommandParser = field(default_factory=suntech.CommandParser)
    _started: float | None = None
    _peak: float = 160.0
    _result: bytes = field(default_factory=lambda: suntech.encode_bp_data(0, 0, 0, 0, error=0))
    _pending: bytes = b""

    def _cuff(self, now: float) -> int:
        if self._started is None:
            return 0
        k = (now - self._started) / self.measure_s
        if k < 0.25:  # inflating
            return round(self._peak * k / 0.25)
        return max(0, round(self._peak * (1 - (k - 0.25) / 0.75)))

    def emit(self, vitals: Vitals, now: float) -> bytes:
        out = self._pending
        self._pending = b""
        if self._started is not None and now - self._started >= self.measure_s:
            self._started = None
            self._result = self._measure(vitals)
            out += suntech.encode_ack("K")
        return out

    @staticmethod
    def _measure(v: Vitals) -> bytes:
        if v.cuff_error or v.sbp is None or v.dbp is None:
            return suntech.encode_bp_data(0, 0, 0, 0, error=87)
        if v.motion:
            return suntech.encode_bp_data(0, 0, 0, 0, error=2)
        sbp, dbp = round(v.sbp), round(v.dbp)
        return suntech.encode_bp_data(
            sbp, dbp, round(dbp + (sbp - dbp) / 3), round(v.pulse_rate or 0)
        )

    def receive(self, data: bytes, vitals: Vitals, now: float) -> bytes:
        out = b""
        for body in self._parser.feed(data):
            if body is None:
                out += suntech.encode_ack("D")
                continue
            self.commands.append(body)
            if body in suntech.START_MODES.values():
                if self._started is not None:
                    out += suntech.encode_ack("B")
                else:
                    self._started = now
                    self._peak = (vitals.sbp or 120.0) + 30
                    out += suntech.encode_ack("O")
            elif body == suntech.GET_CUFF_PRESSURE:
                out += suntech.encode_cuff_pressure(self._cuff(now))
            elif body == suntech.GET_BP_DATA:
                out += self._result
            elif body == suntech.ABORT:
                self._started = None
                out += suntech.encode_ack("O")
                self._pending += suntech.encode_ack("A")
            elif body == suntech.GET_RETURN_STRING:
                out += suntech.encode_response(b"LX SIM 1.0".ljust(0x40, b"\x00"))
            elif body == suntech.RESET:
                self._started = None
            else:
                out += suntech.encode_ack("O")
        return out
