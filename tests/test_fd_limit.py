"""`vigil run` raises the open-files limit for many devices, or says it cannot."""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Iterator

import pytest

from monitor.config import DeviceConfig, RoomConfig, Settings, SimulatorConfig
from monitor.fd_limit import BASE_FILES, files_needed, raise_open_files


@pytest.fixture
def restore_limit() -> Iterator[tuple[int, int]]:
    limits = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield limits
    resource.setrlimit(resource.RLIMIT_NOFILE, limits)


def test_files_needed_counts_devices_and_simulator_ptys() -> None:
    rooms = [
        RoomConfig(
            id=f"R{i}",
            devices=[
                DeviceConfig(id=f"R{i}-ox", protocol="masimo-ascii", port="/dev/ttyUSB0"),
                DeviceConfig(id=f"R{i}-cuff", protocol="suntech", simulate=SimulatorConfig()),
            ],
        )
        for i in range(10)
    ]
    assert files_needed(Settings(rooms=rooms)) == BASE_FILES + 10 * (1 + 3)


def test_low_soft_limit_is_raised(restore_limit: tuple[int, int]) -> None:
    soft, hard = restore_limit
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    want = 1000 if hard == resource.RLIM_INFINITY else min(1000, hard)
    assert raise_open_files(want) is None
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == want


def test_limit_that_cannot_be_raised_is_named() -> None:
    # A lowered hard limit cannot be raised again: in a process of its own.
    code = (
        "import resource; from monitor.fd_limit import raise_open_files; "
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256)); "
        "print(raise_open_files(5000))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert out.startswith("open files: the configured devices need about 5000 but the limit")
    assert "hard limit is 256" in out and "ulimit -n" in out
