"""Acknowledge tokens, page text, paging config and `vigil notify test`."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.config import AlertsConfig, Contact
from alerts.message import Message, render
from alerts.notifier import with_channel_extras
from alerts.policy import Page, PageKind
from alerts.tokens import (
    AckClaim,
    AckTokens,
    TokenError,
    TokenProblem,
    UsedTokens,
    check,
    new_claim,
    sign,
)
from monitor.config import ConfigError, load_settings
from monitor.core.models import AlarmEvent, AlarmKind, AlarmState, Priority
from tests.conftest import ROOT, free_port
from tests.paging_helpers import RecordingHost
from tests.receivers import HttpReceiver

STRONG = "xO0nwMAZX5H1dKwWO3lP7zyfrITL8SwXQnlHrUlgT2M"  # secrets.token_urlsafe(32)
SECRET = b"k" * 40
CLAIM = AckClaim("B", "spo2_low", 100.0, "Nurse A", "ntfy", 1000.0, "abc")


# -- tokens ---------------------------------------------------------------------------------
def test_token_round_trip() -> None:
    assert check(sign(CLAIM, SECRET), SECRET, now=999.9) == CLAIM


def _flip_last(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize(
    ("token", "secret", "now", "problem"),
    [
        (sign(CLAIM, SECRET), SECRET, 1000.0, TokenProblem.EXPIRED),  # expiry is exclusive
        (sign(CLAIM, b"another secret"), SECRET, 0.0, TokenProblem.FORGED),
        (_flip_last(sign(CLAIM, SECRET)), SECRET, 0.0, TokenProblem.FORGED),
        # a payload edited to another room keeps the old signature: refused
        (
            sign(replace(CLAIM, room="C"), SECRET).split(".")[0]
            + "."
            + sign(CLAIM, SECRET).split(".")[1],
            SECRET,
            0.0,
            TokenProblem.FORGED,
        ),
        ("", SECRET, 0.0, TokenProblem.FORGED),
        ("no-dot-at-all", SECRET, 0.0, TokenProblem.FORGED),
        ("é.é", SECRET, 0.0, TokenProblem.FORGED),
    ],
    ids=["expired", "other-secret", "bad-signature", "edited-payload", "empty", "no-dot", "utf8"],
)
def test_refused_tokens(token: str, secret: bytes, now: float, problem: TokenProblem) -> None:
    with pytest.raises(TokenError) as err:
        check(token, secret, now)
    assert err.value.problem == problem


@given(st.data())
def test_any_edit_to_a_token_is_refused(data: st.DataObject) -> None:
    token = sign(CLAIM, SECRET)
    i = data.draw(st.integers(0, len(token) - 1))
    c = data.draw(st.characters(codec="ascii").filter(lambda ch: ch != token[i]))
    with pytest.raises(TokenError) as err:
        check(token[:i] + c + token[i + 1 :], SECRET, now=0.0)
    assert err.value.problem == TokenProblem.FORGED


def test_single_use_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "t.sqlite"
    tokens = AckTokens(STRONG, 60.0, UsedTokens(db))
    token, issued = tokens.issue(
        room="B", condition="spo2_low", since=1.0, contact="N", channel="json", now=0.0
    )
    assert tokens.peek(token, 1.0) == tokens.peek(token, 2.0) == issued  # peeking does not use it
    claim = tokens.redeem(token, 3.0)
    assert (claim.room, claim.condition, claim.since, claim.exp) == ("B", "spo2_low", 1.0, 60.0)
    tokens.used.close()
    again = AckTokens(STRONG, 60.0, UsedTokens(db))
    for use in (again.peek, again.redeem):
        with pytest.raises(TokenError) as err:
            use(token, 4.0)
        assert err.value.problem == TokenProblem.USED
    other, _ = again.issue(
        room="B", condition="spo2_low", since=1.0, contact="N", channel="json", now=0.0
    )
    assert again.redeem(other, 5.0).jti != claim.jti


def test_claims_get_distinct_ids() -> None:
    ids = {
        new_claim(room="B", condition="c", since=None, contact="n", channel="j", exp=1).jti
        for _ in range(100)
    }
    assert len(ids) == 100


# -- message --------------------------------------------------------------------------------
ALARM = AlarmEvent(
    t=7200.0,
    room="B",
    condition="spo2_low",
    kind=AlarmKind.PHYSIOLOGICAL,
    channel="spo2",
    priority=Priority.HIGH,
    state=AlarmState.ESCALATED,
    value=84.5,
    limit=90.0,
    baseline=97.0,
    reason="SpO2 84.5 % < 90 % for 15 s",
    tier=2,
    since=7140.0,
)


def test_escalation_message_whole() -> None:
    page = Page(7201.0, PageKind.ESCALATION, (2,), ALARM)
    got = render(page, room_name="Room B", ack_url="http://v/ack/x", dose_t=3600.0, utc_offset_s=0)
    assert got == Message(
        title="ESCALATED HIGH: SpO2 low, Room B",
        body="SpO2 low in Room B (high priority)\n"
        "now 84.5%, limit 90%, baseline 97%\n"
        "Alarm since 01:59:00\n"
        "60 min since dose\n"
        "Escalated to tier 2: not acknowledged yet.\n"
        "Sent 02:00:01\n"
        "Acknowledge: http://v/ack/x\n"
        "Vigil is a secondary alarm: check the patient and the bedside monitor.",
    )


def test_technical_message_says_why_and_has_no_numbers() -> None:
    tech = AlarmEvent(
        t=10.0,
        room="C",
        condition="notify_failed",
        kind=AlarmKind.TECHNICAL,
        channel=None,
        priority=Priority.HIGH,
        state=AlarmState.ACTIVE,
        reason="tier 1 could not be paged about spo2_low: every channel failed",
    )
    got = render(
        Page(10.0, PageKind.FIRST, (1, 2, 3), tech), room_name="C", ack_url=None, utc_offset_s=0
    )
    assert got.body.splitlines() == [
        "Paging failed in C (high priority)",
        "tier 1 could not be paged about spo2_low: every channel failed",
        "Sent 00:00:10",
        "Vigil is a secondary alarm: check the patient and the bedside monitor.",
    ]


@pytest.mark.parametrize(
    ("url", "priority", "expected"),
    [
        (
            "ntfy://h/t",
            Priority.HIGH,
            "ntfy://h/t?priority=max&actions=http%2C%20Acknowledge%2C%20http%3A%2F%2Fv%2Fack%2Fx"
            "%2C%20method%3DPOST%2C%20clear%3Dtrue&click=http%3A%2F%2Fv%2Fack%2Fx",
        ),
        (
            "ntfy://h/t?priority=low",
            Priority.HIGH,
            "ntfy://h/t?priority=low&actions="
            "http%2C%20Acknowledge%2C%20http%3A%2F%2Fv%2Fack%2Fx%2C%20method%3DPOST%2C%20clear%3Dtrue"
            "&click=http%3A%2F%2Fv%2Fack%2Fx",
        ),
        (
            "pover://u@t",
            Priority.HIGH,
            "pover://u@t?priority=emergency&url=http%3A%2F%2Fv%2Fack%2Fx&url_title=Acknowledge",
        ),
        (
            "pover://u@t?priority=normal",
            Priority.HIGH,
            "pover://u@t?priority=normal&url=http%3A%2F%2Fv%2Fack%2Fx&url_title=Acknowledge",
        ),
        ("json://h/x", Priority.HIGH, "json://h/x"),
    ],
)
def test_channel_extras(url: str, priority: Priority, expected: str) -> None:
    assert with_channel_extras(url, ack_url="http://v/ack/x", priority=priority) == expected


def test_pushover_url_with_the_ack_link_is_what_apprise_sends() -> None:
    """Apprise reads the extras back as Pushover's priority and supplementary URL."""
    import apprise

    url = with_channel_extras(
        "pover://ukey@atoken", ack_url="http://v/ack/x?y=1", priority=Priority.HIGH
    )
    plugin = apprise.Apprise.instantiate(url)
    assert plugin is not None
    assert (plugin.priority, plugin.supplemental_url, plugin.supplemental_url_title) == (
        2,
        "http://v/ack/x?y=1",
        "Acknowledge",
    )


# -- config ---------------------------------------------------------------------------------
def _write(tmp_path: Path, alerts: str, rooms: bool = True) -> Path:
    room = (
        '[[rooms]]\nid = "A"\n[[rooms.devices]]\nid = "x"\nprotocol = "masimo-ascii"\n'
        'port = "/dev/null"\n'
    )
    p = tmp_path / "v.toml"
    p.write_text(alerts + "\n" + (room if rooms else ""))
    return p


NURSE = '[[alerts.contacts]]\nname = "N"\ntier = 1\nurls = ["json://127.0.0.1:9/x"]\n'


@pytest.mark.parametrize(
    ("alerts", "field"),
    [
        ("[alerts]\n" + NURSE, "alerts.secret"),  # paging configured, no secret
        ('[alerts]\nsecret = "changeme"\n' + NURSE, "alerts.secret"),
        (
            '[alerts]\nsecret = "' + STRONG + '"\n[[alerts.contacts]]\nname = "N"\ntier = 1\n'
            'urls = ["nosuch://x"]\n',
            "alerts.contacts.0.urls",
        ),
        (
            '[alerts]\nsecret = "' + STRONG + '"\n' + NURSE.replace("tier = 1", "tier = 2"),
            "alerts",
        ),
        ("[alerts]\nrepeat_s = { high = 0 }\n", "alerts.repeat_s"),
        ('[alerts]\nack_base_url = "ftp://x"\n', "alerts.ack_base_url"),
        ('[alerts]\npushover_api_url = "api.pushover.net"\n', "alerts.pushover_api_url"),
        ("[alerts]\npushover_poll_s = 1\n", "alerts.pushover_poll_s"),
        ("[alerts]\npushover_callback = true\n", "pushover_callback: needs ack_base_url"),
        (
            '[alerts]\nsecret = "' + STRONG + '"\n' + NURSE + "rooms = []\n",
            "alerts.contacts.0.rooms: an empty list would page this contact for every room",
        ),
    ],
    ids=[
        "no-secret",
        "placeholder-secret",
        "bad-url",
        "no-tier-1",
        "zero-repeat",
        "bad-base",
        "bad-pushover-api",
        "poll-too-fast",
        "callback-without-base",
        "empty-rooms",
    ],
)
def test_bad_alerts_config_names_the_field(tmp_path: Path, alerts: str, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(_write(tmp_path, alerts))
    assert field in str(err.value)
    assert "json://127.0.0.1:9/x" not in str(err.value)  # URLs may hold tokens: never echoed


def test_demo_generates_a_secret(tmp_path: Path) -> None:
    a = load_settings(_write(tmp_path, "[alerts]\n" + NURSE, rooms=False))
    b = load_settings(_write(tmp_path, "[alerts]\n" + NURSE, rooms=False))
    sa, sb = a.alerts.secret.get_secret_value(), b.alerts.secret.get_secret_value()
    assert a.demo and len(sa) >= 32 and sa != sb


def test_contacts_fall_back_to_the_nearest_lower_tier() -> None:
    nurse = Contact(name="N", tier=1, urls=["json://h/x"], rooms=["B"])
    charge = Contact(name="C", tier=2, urls=["json://h/y"])
    cfg = AlertsConfig(contacts=[nurse, charge])
    assert cfg.contacts_for(3, "B") == (2, [charge])
    assert cfg.contacts_for(1, "B") == (1, [nurse])
    assert cfg.contacts_for(1, "Z") == (1, [])


# -- vigil notify test ----------------------------------------------------------------------
def test_notify_test_sends_a_page_and_reports_failures(tmp_path: Path) -> None:
    http = HttpReceiver()
    closed = free_port()
    try:
        config = _write(
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


# -- notifier (in process, real receiver) -----------------------------------------------------
async def test_retries_stop_once_the_alarm_is_acknowledged(tmp_path: Path) -> None:
    import asyncio

    from alerts.notifier import Notifier
    from monitor.core.models import Control

    http = HttpReceiver(status=500)  # the push server is failing
    published: list[dict[str, object]] = []
    injected: list[tuple[str, Control]] = []
    cfg = AlertsConfig(
        contacts=[Contact(name="N", tier=1, urls=[f"json://127.0.0.1:{http.port}/n"])],
        secret=STRONG,  # type: ignore[arg-type]
        retry_attempts=5,
        backoff_initial_s=0.3,
        token_db=tmp_path / "t.sqlite",
    )
    notifier = Notifier(
        cfg,
        base_url="http://127.0.0.1:1",
        room_names={"B": "Room B"},
        host=RecordingHost(published=published, injected=injected),
    )
    runner = asyncio.create_task(notifier.run())
    try:
        now = time.time()  # the notifier's clock times the repeats
        active = replace(ALARM, state=AlarmState.ACTIVE, tier=1, t=now, since=now)
        notifier.on_event(active)
        for _ in range(100):
            if len(http.requests) >= 2:
                break
            await asyncio.sleep(0.02)
        notifier.on_event(replace(active, t=now + 0.5, state=AlarmState.ACKNOWLEDGED, by="x"))
        await asyncio.sleep(1.5)  # longer than the remaining backoff
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        http.close()
    results = [m["result"] for m in published if m["event"] == "delivery"]
    assert results == ["failed", "failed", "withdrawn"]
    assert len(http.requests) == 2
    assert injected == []  # an acknowledged alarm's page is no failure to reach anyone
