"""`vigil run` raises its open-files soft limit for its devices (a child process each, as
lowering a hard limit cannot be undone)."""

from __future__ import annotations

import resource
import subprocess
import sys

SCRIPT = """
import resource, sys
from monitor.fd_limit import raise_open_files_limit
print(raise_open_files_limit(int(sys.argv[1])))
print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
"""


def run_with_limit(soft: int, hard: int, devices: int) -> list[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    out = subprocess.run([sys.executable, "-c", SCRIPT, str(devices)], preexec_fn=limit,
                         capture_output=True, text=True, check=True, timeout=30)  # fmt: skip
    return out.stdout.splitlines()


def test_soft_limit_is_raised_to_what_the_devices_need() -> None:
    assert run_with_limit(1024, 4096, 300) == ["None", str(300 * 8 + 1024)]


def test_enough_already_is_left_alone() -> None:
    assert run_with_limit(4000, 4096, 100) == ["None", "4000"]


def test_a_hard_limit_too_low_is_said_with_the_numbers() -> None:
    warning, soft = run_with_limit(1024, 2048, 1000)
    assert soft == "2048"
    assert warning.startswith("open files: the hard limit 2048 is below the 9024 that 1000 devices")
