"""`vigil notify test`: one test page to a contact, and a clear report of what failed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.alerts.test_config import write_config
from tests.alerts.test_tokens import STRONG
from tests.conftest import ROOT, free_port
from tests.receivers import HttpReceiver


def test_notify_test_sends_a_page_and_reports_failures(tmp_path: Path) -> None:
    http = HttpReceiver()
    closed = free_port()
    try:
        config = write_config(
            tmp_path,
            f'[alerts]\nsecret = "{STRONG}"\nretry_attempts = 1\n'
            f'[[alerts.contacts]]\nname = "Nurse A"\ntier = 1\n'
            f'urls = ["ntfy://127.0.0.1:{http.port}/nurse-a"]\n'
            f'[[alerts.contacts]]\nname = "Gone"\ntier = 1\n'
            f'urls = ["json://127.0.0.1:{closed}/x"]\n',
        )

        def vigil(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "monitor", "notify", "test", *args, "--config", str(config)],
                capture_output=True,
                text=True,
                timeout=60,
                cwd=ROOT,
            )

        ok = vigil("Nurse A")
        assert (ok.returncode, ok.stdout) == (0, "Nurse A via ntfy: delivered\n")
        [req] = http.to("/nurse-a")
        assert req.body["title"] == "TEST MEDIUM: test page, (test)"
        assert "Test page from `vigil notify test`" in req.body["message"]
        assert "X-Actions" not in req.headers  # nothing to acknowledge

        bad = vigil("Gone")
        assert bad.returncode == 1 and bad.stdout.startswith("Gone via webhook: FAILED: ")
        unknown = vigil("Nobody")
        assert unknown.returncode == 2 and "no contact 'Nobody'" in unknown.stderr
    finally:
        http.close()
