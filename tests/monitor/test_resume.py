"""Resume after a restart, unit level: a session is run through a room pipeline and recorded
in a real journal as the runtime records it; a fresh pipeline rebuilt from that journal
(monitor/resume.py) must hold the same state, and the `resumed` control must treat the gap
as "nobody watching", not as stale data or lost links."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.core.models import AlarmEvent, Control, DeviceState, LinkState, Reading
from monitor.core.pipeline import MONITORING_INTERRUPTED, RoomPipeline
from monitor.core.schedule import BpRequest
from monitor.resume import (
    ENDED,
    FAILED,
    NOT_CONFIGURED,
    SUPERSEDED,
    TOO_OLD,
    plan,
    rebuild,
    records,
    resumed_control,
)
from monitor.store.influx import InfluxStore
from monitor.store.journal import Journal, SessionRow
from monitor.store.recorder import STOPPED_REASON, Recorder
from tests.core_helpers import bp, pr, spo2, transitions

T = 1_750_000_000.0
ROOM = "A"
Item = Reading | Control | DeviceState | float


class LiveRoom:
    """What `RoomLoop.consume` (monitor/room_loop.py) does with each input: the pipeline
    decides, the recorder keeps the input and the events (ticks are not recorded: a replay
    makes its own)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.pipeline = RoomPipeline(ROOM)

    def put(self, item: Item) -> None:
        p, rec = self.pipeline, self.recorder
        outcome = ""
        if isinstance(item, Reading):
            events = p.feed(item)
            rec.reading(ROOM, item)
        elif isinstance(item, DeviceState):
            events = p.device_state(item)
            rec.device(ROOM, item)
        elif isinstance(item, Control):
            events = p.control(item)
            outcome = str(p.log[-1]["outcome"])
            rec.control_before(ROOM, item, outcome)
        else:
            events = p.tick(item)
        for e in events:
            if not isinstance(e, BpRequest):
                rec.event(e)
        if isinstance(item, Control):
            rec.control_after(ROOM, item, p.snapshot(), outcome)


def session_until_the_crash() -> Iterator[Item]:
    """Baseline confirmed by dr_k, a dose, a severe desaturation that resolves unacknowledged
    (latched), a sustained high pulse acknowledged by nurse_a, an audio pause."""
    yield DeviceState(T - 10, "ox", LinkState.CONNECTED, "/dev/ttyUSB0")
    yield DeviceState(T - 10, "cuff", LinkState.CONNECTED, "/dev/ttyUSB1")
    yield Control(T, "session_start", {"pseudonym": "P-7"}, "dr_k")
    for s in range(1, 401):
        t = T + s
        yield spo2(t, 80 if 220 <= s < 240 else 97)
        yield pr(t, 135 if s >= 250 else 72)
        if s in (60, 120):
            yield from bp(t, 120 + s / 60, 80, 93)
        if s == 180:
            yield Control(t + 0.2, "confirm_baseline", {}, "dr_k")
        if s == 200:
            yield Control(t + 0.2, "dose", {}, "dr_k")
        if s == 330:
            yield Control(t + 0.2, "ack", {"condition": "hr_high"}, "nurse_a")
        if s == 390:
            yield Control(t + 0.2, "audio_pause", {}, "nurse_a")
        yield t + 0.5  # the runtime's ticker


def state(p: RoomPipeline) -> dict[str, Any]:
    """What a restart must bring back (the snapshot less what only describes the moment)."""
    snap = p.snapshot()
    alarms = {
        a.condition: (a.state.value, a.priority.value, a.since, a.tier, a.by)
        for a in p.active.values()
    }
    keep = ("phase", "dose_t", "baseline", "baseline_status", "limits", "bp", "bp_due")
    return {
        **{k: snap[k] for k in keep},
        "session": {k: v for k, v in snap["session"].items() if k != "notes"},
        "alarms": alarms,
        "audio_paused_until": p.audio_paused_until,
        "controls": [(c["event"], c["by"], c["outcome"]) for c in p.log],
    }


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[Recorder]:
    journal = Journal(tmp_path / "journal.sqlite3", commit_window_s=0.01)
    # Nothing is forwarded here (the forwarder is never run): the journal is what counts.
    rec = Recorder(journal, InfluxStore("http://127.0.0.1:9", "x"), clock=lambda: T + 1000)
    yield rec
    rec.close()


def crashed_session(recorder: Recorder) -> tuple[LiveRoom, SessionRow]:
    live = LiveRoom(recorder)
    for item in session_until_the_crash():
        live.put(item)
    assert recorder.sync()
    [session] = recorder.journal.open_sessions()
    return live, session


def test_the_journal_rebuilds_the_rooms_state(recorder: Recorder) -> None:
    live, session = crashed_session(recorder)
    expected = state(live.pipeline)
    # The scenario did what it says, so the comparison below means something.
    assert expected["phase"] == "dosed" and expected["dose_t"] == T + 200.2
    assert expected["baseline_status"] == "confirmed"
    assert expected["session"]["baseline_confirmed_by"] == "dr_k"
    assert expected["session"]["pseudonym"] == "P-7"
    assert expected["alarms"]["spo2_severe"][0] == "resolved"  # latched, unacknowledged
    assert expected["alarms"]["hr_high"][0:1] + expected["alarms"]["hr_high"][4:] == (
        "acknowledged",
        "nurse_a",
    )
    assert expected["audio_paused_until"] == T + 390.2 + 120

    rebuilt = rebuild(records(recorder.journal, session), RoomPipeline(ROOM))

    assert state(rebuilt.pipeline) == expected
    assert rebuilt.last_t == T + 400
    assert rebuilt.inputs == 2 + 1 + 800 + 6 + 4  # links, start, SpO2+PR, BP, controls


def test_resumed_treats_the_gap_as_unwatched_and_links_get_their_grace(
    recorder: Recorder,
) -> None:
    _, session = crashed_session(recorder)
    recs = records(recorder.journal, session)
    restart_t = T + 460  # a minute without Vigil: longer than every stale/link delay

    back = rebuild(recs, RoomPipeline(ROOM)).pipeline
    events = back.control(resumed_control(restart_t, 60.0))
    assert back.log[-1]["outcome"] == "ok"
    assert transitions(events) == [(restart_t, MONITORING_INTERRUPTED, "active")]
    [raised] = [e for e in events if isinstance(e, AlarmEvent)]
    assert raised.priority.value == "medium" and "60 s" in raised.reason
    # The drivers report back and data flows: no stale or disconnection alarm for the gap.
    later = back.device_state(DeviceState(restart_t + 1, "ox", LinkState.CONNECTED))
    later += back.device_state(DeviceState(restart_t + 1, "cuff", LinkState.CONNECTED))
    for s in range(2, 30):
        later += back.feed(spo2(restart_t + s, 97))
        later += back.feed(pr(restart_t + s, 135))
        later += back.tick(restart_t + s + 0.5)
    conditions = {c for _, c, _ in transitions(later)}
    assert not conditions & {"spo2_stale", "pulse_rate_stale", "device_disconnected"}
    # Acknowledging the interruption ends it (an event, not a lasting condition).
    acked = back.control(Control(restart_t + 30, "ack", {"condition": MONITORING_INTERRUPTED}))
    assert transitions(acked)[-1] == (restart_t + 30, MONITORING_INTERRUPTED, "cleared")
    assert MONITORING_INTERRUPTED not in back.active

    # A second restart replays the first one's `resumed` entry (as monitor/restart.py
    # writes it), so the interruption it raised is rebuilt too, with its onset.
    ctrl = resumed_control(restart_t, 60.0)
    payload = {"event": ctrl.event, "args": ctrl.args, "t": ctrl.t, "outcome": "ok"}
    recorder.audit("resumed", ctrl.by, payload, t=ctrl.t, room=ROOM, session=session.id)
    assert recorder.sync()
    twice = rebuild(records(recorder.journal, session), RoomPipeline(ROOM)).pipeline
    assert twice.active[MONITORING_INTERRUPTED].since == restart_t
    # Restarted again before anyone took note: a new interruption saying its own length.
    again = twice.control(resumed_control(restart_t + 100, 7.0))
    assert [x for x in transitions(again) if x[1] == MONITORING_INTERRUPTED] == [
        (restart_t + 100, MONITORING_INTERRUPTED, "cleared"),
        (restart_t + 100, MONITORING_INTERRUPTED, "active"),
    ]
    assert "7 s" in twice.active[MONITORING_INTERRUPTED].reason

    # A device that does not come back raises its alarm after the usual delay.
    silent = rebuild(recs, RoomPipeline(ROOM)).pipeline
    silent.control(resumed_control(restart_t, 60.0))
    quiet = [e for s in range(1, 15) for e in silent.tick(restart_t + s)]
    assert [(t - restart_t, c, st) for t, c, st in transitions(quiet)] == [
        (10.0, "device_disconnected", "active")
    ]
    # One that comes back but sends nothing raises the stale alarms after the usual delay.
    mute = rebuild(recs, RoomPipeline(ROOM)).pipeline
    mute.control(resumed_control(restart_t, 60.0))
    mute.device_state(DeviceState(restart_t + 2, "ox", LinkState.CONNECTED))
    mute.device_state(DeviceState(restart_t + 2, "cuff", LinkState.CONNECTED))
    hushed = [e for s in range(3, 15) for e in mute.tick(restart_t + s)]
    assert [(t - restart_t, c, st) for t, c, st in transitions(hushed)] == [
        (12.0, "spo2_stale", "active"),
        (12.0, "pulse_rate_stale", "active"),
    ]


def test_a_link_no_longer_configured_is_forgotten_at_the_restart(recorder: Recorder) -> None:
    """The oximeter was renamed during the stop (IT swapped it): its old link must not
    raise `device_disconnected` for ever; the cuff, still configured, keeps its grace."""
    _, session = crashed_session(recorder)
    restart_t = T + 460
    back = rebuild(records(recorder.journal, session), RoomPipeline(ROOM)).pipeline
    back.control(resumed_control(restart_t, 60.0, ["cuff", "ox-2"]))
    assert sorted(back.devices) == ["cuff"]
    back.device_state(DeviceState(restart_t + 1, "ox-2", LinkState.CONNECTED))
    back.device_state(DeviceState(restart_t + 1, "cuff", LinkState.CONNECTED))
    later = []
    for s in range(2, 30):
        later += back.feed(spo2(restart_t + s, 97, source="ox-2"))
        later += back.feed(pr(restart_t + s, 72, source="ox-2"))
        later += back.tick(restart_t + s + 0.5)
    assert "device_disconnected" not in {c for _, c, _ in transitions(later)}


def test_an_alarm_latched_while_the_patient_was_connected_survives_too(
    recorder: Recorder,
) -> None:
    """Two dips before the session: the first acknowledged then, the second still latched
    when the session starts; both as they were after the rebuild."""
    live = LiveRoom(recorder)
    live.put(DeviceState(T - 400, "ox", LinkState.CONNECTED))
    for s in range(-399, 31):
        t = T + s
        dip = -300 <= s < -285 or -100 <= s < -85
        live.put(spo2(t, 80 if dip else 97))
        live.put(pr(t, 72))
        if s == -200:
            live.put(Control(t + 0.2, "ack", {"condition": "spo2_severe"}, "nurse_a"))
        if s == 0:
            live.put(Control(t + 0.2, "session_start", {}, "dr_k"))
        live.put(t + 0.5)
    assert recorder.sync()
    [session] = recorder.journal.open_sessions()
    latched = live.pipeline.active["spo2_severe"]
    assert latched.state.value == "resolved" and T - 100 < latched.since < T - 85

    rebuilt = rebuild(records(recorder.journal, session), RoomPipeline(ROOM)).pipeline

    assert state(rebuilt) == state(live.pipeline)
    # The first episode (acknowledged before the session) is over in the rebuilt core too.
    episodes = [(e.state.value, e.by) for e in rebuilt.history if e.condition == "spo2_severe"]
    assert ("cleared", "nurse_a") in episodes


def row(sid: str, room: str, started: float) -> SessionRow:
    return SessionRow(sid, room, "", started, None, None, None, None, None)


def test_plan_resumes_recent_sessions_of_configured_rooms_and_closes_the_rest() -> None:
    now, six_h = T, 6 * 3600.0
    recent = row("A-2", "A", now - 3600)
    older_in_a = row("A-1", "A", now - 7200)
    too_old = row("B-1", "B", now - six_h - 1)
    gone = row("Z-1", "Z", now - 60)
    decided = plan([too_old, older_in_a, gone, recent], {"A", "B"}, now, six_h)
    assert decided.resume == {"A": recent}
    assert decided.close == [(too_old, TOO_OLD), (older_in_a, SUPERSEDED), (gone, NOT_CONFIGURED)]
    assert plan([recent], {"A"}, now, 0.0).close == [(recent, TOO_OLD)]


def test_a_session_older_than_the_limit_is_closed_with_why(recorder: Recorder) -> None:
    _, session = crashed_session(recorder)
    decided = plan(recorder.journal.open_sessions(), {ROOM}, T + 7 * 3600, 6 * 3600)
    assert decided.resume == {}
    assert recorder.close_stale_sessions(decided.close) == [session.id]
    assert recorder.sync()
    closed = recorder.journal.session(session.id)
    assert closed is not None and (closed.ended, closed.ended_by) == (T + 400, STOPPED_REASON)
    [entry] = recorder.journal.audit_entries(session=session.id, kinds=["session_closed"])
    assert entry.payload["why"] == TOO_OLD
    assert recorder.journal.verify().ok


def test_a_two_hour_session_is_rebuilt_in_well_under_a_second_or_two(recorder: Recorder) -> None:
    """~15,000 readings (SpO2 and pulse every second, BP every 5 min) and 7,200 ticks."""
    live = LiveRoom(recorder)
    live.put(Control(T, "session_start", {"pseudonym": "P-8"}, "dr_k"))
    live.put(Control(T + 300.5, "dose", {}, "dr_k"))
    for s in range(1, 7201):
        for r in (spo2(T + s, 97), pr(T + s, 72)):
            live.pipeline.feed(r)
            recorder.reading(ROOM, r)
        if s % 300 == 0:
            for r in bp(T + s, 122, 78, 92):
                live.pipeline.feed(r)
                recorder.reading(ROOM, r)
    assert recorder.sync()
    [session] = recorder.journal.open_sessions()
    t0 = time.perf_counter()
    recs = records(recorder.journal, session)
    rebuilt = rebuild(recs, RoomPipeline(ROOM))
    took = time.perf_counter() - t0
    print(f"2-h session: {len(recs)} inputs read and replayed in {took:.2f} s")
    assert len(recs) == 2 + 14_400 + 72
    assert rebuilt.pipeline.phase == "recovery" and rebuilt.pipeline.dose_t == T + 300.5
    assert took < 10  # measured about 0.5 s here; generous for a loaded CI machine


async def test_start_up_resumes_closes_or_fails_each_room_visibly(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    """The runtime's side (monitor/restart.py) on a real journal: room A resumes; room B's
    inputs end its session (the row's end was lost), so it is closed; room C's journal
    cannot be read back, so its session is closed with why and health says so."""
    from monitor.config import Settings
    from monitor.runtime import Vigil

    _, session_a = crashed_session(recorder)
    journal = recorder.journal
    for room, events in (("B", ["session_start", "session_end"]), ("C", ["session_start"])):
        sid = journal.start_session(room, T + 5, "", "dr_k")
        for k, event in enumerate(events):
            payload = {"event": event, "args": {}, "t": T + 5 + k, "outcome": "ok"}
            journal.audit("control", "dr_k", payload, t=T + 5 + k, room=room, session=sid)
    broken = {"source": "C-ox", "state": "exploded", "t": T + 8}
    journal.append("device", "C", T + 8, "device,room=C state=0", broken)
    assert recorder.sync()
    path = journal.path
    recorder.close()

    restart_t = T + 460
    settings = Settings(journal_path=path, rooms=[{"id": r} for r in "ABC"])
    vigil = Vigil(settings, clock=lambda: restart_t)
    try:
        vigil.started_at = restart_t
        vigil.restart.begin(restart_t)
        assert vigil.health()["resume"]["status"] == "resuming"
        # The new process may journal for the room before it is rebuilt (the notifier
        # cancelling its predecessor's pages): not an input, not the time of the stop.
        notice = {"type": "notification", "event": "receipt", "room": "A", "t": restart_t + 1}
        vigil.recorder.notification(notice)  # as the notifier records it (alerts/host.py)
        events = {"A": await vigil.restart.resume(vigil.rooms["A"], [])}
        # Protection is back once every room is: B and C still wait.
        assert vigil.health()["resume"]["status"] == "resuming"
        assert vigil.restart.protection_back_t is None
        both = await asyncio.gather(*(vigil.restart.resume(vigil.rooms[r], []) for r in "BC"))
        events |= dict(zip("BC", both, strict=True))
        health = vigil.health()["resume"]
        assert await vigil.restart.resume(vigil.rooms["A"], []) == []  # once only
        assert vigil.recorder.sync()
        open_ids = [s.id for s in vigil.recorder.journal.open_sessions()]
        closed = vigil.recorder.journal.audit_entries(kinds=["session_closed"])
    finally:
        vigil.recorder.close()
    assert transitions(events["A"]) == [(restart_t, MONITORING_INTERRUPTED, "active")]
    assert events["B"] == [] and events["C"] == []
    rooms = health["rooms"]
    assert (rooms["A"]["state"], rooms["A"]["gap_s"]) == ("resumed", 60.0)
    assert rooms["A"]["interruption_unacknowledged"] is True
    assert rooms["B"]["state"] == "closed"
    assert rooms["C"]["state"] == "failed" and "exploded" in rooms["C"]["error"]
    assert health["status"] == "attention" and health["protection_back_t"] == restart_t
    assert open_ids == [session_a.id]
    said = [r.getMessage() for r in caplog.records if r.name == "monitor.restart"]
    assert said[-1].startswith("protection back: 1 room(s) resumed"), said
    why = {e.room: e.payload["why"] for e in closed}
    assert why["B"] == ENDED and why["C"].startswith(FAILED.format(error="'exploded'"))
