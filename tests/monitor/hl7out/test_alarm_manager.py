"""Alarms to an alarm manager (IHE PCD ACM ORU^R40) over real sockets: a real room pipeline
makes the alarm transitions, Vigil's alarm-manager channel sends them, a real MLLP receiver
written with python-hl7 (tests/hl7_receiver.py) parses and ACKs. An outage raises
notify_failed in the room's core (and clears it); nothing queued is lost or reordered."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hl7
import pytest

from alerts.config import AlertsConfig
from alerts.notifier import Notifier
from monitor.config import ConfigError, load_settings
from monitor.core.models import AlarmEvent, Control
from monitor.core.pipeline import RoomPipeline
from monitor.hl7out.alarm_manager import AlarmManager
from monitor.hl7out.config import AlarmManagerConfig
from monitor.store.journal import Journal
from tests.core_helpers import dosed, pr, run, spo2, transitions
from tests.hl7_receiver import HL7Receiver, receiver_fixture  # noqa: F401 - `receiver`
from tests.paging_helpers import RecordingHost


class Room:
    """A real room pipeline whose alarm transitions are journaled and published to the alarm
    manager as the runtime does; controls it injects (notify_failed) go back into the same
    pipeline."""

    def __init__(self, receiver_port: int, journal: Journal, retry_attempts: int = 2) -> None:
        self.journal = journal
        self.pipeline: RoomPipeline = dosed({"spo2": 97, "pulse_rate": 70, "sbp": 120, "dbp": 80})
        self.injected: list[Control] = []
        self.records: list[dict[str, Any]] = []
        config = AlarmManagerConfig(enabled=True, host="127.0.0.1", port=receiver_port,
                                    ack_timeout_s=2.0)  # fmt: skip
        self.manager = AlarmManager(
            config, journal, retry_attempts=retry_attempts, inject=self.inject,
            record=lambda event, **kw: self.records.append({"event": event, **kw}),
            backoff_initial_s=0.05, backoff_max_s=0.1, poll_s=0.2,
        )  # fmt: skip
        self.sent: list[AlarmEvent] = []

    def feed(self, items: list[Any]) -> None:
        for e in run(self.pipeline, items):
            if isinstance(e, AlarmEvent):
                self.sent.append(e)
                self.journal.append("alarm", e.room, e.t, f"alarm {e.t}", e.to_dict())
                self.manager.on_event(e)

    async def start(self) -> asyncio.Task[None]:
        task = asyncio.create_task(self.manager.run())
        async with asyncio.timeout(5):
            while self.manager.cursor is None:  # opened (at the journal's end)
                await asyncio.sleep(0.01)
        return task

    def inject(self, room: str, control: Control) -> None:
        self.injected.append(control)
        self.feed([control])


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "journal.sqlite3", commit_window_s=0.01)
    j.start_session("A", 0, "JD", "nurse")
    yield j
    j.close()


def facets(m: hl7.Message) -> tuple[str, str, str, str, str]:
    """(alert id, event phase, alarm state, inactivation state, OBX-8 of facet 1)."""
    obx = [s for s in m if str(s[0]) == "OBX"]
    return (str(m.segment("OBR")[3][0][0]), str(obx[2][5]), str(obx[3][5]), str(obx[4][5]),
            str(obx[0][8]))  # fmt: skip


async def drained(room: Room) -> None:
    """Until every journaled report has been answered (a positive marker)."""
    await room.journal.committed()
    last = room.journal.last_point_id()
    async with asyncio.timeout(5):
        while room.manager.cursor != last:
            await asyncio.sleep(0.02)


def oximetry(t0: int, n: int, value: float) -> list[Any]:
    return [r for i in range(n) for r in (spo2(t0 + i, value), pr(t0 + i, 70))]


async def test_alarm_lifecycle_reaches_the_alarm_manager(
    receiver: HL7Receiver, journal: Journal
) -> None:
    room = Room(receiver.port, journal)
    task = await room.start()
    try:
        room.feed(oximetry(10, 20, 88))  # below 90: spo2_low
        room.feed([Control(40, "ack", {"condition": "spo2_low"}, by="nurse")])
        room.feed(oximetry(41, 40, 97))  # over: cleared
        messages = await receiver.wait_for(len(room.sent))
        await drained(room)
    finally:
        task.cancel()
    low = [facets(m) for m in messages if "spo2_low" in str(m.segment("OBR")[3])]
    assert [f[1:4] for f in low] == [
        ("start", "active", "enabled"),
        ("update", "active", "alert-acknowledged"),
        ("end", "inactive", "alert-acknowledged"),
    ]
    assert len({f[0] for f in low}) == 1  # one alert id for the episode
    assert low[0][4] == "L~PM~SP"
    first = messages[0]
    assert str(first.segment("MSH")[9]) == "ORU^R40^ORU_R40"
    assert str(first.segment("MSH")[21]).startswith("IHE_PCD_ACM_001^")
    assert str(first.segment("PID")[3]) == "JD^^^VIGIL^PI"
    # Every transition, in the order the core made them.
    sent_ids = [str(m.segment("MSH")[10]) for m in messages]
    assert [i.rsplit(".", 2)[1] for i in sent_ids] == [e.state.value for e in room.sent]
    assert room.manager.health()["sent"] == len(room.sent)
    assert {r["result"] for r in room.records} == {"delivered"}


async def test_outage_raises_notify_failed_then_delivers_everything(
    receiver: HL7Receiver, journal: Journal
) -> None:
    await receiver.stop()
    room = Room(receiver.port, journal, retry_attempts=2)
    task = await room.start()
    try:
        room.feed(oximetry(10, 20, 88))
        async with asyncio.timeout(5):
            while not room.injected:
                await asyncio.sleep(0.02)
        (raised,) = room.injected
        assert raised.args["condition"] == "notify_failed" and raised.args["state"] == "active"
        assert ("notify_failed", "active") in [(c, s) for _, c, s in transitions(room.sent)]
        assert room.manager.health()["status"] == "degraded"
        await receiver.start()
        messages = await receiver.wait_for(len(room.sent))
        async with asyncio.timeout(5):
            while len(room.injected) < 2:
                await asyncio.sleep(0.02)
        messages = await receiver.wait_for(len(room.sent))  # notify_failed cleared too
        await drained(room)
    finally:
        task.cancel()
    assert room.injected[1].args["state"] == "cleared"
    ids = [str(m.segment("MSH")[10]) for m in messages]
    assert [i.rsplit(".", 2)[1] for i in ids] == [e.state.value for e in room.sent]
    assert len(set(ids)) == len(ids)  # in order, each once
    assert room.manager.health()["status"] == "ok"
    assert "failed" in {r["result"] for r in room.records}


async def test_rejected_report_is_counted_not_resent(
    receiver: HL7Receiver, journal: Journal
) -> None:
    receiver.ack_code, receiver.ack_text = "AR", "unknown patient"
    room = Room(receiver.port, journal)
    task = await room.start()
    try:
        room.feed(oximetry(10, 20, 88))
        await receiver.wait_for(len(room.sent))
        await drained(room)
    finally:
        task.cancel()
    assert len(receiver.messages) == len(room.sent)  # each once: not resent
    assert room.manager.rejected == len(room.sent) and room.injected == []
    assert any("AR: unknown patient" in r["detail"] for r in room.records)


async def test_notifier_wakes_the_alarm_manager_without_contacts(
    receiver: HL7Receiver, journal: Journal
) -> None:
    room = Room(receiver.port, journal)
    room.manager.poll_s = 60  # only the notifier's wake-up can make it read in time
    task = await room.start()
    notifier = Notifier(
        AlertsConfig(), base_url="http://127.0.0.1:1", room_names={"A": "A"},
        host=RecordingHost(), alarm_manager=room.manager,
    )  # fmt: skip
    try:
        for e in run(room.pipeline, oximetry(10, 20, 88)):
            if isinstance(e, AlarmEvent):
                journal.append("alarm", e.room, e.t, f"alarm {e.t}", e.to_dict())
                notifier.on_event(e)
        messages = await receiver.wait_for(1, timeout_s=5)
        await drained(room)
    finally:
        task.cancel()
    assert str(messages[0].segment("MSH")[9]) == "ORU^R40^ORU_R40"
    assert notifier.health()["alarm_manager"]["sent"] == len(receiver.messages)


def test_alarm_manager_settings_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "vigil.toml"
    path.write_text("[alerts.alarm_manager]\nenabled = true\nport = 2575\n")
    with pytest.raises(ConfigError, match="alerts.alarm_manager.host: give the receiver"):
        load_settings(path)


async def test_reports_waiting_survive_a_restart(receiver: HL7Receiver, journal: Journal) -> None:
    await receiver.stop()
    room = Room(receiver.port, journal)
    task = await room.start()
    room.feed(oximetry(10, 20, 88))
    async with asyncio.timeout(5):
        while not room.records:  # it tried, and failed
            await asyncio.sleep(0.02)
    task.cancel()  # Vigil stops during the outage
    await receiver.start()
    restarted = Room(receiver.port, journal)  # a new process: the journal is all it has
    task = await restarted.start()
    try:
        messages = await receiver.wait_for(len(room.sent))
        await drained(restarted)
    finally:
        task.cancel()
    ids = [str(m.segment("MSH")[10]) for m in messages]
    assert [i.rsplit(".", 2)[1] for i in ids] == [e.state.value for e in room.sent]


async def test_one_notify_failed_held_by_whichever_channel_still_fails(
    receiver: HL7Receiver, journal: Journal
) -> None:
    room = Room(receiver.port, journal)
    host = RecordingHost()
    notifier = Notifier(
        AlertsConfig(), base_url="http://127.0.0.1:1", room_names={"A": "A"},
        host=host, alarm_manager=room.manager,
    )  # fmt: skip
    room.manager._phones_failing = notifier.phones_failing  # as monitor/wiring.py wires it
    # Both channels failed in room A; the phones come back first: notify_failed stays.
    room.manager.failing_rooms.add("A")
    notifier.failures.failed_tiers["A"] = {1}
    notifier.failures.tier_reached("A", 1)
    assert host.injected == []
    room.manager._reachable()  # then the alarm manager answers: now it clears
    assert [c.args["state"] for c in room.injected] == ["cleared"]
    # The other order: the alarm manager back first, the phones later.
    room.injected.clear()
    room.manager.failing_rooms.add("A")
    notifier.failures.failed_tiers["A"] = {1}
    room.manager._reachable()
    assert room.injected == []
    notifier.failures.tier_reached("A", 1)
    assert [r for r, _ in host.injected] == ["A"]


async def test_a_damaged_row_is_skipped_not_a_stuck_outbox(
    receiver: HL7Receiver, journal: Journal
) -> None:
    room = Room(receiver.port, journal)
    task = await room.start()
    try:
        journal.append("alarm", "A", 5, "alarm 5", {"condition": "spo2_low"})  # not an alarm
        room.feed(oximetry(10, 20, 88))
        messages = await receiver.wait_for(len(room.sent))
        await drained(room)
    finally:
        task.cancel()
    assert len(messages) == len(room.sent) and room.manager.health()["unsendable"] == 1
