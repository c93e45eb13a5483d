"""What IT installs: the systemd unit (systemd's own verifier) and docker compose's
restart policies and healthchecks."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "vigil.service"


def test_the_systemd_unit_is_a_notify_service_with_a_watchdog_and_passes_systemd_verify(
    tmp_path: Path,
) -> None:
    unit = configparser.ConfigParser(strict=True, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    unit.read(UNIT)
    service = unit["Service"]
    assert (service["Type"], service["Restart"], service["NotifyAccess"]) == (
        "notify",
        "always",
        "main",
    )
    assert int(service["WatchdogSec"]) >= 10  # WATCHDOG=1 every half of it, from the loop
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"  # never gives up restarting
    assert service["ProtectSystem"] == "strict" and service["NoNewPrivileges"] == "yes"
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None, "systemd-analyze (Debian's systemd package) is needed"
    # Verified as installed, with the interpreter of this checkout standing in for the venv.
    copy = tmp_path / "vigil.service"
    exec_start = service["ExecStart"]
    copy.write_text(UNIT.read_text().replace(exec_start.split()[0], sys.executable))
    result = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stderr.strip()) == (0, "")


def test_every_compose_service_restarts_and_has_a_healthcheck() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        assert service.get("restart") == "unless-stopped", name
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    vigil = compose["services"]["vigil"]
    assert "http://127.0.0.1:8000/api/health/live" in " ".join(vigil["healthcheck"]["test"])
