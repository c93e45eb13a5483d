"""PCD-01 out over real sockets: a real SQLite journal, Vigil's sender, and a real MLLP
receiver on loopback written with python-hl7 (tests/hl7_receiver.py) that parses and ACKs.

Semantics under test: at-least-once, in journal order; nothing is lost while the receiver
is down; the cursor moves only on an accepting ACK; an AE answer is retried, then the
message is skipped and counted; a restarted sender goes on from the stored cursor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import hl7
import pytest

from monitor.core.models import AlarmEvent, AlarmState, Reading
from monitor.hl7out.config import Hl7OutConfig
from monitor.hl7out.sender import CURSOR, Pcd01Sender
from monitor.store.journal import Journal
from tests.hl7_receiver import HL7Receiver, receiver_fixture  # noqa: F401 - `receiver`

T0 = 1_764_713_400.0


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "journal.sqlite3", commit_window_s=0.01)
    j.start_session("A", T0 - 60, "JD", "nurse")
    yield j
    j.close()


def put(j: Journal, t: float, channel: str, value: float | None, room: str = "A",
        *status: str) -> None:  # fmt: skip
    r = Reading(t, channel, value, "", frozenset(status), source=f"{room}-ox")
    j.append("reading", room, t, f"reading v={value} {int(t * 1e9)}", r.to_dict())


async def sender(
    j: Journal, port: int, clock: Callable[[], float] = time.time, **kw: object
) -> Pcd01Sender:
    """A sender that has opened its cursor (a new output starts at the journal's end)."""
    options: dict[str, object] = dict(enabled=True, host="127.0.0.1", port=port,
                                      periodicity="every_reading", ack_timeout_s=2.0)  # fmt: skip
    options.update(kw)
    s = Pcd01Sender(j, Hl7OutConfig(**options), clock=clock, poll_s=0.05)  # type: ignore[arg-type]
    assert await s.send_once()
    return s


def spo2_values(messages: list[hl7.Message]) -> list[str]:
    return [
        str(s[5]) for m in messages for s in m if str(s[0]) == "OBX" and str(s[3][0][0]) == "150456"
    ]


async def test_readings_arrive_coded_with_the_pseudonym(
    journal: Journal, receiver: HL7Receiver
) -> None:
    s = await sender(journal, receiver.port)
    put(journal, T0, "spo2", 97)
    put(journal, T0, "pulse_rate", 71)
    put(journal, T0 + 1, "spo2", None, "A", "probe_off")  # unusable: never sent
    put(journal, T0 + 2, "spo2", 95, "B")  # a room without a session
    assert await s.send_once()
    first, second = await receiver.wait_for(2)
    assert str(first.segment("MSH")[9]) == "ORU^R01^ORU_R01"
    assert str(first.segment("MSH")[21]).startswith("IHE_PCD_001^")
    assert str(first.segment("PID")[3]) == "JD^^^VIGIL^PI"
    assert str(first.segment("PV1")[3]) == "A"
    assert receiver.obx(first) == [("150456", "1.1.1.1", "97", "F"),
                                   ("149530", "1.1.1.2", "71", "F")]  # fmt: skip
    assert str(second.segment("PID")) == "PID|||" and receiver.obx(second)[0][2] == "95"
    assert s.health()["state"] == "up" and s.sent == 2
    assert journal.cursor(CURSOR) == 4  # every row passed, the unusable one too


async def test_receiver_outage_loses_nothing_and_keeps_order(
    journal: Journal, receiver: HL7Receiver
) -> None:
    events: list[AlarmEvent] = []
    now = [T0]  # the sender's clock: the outage's length is set, not slept
    s = await sender(journal, receiver.port, clock=lambda: now[0], down_after_s=0.2)
    s.on_alarm = events.append
    put(journal, T0, "spo2", 90)
    assert await s.send_once()
    await receiver.wait_for(1)
    await receiver.stop()  # the receiver goes away; readings keep coming
    for i in range(1, 6):
        put(journal, T0 + i, "spo2", 90 + i)
    assert not await s.send_once()
    assert s.health()["state"] == "down" and s.health()["last_error"]
    now[0] += 0.19  # down, but not for down_after_s yet: no alarm
    assert not await s.send_once()
    assert events == [] and s.health()["state"] == "down"
    now[0] += 0.02  # past down_after_s: the next failed attempt raises it
    assert not await s.send_once()
    assert [(e.condition, e.state) for e in events] == [("hl7_out_down", AlarmState.ACTIVE)]
    assert s.health()["status"] == "degraded"
    assert journal.cursor(CURSOR) == 1  # nothing past the outage was acknowledged
    await receiver.start()  # back on the same port
    assert await s.send_once()
    messages = await receiver.wait_for(6)
    assert spo2_values(messages) == ["90", "91", "92", "93", "94", "95"]  # in order, once each
    ids = [str(m.segment("MSH")[10]) for m in messages]
    assert len(set(ids)) == len(ids)
    assert [e.state for e in events] == [AlarmState.ACTIVE, AlarmState.CLEARED]
    assert s.health()["status"] == "ok" and journal.cursor(CURSOR) == 6


async def test_restart_resumes_from_the_stored_cursor(
    journal: Journal, receiver: HL7Receiver
) -> None:
    first = await sender(journal, receiver.port)
    put(journal, T0, "spo2", 90)
    put(journal, T0 + 1, "spo2", 91)
    assert await first.send_once()
    await receiver.wait_for(2)
    put(journal, T0 + 2, "spo2", 92)
    restarted = await sender(journal, receiver.port)  # a new process: state from the journal only
    assert await restarted.send_once()
    assert spo2_values(await receiver.wait_for(3)) == ["90", "91", "92"]


async def test_rejected_message_is_retried_then_skipped_and_counted(
    journal: Journal, receiver: HL7Receiver
) -> None:
    receiver.ack_code, receiver.ack_text = "AE", "unknown observation"
    s = await sender(journal, receiver.port, reject_attempts=2)
    put(journal, T0, "spo2", 90)
    assert not await s.send_once()  # first AE: kept, retried later
    assert s.health()["state"] == "rejecting" and journal.cursor(CURSOR) == 0
    assert await s.send_once()  # second AE: given up
    health = s.health()
    assert health["rejected"] == 1 and "AE for R1: unknown observation" in health["last_rejection"]
    assert health["status"] == "degraded"  # reachable, but nothing gets in
    assert journal.cursor(CURSOR) == 1
    receiver.ack_code, receiver.ack_text = "AA", ""
    put(journal, T0 + 1, "spo2", 91)
    assert await s.send_once()
    assert spo2_values(await receiver.wait_for(3)) == ["90", "90", "91"]
    assert s.sent == 1 and s.health()["state"] == "up" and s.health()["status"] == "ok"


async def test_per_minute_through_the_live_loop(journal: Journal, receiver: HL7Receiver) -> None:
    # The readings' minute is long over: the loop closes it at once (no waiting a minute).
    s = await sender(journal, receiver.port, periodicity="per_minute")
    for i, v in enumerate((96, 95, 94)):
        put(journal, T0 + i * 10, "spo2", v)
    put(journal, T0 + 70, "spo2", 93)
    task = asyncio.create_task(s.run())
    try:
        messages = await receiver.wait_for(2)
    finally:
        task.cancel()
    assert spo2_values(messages) == ["94", "93"]  # the latest of each minute
    assert [str(m.segment("MSH")[10]) for m in messages] == [
        f"MA-{int(T0 // 60)}", f"MA-{int(T0 // 60) + 1}",
    ]  # fmt: skip


async def test_retention_keeps_readings_the_receiver_has_not_acknowledged(
    journal: Journal, receiver: HL7Receiver
) -> None:
    s = await sender(journal, receiver.port)
    put(journal, T0, "spo2", 90)
    put(journal, T0 + 1, "spo2", 91)
    assert await s.send_once()
    await receiver.stop()
    put(journal, T0 + 2, "spo2", 92)
    assert not await s.send_once()
    journal.flush()
    journal.mark_forwarded([1, 2, 3])  # InfluxDB has them all
    journal.flush()
    assert journal.prune(T0 + 100) == 2  # only what the HL7 receiver acknowledged
    await receiver.start()
    assert await s.send_once()
    assert spo2_values(await receiver.wait_for(3)) == ["90", "91", "92"]


async def test_a_new_output_starts_at_the_journal_end(
    journal: Journal, receiver: HL7Receiver
) -> None:
    put(journal, T0, "spo2", 90)  # history from before HL7 out was enabled: not sent
    put(journal, T0 + 1, "spo2", 91)
    s = await sender(journal, receiver.port)
    assert journal.cursor(CURSOR) == 2
    put(journal, T0 + 2, "spo2", 92)
    assert await s.send_once()
    assert spo2_values(await receiver.wait_for(1)) == ["92"]
    assert s.sent == 1
