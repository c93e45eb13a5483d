"""Bytes handed over from a callback to one waiting task, taken all at once.

A producer (an event-loop reader callback, the live-stream hub) puts chunks; the consumer's
`get` returns everything queued so far as one bytes object, waiting when there is none.
`close` ends it: with an exception, `get` raises it once the queue is empty (a failed port);
without, `get` returns None (a stream that is over).
"""

from __future__ import annotations

import asyncio
from collections import deque


class ByteQueue:
    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._closed = False
        self._failure: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    @property
    def size(self) -> int:
        """Bytes queued and not yet taken."""
        return self._size

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, data: bytes) -> None:
        if self._closed:
            return
        self._chunks.append(data)
        self._size += len(data)
        self._wake()

    def close(self, failure: BaseException | None = None, *, drop: bool = False) -> None:
        """No more bytes; `drop` also discards what is queued (a client cut off)."""
        self._closed = True
        self._failure = failure
        if drop:
            self._chunks.clear()
            self._size = 0
        self._wake()

    async def get(self) -> bytes | None:
        """Everything queued, waiting for something; None (or the failure) once closed."""
        while not self._chunks:
            if self._closed:
                if self._failure is not None:
                    raise self._failure
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        self._chunks.clear()
        self._size = 0
        return data

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
