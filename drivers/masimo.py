"""Masimo Rad-8 / Radical-7 / Radical-5 "ASCII 1" serial output (protocols.md §5).

One line per second: `MM/DD/YY HH:MM:SS` then `KEY=value` tokens. Parse by key, never by
column: the field set varies by model, firmware and licence. Dashes mean "no value".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from drivers.values import plausible, reading
from monitor.core.models import Channel, Flag, Reading

PROTOCOL_ID = "masimo-ascii"
MAX_LINE = 512  # a real line is ~120 chars; anything longer is noise without a newline

# EXC exception bits (hex bit field).
EXC_FLAGS: tuple[tuple[int, str], ...] = (
    (0x000001, Flag.PROBE_OFF),  # no sensor
    (0x000002, Flag.SENSOR_FAULT),  # defective sensor
    (0x000004, Flag.LOW_PERFUSION),
    (0x000008, Flag.SEARCHING),  # pulse search
    (0x000010, Flag.INTERFERENCE),
    (0x000020, Flag.PROBE_OFF),  # sensor off
    (0x000040, Flag.INTERFERENCE),  # ambient light
    (0x000080, Flag.SENSOR_FAULT),  # unrecognized sensor
    (0x000100, Flag.SENSOR_FAULT),  # incompatible sensor
    (0x000400, Flag.LOW_SIGNAL_QUALITY),  # low signal IQ
    (0x001000, Flag.PROBE_OFF),  # no cable
    (0x002000, Flag.SENSOR_FAULT),  # cable life expired
    (0x004000, Flag.SENSOR_FAULT),  # incompatible cable
    (0x008000, Flag.SENSOR_FAULT),  # unrecognized cable
    (0x010000, Flag.SENSOR_FAULT),  # defective cable
    (0x020000, Flag.SEARCHING),  # sensor calibrating
    (0x040000, Flag.SENSOR_FAULT),  # sensor life expired
    (0x080000, Flag.SENSOR_FAULT),  # emitter temperature out of range
    (0x100000, Flag.SENSOR_FAULT),  # sensor current limit exceeded
    # 0x000800 "Masimo SET" is normal; 0x200000/0x400000 (SpCO/SpMET low confidence) concern
    # channels Vigil does not read. Unknown bits are never a reason to reject (§0 rule 6).
)
# ALARM bits: the bedside device's own alarm state, kept as information.
ALARM_FLAGS: tuple[tuple[int, str], ...] = (
    (0x0010, Flag.DEVICE_ALARM),
    (0x0020, Flag.ALARM_SILENCED),
    (0x0040, Flag.LOW_BATTERY),
)
KEY_CHANNEL = {"SPO2": Channel.SPO2, "BPM": Channel.PULSE_RATE, "PI": Channel.PERFUSION_INDEX}


@dataclass(frozen=True, slots=True)
class MasimoLine:
    device_time: str
    fields: dict[str, str]


def parse_value(text: str) -> float | None | str:
    """A Masimo number, None for dashes, or the string "bad" for anything else."""
    body = text[:-1] if text.endswith("%") else text
    digits = body[1:] if body[:1] in "+-" and len(body) > 1 else body
    if not digits:
        return "bad"
    if "-" in digits:
        return None
    try:
        return float(body)
    except ValueError:
        return "bad"


def _valid_prefix(line: str) -> bool:
    if len(line) < 17:
        return False
    p = line[:17]
    return (
        p[2] == "/"
        and p[5] == "/"
        and p[8] == " "
        and p[11] == ":"
        and p[14] == ":"
        and all(p[i].isdigit() for i in (0, 1, 3, 4, 6, 7, 9, 10, 12, 13, 15, 16))
    )


def parse_line(line: str) -> MasimoLine | str:
    """Split one line into its device time and KEY=value fields, or return a drop reason."""
    if not _valid_prefix(line):
        return "bad_prefix"
    fields: dict[str, str] = {}
    for token in line[17:].split():
        key, sep, value = token.partition("=")
        if not sep or not key:
            return "bad_token"
        fields[key.upper()] = value
    if "SPO2" not in fields and "BPM" not in fields:
        return "no_values"
    return MasimoLine(device_time=line[:17], fields=fields)


def _hex_flags(text: str | None, table: tuple[tuple[int, str], ...]) -> frozenset[str] | None:
    if text is None:
        return frozenset()
    try:
        bits = int(text, 16)
    except ValueError:
        return None
    return frozenset(flag for mask, flag in table if bits & mask)


@dataclass
class MasimoDecoder:
    """Incremental decoder: bytes in, one set of readings per valid line out."""

    source: str = "masimo"
    protocol_id: str = PROTOCOL_ID
    dropped: Counter[str] = field(default_factory=Counter)
    frames: int = 0
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes, t: float) -> list[Reading]:
        self._buf.extend(data)
        out: list[Reading] = []
        while True:
            idx = min(
                (i for i in (self._buf.find(b"\n"), self._buf.find(b"\r")) if i >= 0), default=-1
            )
            if idx < 0:
                if len(self._buf) > MAX_LINE:
                    self.dropped["overlong"] += 1
                    self._buf.clear()
                return out
            raw = bytes(self._buf[:idx])
            del self._buf[: idx + 1]
            if not raw.strip():
                continue  # the other half of CR LF / LF CR
            out.extend(self.decode_line(raw, t))

    def decode_line(self, raw: bytes, t: float) -> list[Reading]:
        try:
            line = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            self.dropped["not_ascii"] += 1
            return []
        parsed = parse_line(line)
        if isinstance(parsed, str):
            self.dropped[parsed] += 1
            return []
        exc = _hex_flags(parsed.fields.get("EXC"), EXC_FLAGS)
        alarm = _hex_flags(parsed.fields.get("ALARM"), ALARM_FLAGS)
        if exc is None or alarm is None:
            self.dropped["bad_status"] += 1
            return []
        status = exc | alarm
        values: dict[str, float | None] = {}
        for key, channel in KEY_CHANNEL.items():
            if key not in parsed.fields:
                continue
            value = parse_value(parsed.fields[key])
            if isinstance(value, str):
                self.dropped["bad_number"] += 1
                return []
            if value is not None and not plausible(channel, value):
                self.dropped["implausible"] += 1
                return []
            values[channel] = value
        self.frames += 1
        # Dashes give None + INVALID (plus whatever EXC says about why).
        return [
            reading(t, channel, value, status, source=self.source, device_time=parsed.device_time)
            for channel, value in values.items()
        ]


def encode_line(
    device_time: str,
    spo2: float | None,
    pulse_rate: float | None,
    perfusion_index: float | None,
    exc: int = 0,
    alarm: int = 0,
    serial_number: str = "----------",
) -> bytes:
    """The Rad-8 ASCII 1 line for these values (dashes for None), ending CR LF."""
    spo2_s = "---" if spo2 is None else f"{round(spo2):03d}"
    bpm_s = "---" if pulse_rate is None else f"{round(pulse_rate):03d}"
    pi_s = "--.--" if perfusion_index is None else f"{perfusion_index:05.2f}"
    return (
        f"{device_time} SN={serial_number} SPO2={spo2_s}% BPM={bpm_s} PI={pi_s}% "
        f"SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM={alarm:04X} EXC={exc:06X}\r\n"
    ).encode("ascii")
