"""MLLP/TCP transport for an HL7 device: Vigil listens (the monitor connects) or connects
(the monitor serves). Moves blocks between python-hl7's MLLP streams and the pure decoder.

Supervised like the serial driver: the listener keeps accepting whatever a connection sends
or does (garbage, oversize blocks, a reset); the client reconnects with backoff. The link is
`connected` while a monitor connection is open, so a monitor that never calls or hangs up
shows as `device_disconnected` in the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Literal

from hl7.mllp import InvalidBlockError, open_hl7_connection, start_hl7_server
from hl7.mllp.streams import MLLPStreamReader, MLLPStreamWriter

from drivers.hl7.decoder import Hl7Decoder
from monitor.core.models import DeviceState, LinkState, Reading

log = logging.getLogger(__name__)

Emit = Callable[[Reading | DeviceState], None]
Mode = Literal["listen", "connect"]
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 10.0
CONNECT_TIMEOUT_S = 5.0
MAX_BLOCK_BYTES = 1 << 20  # one ORU of vital signs is a few kB; 1 MiB bounds a runaway sender
MAX_CONNECTIONS = 4  # a monitor holds one; a few more allow a reconnect before the old drops
# Some senders open a connection per message: the link counts as down only when no monitor
# has been connected for this long (the core's device_disconnected waits 10 s more).
LINGER_S = 5.0


class Hl7Driver:
    """One HL7 device: a listener or a client, feeding one decoder."""

    can_start_measurement = False

    def __init__(
        self,
        decoder: Hl7Decoder,
        *,
        source: str,
        mode: Mode,
        host: str,
        port: int,
        clock: Callable[[], float] = time.time,
        linger_s: float = LINGER_S,
    ) -> None:
        self.decoder = decoder
        self.linger_s = linger_s
        self.source = source
        self.mode = mode
        self.host, self.tcp_port = host, port
        self.state = LinkState.DISCONNECTED
        self.detail = ""
        self._clock = clock
        self._connections = 0
        self._linger: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set once the listener is bound (bound_port known)
        self.bound_port: int | None = None

    @property
    def port(self) -> str:
        """Where the device is, for /api/health (like a serial driver's port)."""
        verb = "listen on" if self.mode == "listen" else "connect to"
        return f"mllp {verb} {self.host}:{self.bound_port or self.tcp_port}"

    def _set_state(self, emit: Emit, state: LinkState, detail: str = "") -> None:
        if state != self.state or detail != self.detail:
            self.state, self.detail = state, detail
            emit(DeviceState(t=self._clock(), source=self.source, state=state, detail=detail))

    async def run(self, emit: Emit) -> None:
        try:
            if self.mode == "listen":
                await self._listen(emit)
            else:
                await self._connect(emit)
        finally:
            if self._linger is not None:
                self._linger.cancel()

    # -- listener ---------------------------------------------------------------------------
    async def _listen(self, emit: Emit) -> None:
        backoff = BACKOFF_START_S
        while True:
            try:
                server = await start_hl7_server(
                    lambda r, w: self._serve(r, w, emit),
                    self.host,
                    self.tcp_port,
                    limit=MAX_BLOCK_BYTES,
                )
            except OSError as exc:
                self._set_state(emit, LinkState.DISCONNECTED, f"cannot listen: {exc}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            self.bound_port = server.sockets[0].getsockname()[1]
            self.listening.set()
            self._set_state(emit, LinkState.CONNECTING, f"waiting for the monitor on {self.port}")
            try:
                async with server:
                    await server.serve_forever()
            except Exception as exc:  # asyncio.CancelledError (stop) is not an Exception
                log.exception("hl7 %s: listener failed", self.source)
                self._set_state(emit, LinkState.DISCONNECTED, f"listener failed: {exc}")
                await asyncio.sleep(backoff)

    async def _serve(self, reader: MLLPStreamReader, writer: MLLPStreamWriter, emit: Emit) -> None:
        if self._connections >= MAX_CONNECTIONS:
            self.decoder.dropped["connection_refused"] += 1
            writer.close()
            return
        self._connections += 1
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        peer = writer.get_extra_info("peername")
        self._set_state(emit, LinkState.CONNECTED, f"monitor {_host(peer)}")
        try:
            await self._exchange(reader, writer, emit)
        except Exception:  # this connection ends; the listener keeps accepting
            log.exception("hl7 %s: connection from %s failed", self.source, _peer(peer))
            self.decoder.dropped["internal_error"] += 1
        finally:
            self._connections -= 1
            with contextlib.suppress(Exception):
                writer.close()
            if self._connections == 0:
                self._linger = asyncio.create_task(self._gone(emit, f"monitor {_host(peer)}"))

    async def _gone(self, emit: Emit, who: str) -> None:
        await asyncio.sleep(self.linger_s)
        if self._connections == 0:
            self._set_state(emit, LinkState.DISCONNECTED, f"{who} hung up")

    # -- client -----------------------------------------------------------------------------
    async def _connect(self, emit: Emit) -> None:
        backoff = BACKOFF_START_S
        while True:
            self._set_state(emit, LinkState.CONNECTING, self.port)
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    reader, writer = await open_hl7_connection(
                        self.host, self.tcp_port, limit=MAX_BLOCK_BYTES
                    )
            except (OSError, TimeoutError) as exc:
                self._set_state(emit, LinkState.DISCONNECTED, f"connect failed: {exc}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            backoff = BACKOFF_START_S
            self._set_state(emit, LinkState.CONNECTED, self.port)
            why = "the monitor closed the connection"
            try:
                await self._exchange(reader, writer, emit)
            except Exception as exc:  # reconnect, as after any lost link
                log.exception("hl7 %s: connection failed", self.source)
                self.decoder.dropped["internal_error"] += 1
                why = f"connection failed: {exc}"
            finally:
                with contextlib.suppress(Exception):
                    writer.close()
            self._set_state(emit, LinkState.DISCONNECTED, why)
            await asyncio.sleep(backoff)

    # -- both -------------------------------------------------------------------------------
    async def _exchange(
        self, reader: MLLPStreamReader, writer: MLLPStreamWriter, emit: Emit
    ) -> None:
        """Read blocks until the peer goes; answer each message as the decoder says."""
        while True:
            try:
                block = await reader.readblock()
            except InvalidBlockError:
                self.decoder.dropped["framing"] += 1  # bytes outside <VT>...<FS><CR>
                continue
            except ValueError:
                self.decoder.dropped["oversize"] += 1  # python-hl7: block over the limit
                continue
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                return
            try:
                result = self.decoder.handle(block, self._clock())
            except Exception:  # a decoder bug must not end the listener
                log.exception("hl7 %s: decoder failed", self.source)
                self.decoder.dropped["internal_error"] += 1
                continue
            for reading in result.readings:
                emit(reading)
            if result.code != "AA":
                log.info("hl7 %s: %s %s", self.source, result.code, result.reason)
            try:
                for reply in result.replies:
                    writer.writeblock(reply.encode())
                await writer.drain()
            except (ConnectionError, OSError):
                return


def _host(peer: object) -> str:
    return str(peer[0]) if isinstance(peer, tuple) and peer else "?"


def _peer(peer: object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return "?"
