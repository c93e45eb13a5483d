"""The journal's group commit: rows queued from the event loop (or any thread) are committed
by one writer thread in batches; a crash loses at most the last commit window; the audit
chain stays ordered under concurrent producers; a failing disk raises `journal_failed` and
loses nothing it can keep; retention prunes forwarded readings only, never the audit trail."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from monitor.config import Settings
from monitor.core.models import AlarmEvent, AlarmState, Control, Reading
from monitor.store import lineproto
from monitor.store.influx import InfluxStore
from monitor.store.journal import Journal
from monitor.store.recorder import DAY_S, Recorder
from tests.conftest import ROOT, Influxd

NOWHERE = "http://127.0.0.1:9"  # an InfluxDB that never answers: these tests do not forward


def append_reading(j: Journal, t: float, room: str = "A") -> None:
    r = Reading(t, "spo2", 97.0, "%", source="ox")
    j.append("reading", room, t, lineproto.reading_line(room, r), r.to_dict())


def test_many_appends_share_few_commits(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3", commit_window_s=0.05)
    for i in range(5_000):
        append_reading(j, 1000.0 + i)
    assert j.flush() is True
    assert j.count_points("reading") == 5_000
    assert 1 <= j.commits <= 50  # one fsync per window, not one per append
    assert j.pending() == 0
    j.close()


CRASHING_WRITER = """
import os, sys
from monitor.core.models import Reading
from tests.waiting import wait_for
from monitor.store import lineproto
from monitor.store.journal import Journal

j = Journal(sys.argv[1], commit_window_s=float(sys.argv[2]))
def reading(i):
    r = Reading(1000.0 + i, "spo2", 97.0, "%", source="ox")
    j.append("reading", "A", r.t, lineproto.reading_line("A", r), r.to_dict())
for i in range(3000):
    reading(i)
    if i % 500 == 0:
        j.audit("note", "nurse", {"text": f"note {i}"}, t=1000.0 + i, room="A")
wait_for(lambda: j.pending() == 0, 10, "the first half committed")  # durable now
print("committed", flush=True)
for i in range(3000, 6000):
    reading(i)
    if i % 500 == 0:
        j.audit("note", "nurse", {"text": f"note {i}"}, t=1000.0 + i, room="A")
os._exit(0)  # a crash: no close(), no flush, the writer thread dies mid-window
"""


def test_a_crash_loses_only_the_last_window(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, str(path), "0.1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert (done.returncode, done.stdout) == (0, "committed\n"), done.stderr
    with sqlite3.connect(path) as db:
        ts = [t for (t,) in db.execute("SELECT t FROM points WHERE kind = 'reading' ORDER BY id")]
    # Everything queued before the window passed is there, in order, and what survived of
    # the rest is a gap-free prefix: a crash loses a tail, never a row in the middle.
    assert len(ts) >= 3_000
    assert ts == [1000.0 + i for i in range(len(ts))]
    j = Journal(path, readonly=True)
    result = j.verify()
    notes = [e.payload["text"] for e in j.iter_audit()]
    j.close()
    assert result.ok and result.checked >= 6
    assert notes == [f"note {i}" for i in range(0, 500 * len(notes), 500)]
    # The journal opens again after the crash and the chain continues.
    j = Journal(path)
    j.audit("login", "admin", {"ok": True})
    assert (j.verify().ok, j.verify().checked) == (True, result.checked + 1)
    j.close()


def test_the_audit_chain_is_ordered_under_concurrent_producers(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3", commit_window_s=0.02)
    threads, per_thread = 8, 150
    returned: dict[int, list[bool]] = {k: [] for k in range(threads)}
    start = threading.Barrier(threads)

    def produce(k: int) -> None:
        start.wait()
        for i in range(per_thread):
            returned[k].append(j.audit("note", f"nurse{k}", {"n": i}, t=float(i), room="A"))
            append_reading(j, float(i))

    workers = [threading.Thread(target=produce, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert j.verify().ok and j.verify().checked == threads * per_thread
    entries = j.audit_entries()
    assert [e.id for e in entries] == list(range(1, threads * per_thread + 1))
    for k in range(threads):
        # Each producer's entries are in its own call order, every one accepted.
        mine = [e for e in entries if e.who == f"nurse{k}"]
        assert [e.payload["n"] for e in mine] == list(range(per_thread))
        assert returned[k] == [True] * per_thread
    assert j.count_points() == 2 * threads * per_thread  # each audit entry is also a point
    j.close()


def test_a_long_failure_keeps_the_audit_trail_and_raises_journal_failed(tmp_path: Path) -> None:
    """Beyond `max_backlog` held rows the oldest readings are given up (their lines already
    went to InfluxDB's memory queue); audit entries never are, so the chain has no hole."""
    events: list[AlarmEvent] = []
    store = InfluxStore(NOWHERE, "x")
    journal = Journal(tmp_path / "j.sqlite3", max_backlog=10)
    rec = Recorder(journal, store, on_alarm=events.append, clock=lambda: 7.0)
    journal.call_in_writer(lambda db: db.execute("PRAGMA query_only = 1"))
    for i in range(30):
        rec.reading("A", Reading(float(i), "spo2", 97.0, "%", source="ox"))
    rec.control_before("A", Control(t=40.0, event="session_start", by="nurse"))
    rec.audit("note", "nurse", {"text": "still here"}, t=41.0, room="A")
    assert rec.sync() is False
    # 33 rows held (30 readings, the session, 2 audit entries): the 23 oldest readings go.
    assert (store.pending, journal.dropped) == (30, 23)
    assert [(e.condition, e.state) for e in events] == [("journal_failed", AlarmState.ACTIVE)]
    journal.call_in_writer(lambda db: db.execute("PRAGMA query_only = 0"))
    assert rec.sync() is True
    assert [(e.condition, e.state) for e in events][1:] == [("journal_failed", AlarmState.CLEARED)]
    sid = journal.open_session("A")
    assert [(e.kind, e.session) for e in journal.iter_audit()] == [
        ("control", sid),
        ("note", sid),
    ]
    assert journal.verify().ok
    assert [p.t for p in journal.points("A", 0, 100, ["reading"])] == [
        float(i) for i in range(23, 30)
    ]
    assert [s.id for s in journal.sessions("A")] == [sid]
    rec.close()


async def test_retention_prunes_only_forwarded_old_readings(
    influxd: Influxd, tmp_path: Path
) -> None:
    now = 1_800_000_000.0
    store = InfluxStore(influxd.url, "vigil_retention")
    rec = Recorder(Journal(tmp_path / "j.sqlite3"), store, clock=lambda: now, retention_days=2)

    def at(days_ago: float) -> float:
        return now - days_ago * DAY_S

    for days in (5, 3, 1):
        rec.reading("A", Reading(at(days), "spo2", 97.0, "%", source="ox"))
        rec.audit("note", "nurse", {"text": f"{days} days ago"}, t=at(days), room="A")
    assert await rec.forwarder.forward_once()
    rec.reading("A", Reading(at(4), "spo2", 96.0, "%", source="ox"))  # not forwarded yet
    assert await rec.committed()
    assert await rec.prune() == 2  # the 5- and 3-day-old readings InfluxDB has
    assert await rec.prune() == 0
    kept = [(p.kind, (now - p.t) / DAY_S) for p in rec.journal.points("A", 0, now)]
    assert sorted(kept) == [
        ("audit", 1.0),
        ("audit", 3.0),
        ("audit", 5.0),
        ("reading", 1.0),
        ("reading", 4.0),  # old but unsent: kept until InfluxDB has it
    ]
    assert (rec.journal.verify().ok, rec.journal.verify().checked) == (True, 3)
    assert await rec.forwarder.forward_once()
    assert await rec.prune() == 1
    assert rec.health()["pruned"] == 3
    rows = influxd.query("SELECT count(value) FROM reading", db="vigil_retention")
    assert rows[0]["count"] == 4  # InfluxDB keeps what the journal pruned
    rec.close()
    await store.aclose()


async def test_without_retention_nothing_is_pruned(tmp_path: Path) -> None:
    rec = Recorder(Journal(tmp_path / "j.sqlite3"), InfluxStore(NOWHERE, "x"), clock=lambda: 1e9)
    rec.reading("A", Reading(1.0, "spo2", 97.0, "%", source="ox"))
    rec.journal.call_in_writer(lambda db: db.execute("UPDATE points SET forwarded = 1"))
    assert await rec.prune() == 0
    assert rec.journal.count_points("reading") == 1
    rec.close()


def test_journal_prune_works_in_chunks(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    for i in range(5):
        append_reading(j, float(i))
    j.flush()
    j.mark_forwarded([1, 2, 3, 4, 5])
    assert [j.prune(100.0, limit=2) for _ in range(4)] == [2, 2, 1, 0]
    j.close()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("journal_retention_days", -1),
        ("journal_commit_window_s", 0),
        ("journal_commit_window_s", 10),
    ],
)
def test_bad_journal_settings_name_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        Settings(**{field: value})


def test_settings_reach_the_journal_and_recorder(tmp_path: Path) -> None:
    from monitor.runtime import Vigil

    settings = Settings(
        journal_path=tmp_path / "j.sqlite3",
        journal_commit_window_s=0.25,
        journal_retention_days=30,
    )
    vigil = Vigil(settings)
    assert (vigil.recorder.journal.commit_window_s, vigil.recorder.retention_days) == (0.25, 30)
    vigil.recorder.close()


async def test_appends_from_the_loop_are_forwardable_once_committed(tmp_path: Path) -> None:
    """The forwarder reads only committed rows; `committed()` waits without blocking."""
    j = Journal(tmp_path / "j.sqlite3", commit_window_s=1.0)
    append_reading(j, 1.0)
    assert j.unsent(10) == []  # queued, inside its commit window: not durable, not sent
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    assert await j.committed() is True
    task.cancel()
    assert ticks >= 1  # the loop ran while the commit was in progress
    assert [i for i, _ in j.unsent(10)] == [1]
    j.close()


def test_two_writers_on_one_file_keep_one_chain(tmp_path: Path) -> None:
    """The service and `vigil users` (another process) append to the same journal: ids and
    hashes come from the stored head inside each commit, so the chain never forks."""
    service = Journal(tmp_path / "j.sqlite3", commit_window_s=0.01)
    cli = Journal(tmp_path / "j.sqlite3", commit_window_s=0.01)
    for i in range(20):
        service.audit("note", "nurse", {"n": i}, t=float(i), room="A")
        append_reading(service, float(i))
        if i % 3 == 0:
            assert service.flush()
            cli.audit("auth", "admin@cli", {"action": "user_added", "n": i})
            assert cli.flush()
    assert service.flush()
    cli.close()
    check = service.verify()
    assert check.ok and check.checked == 20 + 7
    ids = [e.id for e in service.audit_entries()]
    assert ids == list(range(1, 28))
    service.close()
