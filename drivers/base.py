"""The decoder interface every protocol implements, and its drop counters.

A decoder is pure: `feed(data, t)` takes bytes already received and the receive time, and
returns the readings decoded from every complete frame. It never raises on device input; a
bad frame is dropped whole and counted in `dropped` by reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from monitor.core.models import Reading


class StreamDecoder(Protocol):
    """Incremental decoder for one device's byte stream (serial) or records (BLE)."""

    # Read-only here so wrappers (drivers.throttle.Throttled) can forward them.
    @property
    def protocol_id(self) -> str: ...

    @property
    def dropped(self) -> Counter[str]:
        """Frames (or runs of bytes) dropped, by reason."""
        ...

    @property
    def frames(self) -> int:
        """Frames decoded successfully."""
        ...

    def feed(self, data: bytes, t: float) -> list[Reading]:
        """Decode every complete frame in `data` (plus what was buffered before)."""
        ...


@dataclass
class DecoderWrapper:
    """A decoder around another (throttle, quality gate): the inner decoder's id and
    counters stay the ones reported."""

    inner: StreamDecoder

    @property
    def protocol_id(self) -> str:
        return self.inner.protocol_id

    @property
    def dropped(self) -> Counter[str]:
        return self.inner.dropped

    @property
    def frames(self) -> int:
        return self.inner.frames
