"""BLE health profiles: pure characteristic decoders/encoders, the central link and driver.

`DECODERS` maps `vigil decode` protocol ids to decoder factories; each decoder takes ONE
characteristic value per `feed()` call (the CLI passes one hex line per call).
"""

from __future__ import annotations

from collections.abc import Callable

from drivers.base import StreamDecoder
from drivers.ble.bps import BloodPressureDecoder, CuffPressureDecoder
from drivers.ble.hrs import HeartRateDecoder
from drivers.ble.plx import PlxContinuousDecoder, PlxSpotCheckDecoder

DECODERS: dict[str, Callable[..., StreamDecoder]] = {
    "ble-2a35": BloodPressureDecoder,
    "ble-2a36": CuffPressureDecoder,
    "ble-2a5e": PlxSpotCheckDecoder,
    "ble-2a5f": PlxContinuousDecoder,
    "ble-2a37": HeartRateDecoder,
}

__all__ = ["DECODERS"]
