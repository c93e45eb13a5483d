"""SunTech Advantage OEM NIBP module, serial (protocols.md §9).

Host → module: `3A cmd… CHK` (no length byte). Module → host: `3E LEN data… CHK`, LEN the
whole frame length. CHK makes the sum of all frame bytes 0 mod 256. Error codes are decimal
numbers in the byte (code 85 is 0x55): Appciton's isResult() compares with 0x85 and is wrong.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass, field

from drivers.values import reading, with_pressure_check
from monitor.core.models import Channel, Flag, Reading

PROTOCOL_ID = "suntech"
HOST_SOM = 0x3A
MODULE_SOM = 0x3E
MIN_LEN = 4
MAX_LEN = 0x43
LEN_ACK = 4
LEN_CUFF = 5
LEN_BP = 0x18

START_ADULT = bytes((0x20,))
START_PAEDIATRIC = bytes((0x87,))
START_NEONATE = bytes((0x28,))
START_MODES = {"adult": START_ADULT, "paediatric": START_PAEDIATRIC, "neonate": START_NEONATE}
ABORT = bytes((0x79, 0x01, 0x00))
GET_CUFF_PRESSURE = bytes((0x79, 0x05, 0x00))
GET_BP_DATA = bytes((0x79, 0x03, 0x00))
GET_RETURN_STRING = bytes((0x79, 0x02, 0x40))
RESET = bytes((0x8A,))

#: Acknowledgement data bytes.
ACKS = {
    "O": "received",
    "K": "executed",
    "A": "aborted",
    "B": "busy",
    "E": "error",
    "N": "undefined command",
    "D": "unrecognisable",
    "S": "sleep",
    "T": "timeout",
}

#: Error codes, decimal as SunTech numbers them; the byte holds that number.
ERROR_CODES: dict[int, str] = {
    1: "weak or no signal",
    2: "erratic signal / excessive motion",
    3: "out of range",
    4: "measurement timeout",
    85: "pneumatic blockage",
    86: "aborted by user",
    87: "inflate timeout / air leak / loose cuff",
    88: "safety timeout",
    89: "cuff over-pressure",
    90: "power supply out of range or hardware fault",
    91: "permission problem (safety override / auto-zero out of range)",
    97: "transducer out of range",
    99: "EEPROM calibration data failure",
}
ERROR_FLAGS: dict[int, frozenset[str]] = {
    1: frozenset({Flag.LOW_SIGNAL_QUALITY}),
    2: frozenset({Flag.MOTION}),
    87: frozenset({Flag.CUFF_LOOSE}),
}


def chk(data: bytes) -> int:
    return (-sum(data)) & 0xFF


def encode_command(body: bytes) -> bytes:
    """Host → module frame: 0x3A, the command bytes, the checksum."""
    frame = bytes((HOST_SOM,)) + body
    return frame + bytes((chk(frame),))


def encode_response(data: bytes) -> bytes:
    """Module → host frame: 0x3E, LEN, data, checksum."""
    frame = bytes((MODULE_SOM, len(data) + 3)) + data
    return frame + bytes((chk(frame),))


def encode_ack(code: str) -> bytes:
    return encode_response(code.encode("ascii"))


def encode_cuff_pressure(mmhg: int | None) -> bytes:
    return encode_response(struct.pack("<h", -1 if mmhg is None else mmhg))


def encode_bp_data(
    sbp: int, dbp: int, mean: int, hr: int, *, error: int = 0, beats: int = 8, status: int = 0
) -> bytes:
    data = struct.pack(
        "<HHBB8sHHB2s", sbp, dbp, beats, status, bytes(8), hr, mean, error & 0xFF, bytes(2)
    )
    return encode_response(data)


@dataclass(frozen=True, slots=True)
class Ack:
    code: str  # the ASCII letter; unknown letters kept as sent

    @property
    def meaning(self) -> str:
        return ACKS.get(self.code, "unknown")


@dataclass(frozen=True, slots=True)
class CuffPressure:
    mmhg: int | None  # None where the module sends -1


@dataclass(frozen=True, slots=True)
class BPResult:
    sbp: int
    dbp: int
    mean: int
    hr: int
    beats: int
    bp_status: int
    test_codes: bytes
    error_code: int

    @property
    def ok(self) -> bool:
        return self.error_code == 0

    @property
    def error_text(self) -> str:
        return ERROR_CODES.get(self.error_code, f"unknown error code {self.error_code}")

    @property
    def flags(self) -> frozenset[str]:
        if self.ok:
            return frozenset()
        return frozenset({Flag.CUFF_ERROR}) | ERROR_FLAGS.get(self.error_code, frozenset())


@dataclass(frozen=True, slots=True)
class Other:
    data: bytes  # a reply of another length (return string, status): kept raw


Response = Ack | CuffPressure | BPResult | Other


def decode_response(frame: bytes) -> Response | None:
    """A validated frame (SOM..CHK) → its meaning; None when LEN does not fit its kind."""
    data = frame[2:-1]
    n = len(frame)
    if n == LEN_ACK:
        return Ack(chr(data[0]))
    if n == LEN_CUFF:
        (p,) = struct.unpack("<h", data)
        return CuffPressure(None if p == -1 else p)
    if n == LEN_BP:
        sbp, dbp, beats, st, tc, hr, mean, err, _ = struct.unpack("<HHBB8sHHB2s", data)
        return BPResult(sbp, dbp, mean, hr, beats, st, tc, err)
    return Other(bytes(data))


@dataclass
class SunTechDecoder:
    """Incremental decoder for module → host frames."""

    source: str = "suntech"
    protocol_id: str = PROTOCOL_ID
    dropped: Counter[str] = field(default_factory=Counter)
    frames: int = 0
    _buf: bytearray = field(default_factory=bytearray)

    def feed_responses(self, data: bytes) -> list[Response]:
        self._buf.extend(data)
        buf = self._buf
        out: list[Response] = []
        pos = 0
        skipped = 0
        while pos < len(buf):
            if buf[pos] != MODULE_SOM:
                pos += 1
                skipped += 1
                continue
            if pos + 1 >= len(buf):
                break
            length = buf[pos + 1]
            if not MIN_LEN <= length <= MAX_LEN:
                self.dropped["bad_length"] += 1
                pos += 1
                continue
            if pos + length > len(buf):
                break  # wait for the rest of the frame
            frame = bytes(buf[pos : pos + length])
            if sum(frame) & 0xFF:
                self.dropped["bad_checksum"] += 1
                pos += 1
                continue
            pos += length
            self.frames += 1
            resp = decode_response(frame)
            if resp is not None:
                out.append(resp)
        if skipped:
            self.dropped["resync_bytes"] += skipped
        del buf[:pos]
        return out

    def readings(self, resp: Response, t: float) -> list[Reading]:
        src = self.source
        if isinstance(resp, CuffPressure):
            return [reading(t, Channel.CUFF_PRESSURE, resp.mmhg, source=src)]
        if isinstance(resp, BPResult):
            st = resp.flags

            def v(x: int) -> int | None:
                return x if resp.ok else None  # error code ≠ 0: every value invalid

            return with_pressure_check(
                [
                    reading(t, Channel.SBP, v(resp.sbp), st, source=src, invalid=(0.0,)),
                    reading(t, Channel.DBP, v(resp.dbp), st, source=src, invalid=(0.0,)),
                    reading(t, Channel.MAP, v(resp.mean), st, source=src, invalid=(0.0,)),
                    reading(t, Channel.PULSE_RATE, v(resp.hr), st, source=src, invalid=(0.0,)),
                ]
            )
        return []

    def feed(self, data: bytes, t: float) -> list[Reading]:
        out: list[Reading] = []
        for resp in self.feed_responses(data):
            out.extend(self.readings(resp, t))
        return out


#: Host command lengths by first byte (there is no length byte on host frames).
COMMAND_LENGTHS: dict[int, int] = {0x20: 1, 0x87: 1, 0x28: 1, 0x8A: 1, 0x79: 3, 0x17: 3, 0x0C: 4}


@dataclass
class CommandParser:
    """Module side (the simulator): host bytes in, command bodies out; bad frames counted."""

    dropped: Counter[str] = field(default_factory=Counter)
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[bytes | None]:
        """Command bodies; None for a frame the module could not recognise (answer 'D'/'N')."""
        self._buf.extend(data)
        buf = self._buf
        out: list[bytes | None] = []
        pos = 0
        while pos < len(buf):
            if buf[pos] != HOST_SOM:
                pos += 1
                continue
            if pos + 1 >= len(buf):
                break
            n = COMMAND_LENGTHS.get(buf[pos + 1])
            if n is None:
                self.dropped["unknown_command"] += 1
                out.append(None)
                pos += 2
                continue
            if pos + 2 + n > len(buf):
                break
            frame = bytes(buf[pos : pos + 2 + n])
            pos += 2 + n
            if sum(frame) & 0xFF:
                self.dropped["bad_checksum"] += 1
                out.append(None)
                continue
            out.append(frame[1:-1])
        del buf[:pos]
        return out
