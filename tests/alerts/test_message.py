"""What a page says (escalation, technical), and how each channel carries it (priority,
actions, the acknowledge link)."""

from __future__ import annotations

import pytest

from alerts.message import Message, render
from alerts.notifier import with_channel_extras
from alerts.policy import Page, PageKind
from monitor.core.models import AlarmEvent, AlarmKind, AlarmState, Priority
from monitor.core.respiration import co2_line_blocked_reason

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


@pytest.mark.parametrize(
    ("condition", "channel", "priority", "reason", "head"),
    [
        ("notify_failed", None, Priority.HIGH,
         "tier 1 could not be paged about spo2_low: every channel failed",
         "Paging failed in C (high priority)"),
        # A monitor's blocked CO2 line: what to check, and what is not watched meanwhile.
        ("co2_line_blocked", "etco2", Priority.MEDIUM, co2_line_blocked_reason(["C-mon"]),
         "CO2 sampling line blocked in C (medium priority)"),
    ],
)  # fmt: skip
def test_technical_message_says_why_and_has_no_numbers(
    condition: str, channel: str | None, priority: Priority, reason: str, head: str
) -> None:
    tech = AlarmEvent(
        t=10.0,
        room="C",
        condition=condition,
        kind=AlarmKind.TECHNICAL,
        channel=channel,
        priority=priority,
        state=AlarmState.ACTIVE,
        reason=reason,
    )
    got = render(
        Page(10.0, PageKind.FIRST, (1, 2, 3), tech), room_name="C", ack_url=None, utc_offset_s=0
    )
    assert got.body.splitlines() == [
        head,
        reason,
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
