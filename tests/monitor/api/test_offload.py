"""The pieces that let reads run off the event loop: the journal's pooled read connections
(concurrent reads from many threads while its writer commits), the readings read back from
the journal when InfluxDB is down, the chunked JSON encoder, and single use of acknowledge
tokens redeemed from several threads at once."""

from __future__ import annotations

import asyncio
import json
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from alerts.tokens import AckTokens, TokenError, TokenProblem, UsedTokens
from monitor.api.routes.offload import CHUNK, encode_json
from monitor.core.models import Flag, Reading
from monitor.report.model import ReadingRow
from monitor.report.query import SessionQueries
from monitor.store import lineproto
from monitor.store.influx import InfluxStore
from monitor.store.journal import Journal
from tests.conftest import free_port

T0 = 1.8e9


def _append(j: Journal, r: Reading, room: str = "A") -> None:
    j.append("reading", room, r.t, lineproto.reading_line(room, r), r.to_dict())


def test_journal_readings_when_influxdb_is_down(tmp_path: Path) -> None:
    """What a report shows for each kind of stored reading, read back from the journal."""
    cases: list[tuple[Reading, ReadingRow]] = [
        (
            Reading(T0 + 1, "spo2", 97.0, "%", source="A-ox"),
            ReadingRow(T0 + 1, "spo2", 97.0, True, "", "A-ox"),
        ),
        (  # an excluding flag: recorded, not valid
            Reading(T0 + 2, "spo2", 88.0, "%", frozenset({Flag.MOTION}), source="A-ox"),
            ReadingRow(T0 + 2, "spo2", 88.0, False, "motion", "A-ox"),
        ),
        (  # a flag that does not exclude, and several flags sorted
            Reading(T0 + 3, "pulse_rate", 61, "bpm", frozenset({"low_battery", "irregular_pulse"})),
            ReadingRow(T0 + 3, "pulse_rate", 61.0, True, "irregular_pulse,low_battery", ""),
        ),
        (  # no value: the device said why
            Reading(T0 + 4, "spo2", None, "%", frozenset({Flag.PROBE_OFF}), source="A-ox"),
            ReadingRow(T0 + 4, "spo2", None, False, "probe_off", "A-ox"),
        ),
        (  # a name with quotes and non-ASCII survives the JSON round trip
            Reading(T0 + 5, "sbp", 121.5, "mmHg", source='cuff "Ä"'),
            ReadingRow(T0 + 5, "sbp", 121.5, True, "", 'cuff "Ä"'),
        ),
    ]
    j = Journal(tmp_path / "j.sqlite3")
    for reading, _ in reversed(cases):  # stored out of order: read back by time
        _append(j, reading)
    _append(j, Reading(T0 + 3, "spo2", 99.0, "%"), room="B")  # another room
    _append(j, Reading(T0 + 9, "spo2", 99.0, "%"))  # outside the window
    j.audit("note", "n", {"text": "not a reading"}, t=T0 + 2, room="A")

    async def read() -> tuple[list[ReadingRow], str]:
        store = InfluxStore(f"http://127.0.0.1:{free_port()}", "down")  # nothing listens
        try:
            return await SessionQueries(j, store).readings("A", T0, T0 + 5)
        finally:
            await store.aclose()

    rows, source = asyncio.run(read())
    j.close()
    assert (rows, source) == ([row for _, row in cases], "journal")


def test_journal_reads_from_many_threads_while_writing(tmp_path: Path) -> None:
    """Reads borrow their own connection: many threads read at once while the writer commits,
    each sees a consistent, growing journal, and close() closes every connection."""
    j = Journal(tmp_path / "j.sqlite3", commit_window_s=0.005)
    total = 1_500

    def write() -> None:
        for n in range(total):
            _append(j, Reading(T0 + n, "spo2", 97.0, "%"))
            if n % 100 == 0:
                j.flush()

    def read(k: int) -> list[int]:
        seen = []
        for _ in range(20):
            points = j.points("A", T0, T0 + 1e6, ["reading"])
            assert [p.t for p in points] == [T0 + i for i in range(len(points))]  # no holes
            seen.append(len(points))
            if k % 2:  # another query on another borrowed connection
                assert j.count_points("reading") >= len(points)
        return seen

    with ThreadPoolExecutor(9) as pool:
        writer = pool.submit(write)
        readers = [pool.submit(read, k) for k in range(8)]
        counts = [f.result() for f in readers]
        writer.result()
    assert all(c == sorted(c) for c in counts)  # never went backwards
    assert j.count_points("reading") == total
    assert 1 <= len(j._pool.idle) <= 9  # one per concurrent reader at most, all returned
    pooled = list(j._pool.idle)
    j.close()
    for db in pooled:
        with pytest.raises(Exception, match="closed"):
            db.execute("SELECT 1")
    with pytest.raises(Exception, match="closed"):
        j.sessions()


BIG = [{"t": T0 + i, "channel": "spo2", "value": 97.5, "valid": True} for i in range(5_003)]


@pytest.mark.parametrize(
    "value",
    [
        [],
        {},
        BIG,
        {"room": "A", "trend": {"spo2": [[T0 + i, 97.0] for i in range(2 * CHUNK + 1)]}},
        {"nested": {"deep": BIG[: CHUNK + 1], "none": None, "ü": "Ä"}, "n": 3},
        [BIG[:3], "x", None, 1.5],
        BIG[:CHUNK],
    ],
)
def test_encode_json_is_plain_json(value: Any) -> None:
    assert json.loads(encode_json(value)) == value
    plain = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    assert encode_json(value) == plain.encode()


@pytest.mark.parametrize("value", [[math.nan], {"a": [1.0] * CHUNK + [math.inf]}])
def test_encode_json_refuses_nan(value: Any) -> None:
    with pytest.raises(ValueError):
        encode_json(value)


def test_ack_token_is_used_once_when_redeemed_from_many_threads(tmp_path: Path) -> None:
    tokens = AckTokens("secret", 600.0, UsedTokens(tmp_path / "used.db"))
    token, _ = tokens.issue(
        room="A", condition="spo2_low", since=T0, contact="nurse", channel="ntfy", now=T0
    )
    barrier = threading.Barrier(8)

    def redeem(_: int) -> str:
        barrier.wait()
        try:
            tokens.redeem(token, T0 + 1)
        except TokenError as err:
            return err.problem.value
        return "ok"

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(redeem, range(8)))
    assert outcomes == ["ok"] + [TokenProblem.USED.value] * 7
    with pytest.raises(TokenError) as err:
        tokens.peek(token, T0 + 2)
    assert err.value.problem == TokenProblem.USED
    tokens.used.close()


def test_a_read_racing_close_does_not_hang(tmp_path: Path) -> None:
    """A worker thread's read whose commit barrier is queued after the writer stopped (the
    server shutting down meanwhile) returns instead of waiting forever for a commit."""
    j = Journal(tmp_path / "j.sqlite3")
    writer = j._writer._thread
    _append(j, Reading(T0, "spo2", 97.0, "%"))
    j.close()
    j._writer._thread = writer  # what a read saw when it checked, just before close() ended
    results: list[bool] = []
    reader = threading.Thread(target=lambda: results.append(j.flush()), daemon=True)
    reader.start()
    reader.join(5)
    assert results == [True], "the read waited for a writer that has stopped"
