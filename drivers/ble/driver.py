"""BleDriver: one BLE health device over any CentralLink (bleak in production, bumble in tests).

Connects, subscribes to every standard characteristic the peripheral offers (BPS 2A35/2A36,
PLXS 2A5E/2A5F, HRS 2A37), reads the feature characteristics (2A49, 2A60) so status bits
the device does not support are ignored, decodes each value with the pure decoders and
emits Readings and DeviceStates like SerialDriver. Reconnects with backoff.

One device may be two monitors: multi-parameter spot-check monitors offer both the Blood
Pressure and the Pulse Oximeter service on one link. The core tells a cuff from an oximeter
by source (a source that sends pressure is a cuff, and a cuff's pulse rate never feeds the
oximeter's HR rules), so such a device reports its oximeter as `<source>/plx` and everything
else (the cuff, and heart rate as before) under `<source>`; a device with one of the two keeps
the single name `<source>`. It is the oximeter that moves because being a cuff is for good in
the core: a device first seen as a cuff alone, then with PLXS too, must not send oximeter
values under its cuff's name. Link states are reported for every source the device feeds.

Blood Pressure Measurements pass through `drivers.ble.bp_replay.BpReplayClassifier`: each is
held until its burst ends (`burst_gap_s` of quiet) and a record replayed from the cuff's
memory is emitted with Flag.STORED (the rule and its reasons are in that module).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable

from drivers.ble.bp_replay import BURST_GAP_S, BpReplayClassifier, Verdict
from drivers.ble.bps import (
    BloodPressureDecoder,
    BloodPressureMeasurement,
    CuffPressureDecoder,
    parse_bp_feature,
)
from drivers.ble.common import (
    BP_FEATURE_CHAR,
    BPM_CHAR,
    HRM_CHAR,
    ICP_CHAR,
    PLX_CONT_CHAR,
    PLX_FEATURES_CHAR,
    PLX_SPOT_CHAR,
    RecordDecoder,
    ShortRecord,
)
from drivers.ble.hrs import HeartRateDecoder
from drivers.ble.link import CentralLink, LinkError
from drivers.ble.plx import PlxContinuousDecoder, PlxSpotCheckDecoder, parse_plx_features
from drivers.stopping import stop_if_asked
from monitor.core.models import DeviceState, Flag, LinkState, Reading

log = logging.getLogger(__name__)

Emit = Callable[[Reading | DeviceState], None]
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 10.0
CONNECT_TIMEOUT_S = 10.0
SUBSCRIBED = (BPM_CHAR, ICP_CHAR, PLX_SPOT_CHAR, PLX_CONT_CHAR, HRM_CHAR)
#: The measurement characteristics of each service, by the simulator's profile names.
SERVICE_CHARS: dict[str, tuple[int, ...]] = {
    "bps": (BPM_CHAR, ICP_CHAR),
    "plxs": (PLX_SPOT_CHAR, PLX_CONT_CHAR),
    "hrs": (HRM_CHAR,),
}
OXIMETER_SUFFIX = "/plx"


def oximeter_source(source: str) -> str:
    """The oximeter's source name on a device that is also a cuff."""
    return source + OXIMETER_SUFFIX


def local_utc_offset(t: float) -> float:
    """The host's UTC offset at `t`: what a cuff's zoneless wall clock is assumed to keep."""
    return float(time.localtime(t).tm_gmtoff)


class BleDriver:
    """Read one BLE device forever; report link state; reconnect when the link drops."""

    def __init__(
        self,
        link: CentralLink,
        target: str,
        *,
        source: str,
        clock: Callable[[], float] = time.time,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        backoff_start_s: float = BACKOFF_START_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        burst_gap_s: float = BURST_GAP_S,
    ) -> None:
        self.link = link
        self.target = target
        self.source = source
        self.state = LinkState.DISCONNECTED
        self.detail = ""
        self.connect_timeout_s = connect_timeout_s
        self.backoff_start_s = backoff_start_s
        self.backoff_max_s = backoff_max_s
        self.characteristics: set[int] = set()  # what the peer offered at the last connect
        # Once seen offering both BPS and PLXS, the oximeter stays `<source>/plx` for good:
        # `<source>` may be a cuff in the core by then, and that cannot be undone.
        self.split = False
        self.connections = 0
        self._clock = clock
        self.decoders: dict[int, RecordDecoder] = {  # type: ignore[type-arg]
            BPM_CHAR: BloodPressureDecoder(source=source),
            ICP_CHAR: CuffPressureDecoder(source=source),
            PLX_SPOT_CHAR: PlxSpotCheckDecoder(source=source),
            PLX_CONT_CHAR: PlxContinuousDecoder(source=source),
            HRM_CHAR: HeartRateDecoder(source=source),
        }
        self.protocol_id = "ble"
        # One per device, kept across reconnects: it learns the cuff's clock offset and
        # remembers records already delivered.
        self.bp_replay: BpReplayClassifier[list[Reading]] = BpReplayClassifier(
            utc_offset=local_utc_offset, burst_gap_s=burst_gap_s
        )
        self._bp_timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # The runtime's device view reads `driver.port` and `driver.decoder.frames/.dropped`
    # (written for SerialDriver); these keep that view working for BLE devices too.
    @property
    def port(self) -> str:
        return self.target

    @property
    def decoder(self) -> BleDriver:
        return self

    @property
    def frames(self) -> int:
        return sum(d.frames for d in self.decoders.values())

    @property
    def dropped(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for d in self.decoders.values():
            total.update(d.dropped)
        return total

    @property
    def sources(self) -> dict[str, list[str]]:
        """Each source this device feeds, with the services (bps, plxs, hrs) behind it, as
        offered at the last connect ({source: []} before the first)."""
        out: dict[str, list[str]] = {self.source: []}
        if self.split:
            out[oximeter_source(self.source)] = []
        for service, chars in SERVICE_CHARS.items():
            if any(c in self.characteristics for c in chars):
                out[self.decoders[chars[0]].source].append(service)
        return out

    def _set_state(self, emit: Emit, state: LinkState, detail: str = "") -> None:
        if state != self.state or detail != self.detail:
            self.state, self.detail = state, detail
            t = self._clock()
            for source in self.sources:
                emit(DeviceState(t=t, source=source, state=state, detail=detail))

    async def run(self, emit: Emit) -> None:
        backoff = self.backoff_start_s
        loop = asyncio.get_running_loop()
        while True:
            stop_if_asked()  # bumble / bleak may have swallowed a cancellation (stopping.py)
            self._set_state(emit, LinkState.CONNECTING, self.target)
            lost: asyncio.Future[str] = loop.create_future()

            def on_disconnect(reason: str, lost: asyncio.Future[str] = lost) -> None:
                def settle() -> None:
                    if not lost.done():
                        lost.set_result(reason)

                # Transports may call back from another thread (bleak on some backends).
                loop.call_soon_threadsafe(settle)

            try:
                await self._connect(emit, on_disconnect)
            except asyncio.CancelledError:
                await self.link.disconnect()
                raise
            except Exception as exc:  # LinkError, a timeout, or a transport bug: retry anyway
                if not isinstance(exc, LinkError | TimeoutError):
                    log.exception("%s: unexpected error while connecting", self.source)
                self._set_state(emit, LinkState.DISCONNECTED, str(exc) or "connect timed out")
                await self.link.disconnect()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.backoff_max_s)
                continue
            backoff = self.backoff_start_s
            self.connections += 1
            self._set_state(emit, LinkState.CONNECTED, self.target)
            try:
                reason = await lost
            except asyncio.CancelledError:
                self._release_bp(emit)
                await self.link.disconnect()
                raise
            self._release_bp(emit)  # a burst cut short is judged on what arrived
            self._set_state(emit, LinkState.DISCONNECTED, reason)
            await self.link.disconnect()
            await asyncio.sleep(backoff)

    async def _connect(self, emit: Emit, on_disconnect: Callable[[str], None]) -> None:
        await self.link.connect(self.target, on_disconnect, self.connect_timeout_s)
        async with asyncio.timeout(self.connect_timeout_s):
            chars = await self.link.discover()
        self.characteristics = chars
        has = {svc for svc, cs in SERVICE_CHARS.items() if any(c in chars for c in cs)}
        if {"bps", "plxs"} <= has and not self.split:
            self.split = True
            for c in SERVICE_CHARS["plxs"]:
                self.decoders[c].source = oximeter_source(self.source)
        wanted = [c for c in SUBSCRIBED if c in chars]
        if not wanted:
            raise LinkError("no Blood Pressure, Pulse Oximeter or Heart Rate measurement offered")
        await self._read_features(chars)
        # Before subscribing: a cuff may replay its memory as soon as indications are on.
        self._loop = asyncio.get_running_loop()
        self.bp_replay.link_up(self._clock())
        for char in wanted:
            async with asyncio.timeout(self.connect_timeout_s):
                await self.link.subscribe(char, self._on_value(char, emit))

    async def _read_features(self, chars: set[int]) -> None:
        # A status bit whose feature bit is clear carries no information (protocols.md §2.3);
        # an unreadable or short feature value leaves every bit trusted, as before.
        if BP_FEATURE_CHAR in chars:
            with contextlib.suppress(LinkError, ShortRecord):
                raw = parse_bp_feature(await self.link.read(BP_FEATURE_CHAR)).raw
                for c in (BPM_CHAR, ICP_CHAR):
                    self.decoders[c].features = raw  # type: ignore[attr-defined]
        if PLX_FEATURES_CHAR in chars:
            with contextlib.suppress(LinkError, ShortRecord):
                feats = parse_plx_features(await self.link.read(PLX_FEATURES_CHAR))
                for c in (PLX_SPOT_CHAR, PLX_CONT_CHAR):
                    self.decoders[c].features = feats  # type: ignore[attr-defined]

    def _on_value(self, char: int, emit: Emit) -> Callable[[bytes], None]:
        decoder = self.decoders[char]
        if char == BPM_CHAR:

            def on_measurement(value: bytes) -> None:
                t = self._clock()
                frames = decoder.frames
                readings = decoder.feed(value, t)
                if decoder.frames == frames:
                    return  # dropped and counted by the decoder
                record = decoder.last_record
                assert isinstance(record, BloodPressureMeasurement)
                self._emit_bp(emit, self.bp_replay.measurement(record, t, readings))
                self._rearm(emit, t)

            return on_measurement

        def on_value(value: bytes) -> None:
            t = self._clock()
            readings = decoder.feed(value, t)
            if char == ICP_CHAR and readings:
                # A new cuff cycle: the 2A35 records held before it are a finished burst.
                self._emit_bp(emit, self.bp_replay.cuff_pressure(t))
                self._rearm(emit, t)
            for reading in readings:
                emit(reading)

        return on_value

    def _rearm(self, emit: Emit, t: float) -> None:
        """Release the held burst when it is due. The delay runs on the loop's clock: the
        injected one may stand still (tests), and a timer must fire all the same."""
        if self._bp_timer is not None:
            self._bp_timer.cancel()
            self._bp_timer = None
        due = self.bp_replay.due
        if due is not None and self._loop is not None:
            self._bp_timer = self._loop.call_later(max(0.0, due - t), self._release_bp, emit)

    def _release_bp(self, emit: Emit) -> None:
        if self._bp_timer is not None:
            self._bp_timer.cancel()
            self._bp_timer = None
        self._emit_bp(emit, self.bp_replay.flush())

    def _emit_bp(self, emit: Emit, verdicts: list[Verdict[list[Reading]]]) -> None:
        for v in verdicts:
            if v.stored:
                log.info(
                    "%s: blood pressure record of %s flagged stored: %s",
                    self.source,
                    v.record.timestamp.iso() if v.record.timestamp else "unknown time",
                    v.reason,
                )
            for reading in v.payload:
                emit(reading.with_status(reading.status | {Flag.STORED}) if v.stored else reading)
