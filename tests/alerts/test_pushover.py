"""Pushover emergency pages: target and form (pure), the API client against a fake Pushover
API on loopback, and the notifier's receipts (superseded, cancelled when acknowledged
elsewhere, acknowledged in the app through the receipt poll)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from alerts.config import AlertsConfig, Contact
from alerts.message import Message
from alerts.notifier import Notifier
from alerts.pushover import (
    PushoverApi,
    PushoverError,
    PushoverTarget,
    ReceiptStatus,
    Recipient,
    message_form,
    parse_receipt,
    pushover_target,
)
from monitor.core.models import AlarmEvent, AlarmKind, AlarmState, Control, Priority
from tests.conftest import free_port
from tests.paging_helpers import RecordingHost
from tests.receivers import FakePushover
from tests.waiting import wait_for_async

APP = "a" * 30
USER = "u" * 30
ACK = "http%3A%2F%2Fv%2Fack%2Fx"


def _target(**changes: Any) -> PushoverTarget:
    base = PushoverTarget(APP, (Recipient(USER, ""),), 2, None, 30, 900, None, None)
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"pover://{USER}@{APP}?priority=emergency", _target()),
        (
            f"pover://{USER}@{APP}?priority=emergency&url={ACK}&url_title=Acknowledge",
            _target(url="http://v/ack/x", url_title="Acknowledge"),
        ),
        (
            f"pover://{USER}@{APP}/phone1/phone2?priority=2&interval=60&expire=600&sound=siren",
            _target(
                recipients=(Recipient(USER, "phone1,phone2"),),
                retry_s=60,
                expire_s=600,
                sound="siren",
            ),
        ),
        # The link's lifetime caps the expiry: a page never rings longer than it can be
        # acknowledged.
        (f"pover://{USER}@{APP}?priority=emergency&expire=3000", _target()),
        (
            f"pover://{USER}@{APP}/%23{'g' * 30}?priority=emergency",
            _target(recipients=(Recipient("g" * 30, ""),)),
        ),
        (f"pover://{USER}@{APP}?priority=high", _target(priority=1)),  # no receipt
        (f"pover://{USER}@{APP}", _target(priority=0)),
        (f"pover://{USER}@{APP}?priority=emergency&key={'0' * 64}", None),  # E2EE: Apprise
        ("ntfy://127.0.0.1/topic", None),
        ("json://127.0.0.1/hook", None),
    ],
    ids=[
        "plain",
        "ack-link",
        "devices-retry-expire-sound",
        "expire-capped",
        "group",
        "high",
        "normal",
        "e2ee",
        "ntfy",
        "json",
    ],
)
def test_pushover_target(url: str, expected: PushoverTarget | None) -> None:
    assert pushover_target(url, expire_cap_s=900) == expected


def test_message_form_whole() -> None:
    target = _target(url="http://v/ack/x", url_title="Acknowledge", sound="siren")
    form = message_form(
        target,
        Recipient(USER, "phone1"),
        Message("HIGH: SpO2 low, Room B", "SpO2 low in Room B"),
        callback="https://vigil.example/ack/pushover/tok",
        timestamp=1_700_000_000.7,
    )
    assert form == {
        "token": APP,
        "user": USER,
        "device": "phone1",
        "title": "HIGH: SpO2 low, Room B",
        "message": "SpO2 low in Room B",
        "priority": "2",
        "retry": "30",
        "expire": "900",
        "timestamp": "1700000000",
        "sound": "siren",
        "url": "http://v/ack/x",
        "url_title": "Acknowledge",
        "callback": "https://vigil.example/ack/pushover/tok",
    }
    bare = message_form(
        _target(), Recipient(USER, ""), Message("t", "b"), callback=None, timestamp=0
    )
    assert not {"device", "sound", "url", "url_title", "callback"} & set(bare)
    high = message_form(
        _target(priority=1), Recipient(USER, ""), Message("t", "b"), callback="x", timestamp=0
    )
    assert high == {
        "token": APP,
        "user": USER,
        "title": "t",
        "message": "b",
        "priority": "1",
        "timestamp": "0",
    }  # no retry, expire or callback: those are for emergency messages


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            {"status": 1, "acknowledged": 1, "acknowledged_at": 1360019238,
             "acknowledged_by_device": "iphone", "expired": 0},
            ReceiptStatus(True, 1360019238.0, "iphone", False),
        ),
        (
            {"status": 1, "acknowledged": 0, "acknowledged_at": 0, "expired": 1},
            ReceiptStatus(False, None, "", True),
        ),
        ({"status": 1}, ReceiptStatus(False, None, "", False)),
        ({"status": 0, "errors": ["receipt not found; may be invalid or expired"]}, "not found"),
        ({"status": 1, "acknowledged": "yes"}, "non-numeric"),
        ([1, 2], "unexpected answer"),
        (None, "unexpected answer"),
    ],
    ids=["acknowledged", "expired", "minimal", "error", "garbage-field", "list", "none"],
)  # fmt: skip
def test_parse_receipt(answer: Any, expected: ReceiptStatus | str) -> None:
    if isinstance(expected, ReceiptStatus):
        assert parse_receipt(answer) == expected
    else:
        with pytest.raises(PushoverError, match=expected):
            parse_receipt(answer)


async def test_api_client_against_the_fake() -> None:
    fake = FakePushover(APP, (USER,))
    api = PushoverApi(fake.url, timeout_s=5)
    form = message_form(
        _target(), Recipient(USER, ""), Message("t", "b"), callback=None, timestamp=0
    )
    try:
        receipt = await api.send(form)
        [msg] = fake.messages
        assert (msg.receipt, msg.form) == (receipt, form)
        assert await api.receipt(APP, receipt) == ReceiptStatus(False, None, "", False)
        fake.acknowledge(msg, "pixel", call_back=False)
        status = await api.receipt(APP, receipt)
        assert (status.acknowledged, status.device) == (True, "pixel")
        await api.cancel(APP, receipt)
        assert msg.cancelled_at is not None

        with pytest.raises(PushoverError, match="user identifier is invalid"):
            await api.send({**form, "user": "x" * 30})
        with pytest.raises(PushoverError, match="HTTP 400: application token is invalid"):
            await api.cancel("b" * 30, receipt)
        fake.refuse_all = True
        with pytest.raises(PushoverError, match="HTTP 400: receipt or token invalid") as err:
            await api.receipt(APP, receipt)
        assert APP not in str(err.value)
    finally:
        await api.aclose()
        fake.close()
    dead = PushoverApi(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    try:
        with pytest.raises(PushoverError, match=r"unreachable \(ConnectError\)") as err:
            await dead.receipt(APP, "r" * 30)
        assert APP not in str(err.value)  # the token is in the poll's query: never echoed
    finally:
        await dead.aclose()


# -- the notifier's receipts (in process, fake Pushover on loopback) -------------------------
def _alarm(now: float) -> AlarmEvent:
    return AlarmEvent(
        t=now,
        room="B",
        condition="spo2_low",
        kind=AlarmKind.PHYSIOLOGICAL,
        channel="spo2",
        priority=Priority.HIGH,
        state=AlarmState.ACTIVE,
        value=84.0,
        limit=85.0,
        baseline=97.0,
        tier=1,
        since=now,
    )


SIGNING_SECRET = "0LV3EW71oL50jzfv-2XV7knBC9WDHgd9hDJ8SLaZcDY"  # secrets.token_urlsafe(32)


class Harness:
    def __init__(self, tmp_path: Path, fake: FakePushover, **cfg: Any) -> None:
        self.published: list[dict[str, Any]] = []
        self.injected: list[tuple[str, Control]] = []
        # The contact's URL sets no priority: a high alarm makes it emergency.
        config = AlertsConfig(
            contacts=[Contact(name="Nurse P", tier=1, urls=[f"pover://{USER}@{APP}"])],
            secret=SIGNING_SECRET,  # type: ignore[arg-type]
            token_db=tmp_path / "t.sqlite",
            pushover_api_url=fake.url,
            **cfg,
        )
        self.notifier = Notifier(
            config,
            base_url="http://127.0.0.1:1",
            room_names={"B": "Room B"},
            host=RecordingHost(published=self.published, injected=self.injected),
        )

    def records(self, event: str) -> list[tuple[Any, ...]]:
        return [
            (m["room"], m["condition"], m["result"], m.get("detail", ""))
            for m in self.published
            if m["event"] == event
        ]


async def test_newer_page_supersedes_and_an_ack_elsewhere_cancels(tmp_path: Path) -> None:
    fake = FakePushover(APP, (USER,))
    h = Harness(tmp_path, fake, repeat_s={"high": 1.0, "medium": 60.0})
    runner = asyncio.create_task(h.notifier.run())
    try:
        now = time.time()
        alarm = _alarm(now)
        h.notifier.on_event(alarm)
        await wait_for_async(lambda: len(fake.messages) >= 1, 3, "the first emergency message")
        first = fake.messages[0]
        assert (first.form["priority"], first.form["retry"], first.form["expire"]) == (
            "2",
            "30",
            "900",
        )
        assert first.form["url"].startswith("http://127.0.0.1:1/ack/")
        assert first.form["url_title"] == "Acknowledge"
        assert "callback" not in first.form  # pushover_callback is off by default
        # The repeat (1 s later) rings with current values; the older message stops.
        await wait_for_async(lambda: len(fake.messages) >= 2, 3, "the repeat")
        await wait_for_async(lambda: first.cancelled_at is not None, 3, "the first cancelled")
        second = fake.messages[1]
        assert second.form["title"].startswith("REPEAT HIGH")
        assert second.cancelled_at is None
        assert list(h.notifier.receipts) == [second.receipt]

        # Acknowledged on the dashboard: the phone must stop ringing.
        h.notifier.on_event(replace(alarm, t=now + 1.5, state=AlarmState.ACKNOWLEDGED, by="Amy"))
        await wait_for_async(lambda: second.cancelled_at is not None, 3, "the second cancelled")
        await wait_for_async(lambda: len(h.records("receipt")) == 2, 3, "its cancel recorded")
        assert h.notifier.receipts == {}
        # No more repeats: the policy has let the alarm go (what follows from that, silence
        # on every later tick, is the timeline in tests/alerts/test_policy.py).
        assert not h.notifier.policy.wants(alarm.room, alarm.condition)
        assert len(fake.messages) == 2
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        fake.close()
    assert h.records("receipt") == [
        ("B", "spo2_low", "cancelled", "superseded by a newer page"),
        ("B", "spo2_low", "cancelled", "alarm acknowledged by Amy"),
    ]
    assert h.injected == []


async def test_acknowledged_in_the_app_is_found_by_polling(tmp_path: Path) -> None:
    fake = FakePushover(APP, (USER,))
    h = Harness(tmp_path, fake, pushover_poll_s=5.0)
    runner = asyncio.create_task(h.notifier.run())
    try:
        now = time.time()
        alarm = _alarm(now)
        h.notifier.on_event(alarm)
        await wait_for_async(lambda: len(fake.messages) == 1, 3, "the emergency message")
        [msg] = fake.messages
        fake.acknowledge(msg, "pixel-7", call_back=False)
        await wait_for_async(lambda: h.injected, 8, "the ack from the poll")
        # The core then publishes the acknowledgement; the acknowledged receipt is not
        # cancelled (nothing rings any more), and the duplicate answer does nothing.
        h.notifier.on_event(
            replace(alarm, t=now + 6, state=AlarmState.ACKNOWLEDGED, by="Nurse P via Pushover app")
        )
        assert h.notifier.receipts == {}  # polled no more: one acknowledgement only
        assert not h.notifier.policy.wants(alarm.room, alarm.condition)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        fake.close()
    [(room, control)] = h.injected
    assert (room, control.event, control.args, control.by) == (
        "B",
        "ack",
        {"condition": "spo2_low", "since": now},
        "Nurse P via Pushover app",
    )
    assert msg.polls >= 1 and msg.cancelled_at is None
    assert h.records("ack") == [
        (
            "B",
            "spo2_low",
            "accepted",
            "acknowledged in the Pushover app on pixel-7 (receipt polled)",
        )
    ]
    assert h.records("receipt") == []


async def test_pushover_refusing_raises_notify_failed(tmp_path: Path) -> None:
    fake = FakePushover(APP, (USER,), refuse_all=True)
    h = Harness(tmp_path, fake, retry_attempts=2, backoff_initial_s=0.1)
    runner = asyncio.create_task(h.notifier.run())
    try:
        h.notifier.on_event(_alarm(time.time()))
        await wait_for_async(lambda: h.injected, 5, "notify_failed")
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        fake.close()
    deliveries = [
        (m["attempt"], m["result"], m["detail"]) for m in h.published if m["event"] == "delivery"
    ]
    assert deliveries == [
        (1, "failed", "HTTP 400: application token is invalid"),
        (2, "failed", "HTTP 400: application token is invalid"),
    ]
    [(room, control)] = h.injected
    assert (room, control.event, control.args["condition"], control.args["state"]) == (
        "B",
        "technical_alarm",
        "notify_failed",
        "active",
    )


# -- the core: an acknowledgement names its episode --------------------------------------------
def test_a_late_acknowledgement_does_not_acknowledge_a_newer_episode() -> None:
    from monitor.core.pipeline import RoomPipeline

    p = RoomPipeline("B")

    def raise_(t: float) -> None:
        args = {"condition": "notify_failed", "state": "active", "reason": "x"}
        p.control(Control(t=t, event="technical_alarm", args=args, by="notifier"))

    def ack(t: float, since: float | None) -> list[str]:
        args = {"condition": "notify_failed", "since": since}
        events = p.control(Control(t=t, event="ack", args=args, by="Nurse P via Pushover app"))
        return [e.state.value for e in events if isinstance(e, AlarmEvent)]

    raise_(100.0)
    p.control(Control(t=110.0, event="technical_alarm", args={"condition": "notify_failed",
              "state": "cleared", "reason": "reached"}, by="notifier"))  # fmt: skip
    ack(111.0, 100.0)  # the first episode, acknowledged after it cleared
    raise_(120.0)  # a new episode nobody has seen
    assert ack(121.0, 100.0) == []  # the page about the first one must not acknowledge it
    assert p.log[-1]["outcome"] == "ignored: that alarm episode is over"
    assert ack(122.0, 120.0) == ["acknowledged"]
    raise_(130.0)  # still the same (acknowledged) episode
    assert ack(131.0, None) == []  # the dashboard names no episode: nothing left to ack


async def test_notify_test_goes_through_the_pushover_api(tmp_path: Path) -> None:
    from alerts.notifier import send_test

    fake = FakePushover(APP, (USER,))
    cfg = AlertsConfig(
        contacts=[Contact(name="Nurse P", tier=1, urls=[f"pover://{USER}@{APP}"])],
        secret=SIGNING_SECRET,  # type: ignore[arg-type]
        pushover_api_url=fake.url,
    )
    try:
        assert await send_test(cfg, "Nurse P") == [("pover", True, "")]
        [msg] = fake.messages
        assert (msg.form["title"], msg.form["priority"]) == ("TEST MEDIUM: test page, (test)", "1")
        fake.refuse_all = True
        assert await send_test(cfg, "Nurse P") == [
            ("pover", False, "HTTP 400: application token is invalid")
        ]
    finally:
        fake.close()


async def test_a_restarted_vigil_stops_phones_its_predecessor_left_ringing(
    tmp_path: Path,
) -> None:
    fake = FakePushover(APP, (USER,))
    try:
        first = Harness(tmp_path, fake)
        runner = asyncio.create_task(first.notifier.run())
        first.notifier.on_event(_alarm(time.time()))
        await wait_for_async(lambda: len(fake.messages) == 1, 3, "the emergency message")
        await asyncio.sleep(0.1)
        runner.cancel()  # Vigil stops with the alarm unacknowledged: the phone rings on
        await asyncio.gather(runner, return_exceptions=True)
        [msg] = fake.messages
        assert msg.cancelled_at is None
        assert oct((tmp_path / "t.sqlite").stat().st_mode & 0o777) == "0o600"  # app tokens

        second = Harness(tmp_path, fake)
        runner = asyncio.create_task(second.notifier.run())
        await wait_for_async(lambda: msg.cancelled_at is not None, 3, "the leftover cancelled")
        await wait_for_async(lambda: second.records("receipt"), 3, "the cancel recorded")
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        assert second.records("receipt") == [
            ("B", "spo2_low", "cancelled", "left ringing by a previous run of Vigil")
        ]
        third = Harness(tmp_path, fake)  # and only once
        assert third.notifier.receipt_store.all() == []
        third.notifier.receipt_store.close()
        third.notifier.tokens.used.close()
    finally:
        fake.close()
