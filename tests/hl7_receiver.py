"""A real HL7 MLLP receiver on loopback, written with python-hl7's asyncio MLLP server: it
parses every message that arrives, records it and answers an ACK (AA, or what the test
sets). It can be stopped and started again on the same port (a receiver outage)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import hl7
import hl7.mllp
import pytest

from tests.conftest import free_port


@dataclass
class HL7Receiver:
    port: int = field(default_factory=free_port)
    ack_code: str = "AA"  # what every ACK says (AE/AR: the receiver cannot take the message)
    ack_text: str = ""
    messages: list[hl7.Message] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _conns: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await hl7.mllp.start_hl7_server(
            self._client, host="127.0.0.1", port=self.port, encoding="utf-8"
        )

    async def stop(self) -> None:
        """Close the port and every open connection (what a crashed receiver does)."""
        if self._server is not None:
            self._server.close()
            for task in list(self._conns):
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _client(
        self, reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        try:
            while not writer.is_closing():
                message = await reader.readmessage()
                self.messages.append(message)
                ack = message.create_ack(self.ack_code)
                if self.ack_text:
                    ack.segment("MSA").append(ack.create_field([self.ack_text]))
                writer.writemessage(ack)
                await writer.drain()
                self.arrived.set()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._conns.discard(task)

    async def wait_for(self, n: int, timeout_s: float = 10.0) -> list[hl7.Message]:
        """Until `n` messages have arrived (a positive marker, never a fixed sleep)."""
        async with asyncio.timeout(timeout_s):
            while len(self.messages) < n:
                self.arrived.clear()
                await self.arrived.wait()
        return self.messages

    def obx(self, message: hl7.Message) -> list[tuple[str, str, str, str]]:
        """(OBX-3 code, OBX-4 sub-id, OBX-5 value, OBX-11 status) of each OBX."""
        return [
            (str(s[3][0][0]), str(s[4]), str(s[5]), str(s[11]))
            for s in message
            if str(s[0]) == "OBX"
        ]


@pytest.fixture(name="receiver")
async def receiver_fixture() -> AsyncIterator[HL7Receiver]:
    """A started receiver (import this fixture into a test module to use it)."""
    r = HL7Receiver()
    await r.start()
    yield r
    await r.stop()
