"""What a serial line delivers when it is not a device talking: random bytes, and real
frames read at the wrong baud rate (a simple, documented UART model).

UART model (`misclocked`): the transmitter sends each byte as start bit 0, 8 data bits
LSB first, a parity bit when the line has parity, stop bit 1; the bytes of one burst (a
packet, a line) back to back, one burst per device period, the line idling high in
between. The receiver, clocked at another rate, waits for a falling edge, samples the
middle of each of its own bit periods (1.5, 2.5, ... bit times after the edge) for 8 data
bits (+ parity), then the stop bit; a stop bit read as 0 is a framing error, which Linux
delivers as byte 0x00 (termios without IGNPAR or PARMRK), as it does a parity error when
the port checks parity. Then it looks for the next falling edge from the stop-bit sample.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from drivers import berrymed, contec, suntech
from drivers.registry import protocol_info
from drivers.sim.registry import make_sim
from drivers.sim.scenarios import scenario


def random_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _bits(data: bytes, parity: str) -> list[int]:
    line: list[int] = []
    for b in data:
        bits = [(b >> i) & 1 for i in range(8)]
        line.append(0)
        line += bits
        if parity in "OE":
            line.append((sum(bits) + (parity == "O")) & 1)
        line.append(1)
    return line


def misclocked(
    bursts: list[bytes], tx_baud: int, rx_baud: int, *, parity: str = "N", period_s: float = 0.0
) -> bytes:
    """The bytes a receiver at `rx_baud` reads from `bursts` sent at `tx_baud`, one burst
    every `period_s` (the line idles high in between; 0: back to back). Model above."""
    line = bytearray()
    slot = round(period_s * tx_baud)
    for burst in bursts:
        bits = _bits(burst, parity)
        line += bytes(bits) + b"\x01" * max(0, slot - len(bits))
    n = len(line)

    def level(pos: float) -> int:
        i = int(pos)
        return line[i] if i < n else 1

    r = tx_baud / rx_baud  # one receiver bit, in transmitter bit times
    step = r / 16  # the receiver looks for the start edge at 16x its bit rate
    frame_bits = 8 + (parity in "OE")
    out = bytearray()
    pos = 0.0
    while pos < n:
        if level(pos) == 1:
            # Idle: the first of the receiver's edge samples that falls on the next 0 bit.
            zero = line.find(0, int(pos))
            if zero < 0:
                break
            pos += max(1, math.ceil((zero - pos) / step)) * step
            continue
        value = 0
        for i in range(8):
            value |= level(pos + r * (1.5 + i)) << i
        parity_ok = True
        if parity in "OE":
            got = level(pos + r * 9.5)
            parity_ok = (bin(value).count("1") + got + (parity == "O")) % 2 == 0
        stop = pos + r * (frame_bits + 1.5)
        out.append(value if level(stop) == 1 and parity_ok else 0)
        pos = stop
        while pos < n and level(pos) == 0:  # a break or a misread: wait for the line to idle
            pos += step
    return bytes(out)


def _pleth(t: float) -> int:
    """A pulse waveform at 72/min: the one field of an oximeter packet that moves fast."""
    return int(50 + 40 * math.sin(2 * math.pi * 1.2 * t))


def device_bursts(protocol: str, seconds: float) -> tuple[list[bytes], float]:
    """`seconds` of what the device sends, as (bursts, seconds between bursts): streaming
    oximeters one packet per frame with a moving pleth; the others as their simulator
    emits (vitals wobbling as in the demo); SunTech a cuff cycle's answers."""
    info = protocol_info(protocol)
    if protocol == "suntech":
        answers = [suntech.encode_cuff_pressure(p) for p in range(0, 160, 2)]
        answers += [suntech.encode_bp_data(128, 82, 97, 71)] * max(1, int(seconds / 5))
        return answers, seconds / len(answers)
    packet = {
        berrymed.PROTOCOL_ID: lambda t: berrymed.encode(72, 97, pleth=_pleth(t)),
        contec.LEGACY_ID: lambda t: contec.encode_legacy(72, 97, pleth=_pleth(t)),
        contec.NEW_ID: lambda t: contec.encode_live(72, 97, pleth=_pleth(t)),
    }.get(protocol)
    if packet is not None:
        period = 1 / info.frame_rate_hz
        return [packet(i * period) for i in range(int(seconds / period))], period
    sim = make_sim(protocol)
    vitals: Callable[[float], object] = scenario("steady")
    ticks = int(seconds / sim.tick_s)
    bursts = [
        sim.emit(vitals(i * sim.tick_s), 1_700_000_000.0 + i * sim.tick_s) for i in range(ticks)
    ]
    return bursts, sim.tick_s


def device_output(protocol: str, seconds: float) -> bytes:
    return b"".join(device_bursts(protocol, seconds)[0])


def wrong_baud_rates(protocol: str) -> list[int]:
    """The standard rates from a quarter to four times the protocol's own."""
    own = protocol_info(protocol).baudrate or 9600
    standard = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400]
    return [b for b in standard if b != own and own / 4 <= b <= own * 4]
