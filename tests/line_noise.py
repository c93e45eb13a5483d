"""What a serial line delivers when it is not a device talking: random bytes, and real
frames read at the wrong baud rate (a simple, documented UART model).

UART model (`misclocked`): the transmitter sends each byte as start bit 0, 8 data bits
LSB first, a parity bit when the line has parity, stop bit 1, back to back (the line idles
high between bursts). The receiver, clocked at another rate, waits for a falling edge,
samples the middle of each of its own bit periods (1.5, 2.5, ... bit times after the
edge) for 8 data bits (+ parity), then the stop bit; a stop bit read as 0 is a framing
error, which Linux delivers as byte 0x00 (termios without IGNPAR or PARMRK), as it does a
parity error when the port checks parity. Then it looks for the next falling edge from the
stop-bit sample on.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from drivers import suntech
from drivers.registry import protocol_info
from drivers.sim.devices import make_sim
from drivers.sim.scenarios import scenario


def random_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _bits(data: bytes, parity: str, idle_bits: int) -> list[int]:
    line: list[int] = []
    for b in data:
        bits = [(b >> i) & 1 for i in range(8)]
        line.append(0)
        line += bits
        if parity in "OE":
            ones = sum(bits)
            line.append((ones + (parity == "O")) & 1)
        line.append(1)
        line += [1] * idle_bits
    return line


def misclocked(
    data: bytes, tx_baud: int, rx_baud: int, *, parity: str = "N", idle_bits: int = 0
) -> bytes:
    """The bytes a receiver at `rx_baud` reads from `data` sent at `tx_baud` (model above)."""
    line = _bits(data, parity, idle_bits)
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
            pos += step
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


def device_output(protocol: str, seconds: float) -> bytes:
    """`seconds` of what the simulated device sends, its vitals wobbling as in the demo."""
    if protocol == "suntech":
        # Request/response: cuff pressures while measuring, then the result.
        return b"".join(suntech.encode_cuff_pressure(p) for p in range(0, 160, 2)) + (
            suntech.encode_bp_data(128, 82, 97, 71)
        ) * max(1, int(seconds / 5))
    sim = make_sim(protocol)
    if hasattr(sim, "streaming"):
        sim.streaming = True  # Contec's new protocol, after "start live stream"
    vitals: Callable[[float], object] = scenario("steady")
    out = bytearray()
    t = 0.0
    while t < seconds:
        out += sim.emit(vitals(t), 1_700_000_000.0 + t)
        t += sim.tick_s
    return bytes(out)


def wrong_baud_rates(protocol: str) -> list[int]:
    """Half, double and the neighbouring standard rates of the protocol's own."""
    own = protocol_info(protocol).baudrate or 9600
    standard = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400]
    near = [b for b in standard if b != own and own / 4 <= b <= own * 4]
    return sorted(set(near))
