"""One MLLP connection to an HL7 receiver: send a message, wait for its ACK.

python-hl7's asyncio MLLP streams do the framing and parsing. The connection is opened on
first use and kept; any failure (refused, reset, no ACK in time, an ACK for another message)
closes it, and the next send opens a new one. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import hl7
import hl7.mllp
from hl7.exceptions import HL7Exception
from hl7.mllp import InvalidBlockError

from monitor.errors import LinkError as LinkError  # its home: monitor/errors.py

if TYPE_CHECKING:
    from monitor.hl7out.config import MllpTarget

ACCEPTED = frozenset({"AA", "CA"})  # original and enhanced acknowledgement modes


@dataclass(frozen=True, slots=True)
class Ack:
    code: str  # MSA-1: AA/CA accepted; AE/AR (CE/CR) an error or a rejection
    text: str  # MSA-3 and ERR-8, when given

    @property
    def accepted(self) -> bool:
        return self.code in ACCEPTED


def parse_ack(message: hl7.Message, control_id: str) -> Ack:
    """The ACK's code and reason; LinkError when it is not an ACK of this message."""
    try:
        msa = message.segment("MSA")
    except KeyError:
        raise LinkError("the answer has no MSA segment") from None
    code = str(msa[1]) if len(msa) > 1 else ""
    acked = str(msa[2]) if len(msa) > 2 else ""
    if acked != control_id:
        raise LinkError(f"ACK for message {acked!r}, expected {control_id!r}")
    reasons = [str(msa[3])] if len(msa) > 3 and str(msa[3]) else []
    with contextlib.suppress(KeyError):
        err = message.segment("ERR")
        if len(err) > 8 and str(err[8]):
            reasons.append(str(err[8]))
    return Ack(code, "; ".join(reasons))


class MllpLink:
    def __init__(
        self, host: str, port: int, *, connect_timeout_s: float = 5.0, ack_timeout_s: float = 10.0
    ) -> None:
        self.host = host
        self.port = port
        self.connect_timeout_s = connect_timeout_s
        self.ack_timeout_s = ack_timeout_s
        self._reader: hl7.mllp.HL7StreamReader | None = None
        self._writer: hl7.mllp.HL7StreamWriter | None = None

    @classmethod
    def to(cls, target: MllpTarget) -> MllpLink:
        """A link to a configured receiver ([hl7_out], [alerts.alarm_manager])."""
        return cls(
            target.host,
            target.port,
            connect_timeout_s=target.connect_timeout_s,
            ack_timeout_s=target.ack_timeout_s,
        )

    @property
    def connected(self) -> bool:
        return self._writer is not None

    async def send(self, message: str, control_id: str) -> Ack:
        """Send one message and return its ACK; LinkError when that did not happen."""
        try:
            if self._writer is None:
                async with asyncio.timeout(self.connect_timeout_s):
                    self._reader, self._writer = await hl7.mllp.open_hl7_connection(
                        self.host, self.port, encoding="utf-8"
                    )
            assert self._reader is not None and self._writer is not None
            self._writer.writemessage(message)
            async with asyncio.timeout(self.ack_timeout_s):
                await self._writer.drain()
            async with asyncio.timeout(self.ack_timeout_s):
                answer = await self._reader.readmessage()
            return parse_ack(answer, control_id)
        except LinkError:
            await self.aclose()
            raise
        except TimeoutError:
            await self.aclose()
            raise LinkError(f"no answer from {self.host}:{self.port} in time") from None
        except (OSError, EOFError, ValueError, InvalidBlockError, HL7Exception) as exc:
            # ValueError: a frame over python-hl7's limit; the others: not MLLP or not HL7.
            await self.aclose()
            raise LinkError(f"{self.host}:{self.port}: {type(exc).__name__}: {exc}") from None

    async def aclose(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()
