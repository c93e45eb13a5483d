"""The journal's disk fills up during a session, end to end through `vigil run` (issue 11).

The journal lives on a real tmpfs of 4 MiB (root mounts one; where mount is refused the test
skips saying so). Mid-session the test fills the rest of the disk: Vigil raises
`journal_failed` (high, technical), and a desaturation that starts while the disk is full
still raises `spo2_severe`: alarms never depend on the record being written. Once space is
free again the alarm clears and the readings held in memory meanwhile are in the journal.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.store.journal import Journal
from tests.conftest import Influxd, VigilProcess, streamed
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

SIZE = "4m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a {SIZE} tmpfs here (needs root): {mount.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Write zeros until the disk is full (ENOSPC)."""
    filler = disk / "filler"
    block = b"\0" * 65536
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(block)
        except OSError:
            pass
        # The last partial block: whatever bytes are left.
        for size in (4096, 512, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                continue
    return filler


def _alarms(messages: list[dict[str, Any]], condition: str) -> list[dict[str, Any]]:
    return [
        m
        for m in list(messages)
        if m.get("type") == "alarm" and m["room"] == "A" and m["condition"] == condition
    ]


def test_a_full_journal_disk_raises_journal_failed_and_alarms_still_work(
    influxd: Influxd, tmp_path: Path, small_disk: Path
) -> None:
    journal_path = small_disk / "journal.sqlite3"
    config = tmp_path / "vigil.toml"
    config.write_text(f"""
influx_url = "{influxd.url}"
influx_database = "vigil_journal_full"
influx_batch_s = 0.2
journal_path = "{journal_path}"

[[rooms]]
id = "A"
auto_session_dose_after_s = 1
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "desaturation", interval_s = 0.5, options = {{ desat_start_s = 12, desat_duration_s = 60, nadir = 82 }} }}
""")  # noqa: E501
    vigil = VigilProcess(config, tmp_path)
    try:
        with streamed(vigil) as messages:
            wait_for(lambda: vigil.get("/api/rooms/A").json()["phase"] == "dosed", 10, "dosed")
            filler = fill(small_disk)
            full = time.time()
            failed = wait_for(lambda: _alarms(messages, "journal_failed"), 15, "journal_failed")[0]
            assert (failed["state"], failed["priority"], failed["kind"]) == (
                "active",
                "high",
                "technical",
            )
            assert failed["t"] - full < 5.0
            assert vigil.get("/api/health").json()["journal"]["status"] == "failed"
            # The desaturation begins while the disk is still full: the alarm is raised anyway.
            severe = wait_for(lambda: _alarms(messages, "spo2_severe"), 30, "spo2_severe")[0]
            assert (severe["state"], severe["priority"]) == ("active", "high")
            assert severe["t"] > failed["t"]
            assert vigil.get("/api/health").json()["journal"]["status"] == "failed"

            filler.unlink()
            wait_for(
                lambda: [m for m in _alarms(messages, "journal_failed") if m["state"] != "active"],
                15,
                "journal_failed resolved",
            )
            wait_for(
                lambda: vigil.get("/api/health").json()["journal"]["status"] == "ok",
                10,
                "journal ok",
            )
    finally:
        vigil.stop()
    # Nothing the disk refused is lost: the readings of the full period were written later.
    journal = Journal(journal_path)
    try:
        during = journal.points("A", failed["t"], severe["t"], ["reading"])
        assert len(during) >= 2 * int(severe["t"] - failed["t"]) - 2  # 2 channels, every 0.5 s
        assert journal.verify().ok
    finally:
        journal.close()
