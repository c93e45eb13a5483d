"""A device whose stream is garbled (drivers/quality.py) is a technical alarm that sends
staff to the cable and baud rate: `device_garbled`, not `*_stale` (the patient) and not
`device_disconnected` (the link is up). Its held-back values never alarm."""

from __future__ import annotations

from monitor.core.models import AlarmEvent, AlarmKind, Control, DeviceState, Flag, LinkState
from monitor.core.pipeline import RoomPipeline
from tests.core_helpers import Item, dosed, pr, run, spo2, transitions

UP, GARBLED = LinkState.CONNECTED, LinkState.GARBLED
WHY = "412 framing errors, implausible values or jumps: check cable / baud rate"


def ticks(t0: int, t1: int) -> list[Item]:
    return [float(t) for t in range(t0, t1)]


def test_garbled_in_a_session_is_a_technical_alarm_until_clean() -> None:
    p = dosed({"spo2": 97, "pulse_rate": 70})
    items: list[Item] = [DeviceState(1, "ox", UP)]
    for t in range(1, 6):
        items += [spo2(t, 97), pr(t, 70)]
    items.append(DeviceState(6, "ox", GARBLED, WHY))
    for t in range(6, 40):
        # What the gate lets through meanwhile: noise values, held back.
        items += [spo2(t, 60 + t % 7, Flag.GARBLED), pr(t, 180, Flag.GARBLED), float(t)]
    items += [DeviceState(40, "ox", UP)]
    for t in range(40, 46):
        items += [spo2(t, 97), pr(t, 70), float(t)]
    events = run(p, items)
    assert transitions(events) == [
        (6.0, "device_garbled", "active"),
        (40.0, "device_garbled", "cleared"),
    ]
    raised = next(e for e in events if isinstance(e, AlarmEvent))
    assert raised.kind == AlarmKind.TECHNICAL and raised.reason == f"ox: {WHY}"
    assert not any(e.kind == AlarmKind.PHYSIOLOGICAL for e in events if isinstance(e, AlarmEvent))


def test_garbled_before_the_session_alarms_once_the_session_starts() -> None:
    p = RoomPipeline("A")
    events = run(p, [DeviceState(0, "ox", UP), DeviceState(1, "ox", GARBLED, WHY), *ticks(2, 10)])
    assert transitions(events) == []  # outside a session: the device view says it
    assert p.devices["ox"].state == GARBLED
    events = run(p, [Control(10, "session_start"), *ticks(11, 40)])
    assert transitions(events) == [(10.0, "device_garbled", "active")]


def test_a_garbled_device_that_goes_away_is_disconnected_not_garbled() -> None:
    p = dosed({"spo2": 97, "pulse_rate": 70})
    events = run(
        p,
        [
            DeviceState(1, "ox", UP),
            DeviceState(2, "ox", GARBLED, WHY),
            DeviceState(5, "ox", LinkState.DISCONNECTED, "read failed"),
            *ticks(6, 30),
        ],
    )
    assert transitions(events) == [
        (2.0, "device_garbled", "active"),
        (5.0, "device_garbled", "cleared"),
        (15.0, "device_disconnected", "active"),
    ]


def test_noise_values_do_not_say_the_sensor_is_back_on() -> None:
    p = dosed({"spo2": 97, "pulse_rate": 70})
    items: list[Item] = [DeviceState(1, "ox", UP), spo2(2, None, Flag.PROBE_OFF, Flag.INVALID)]
    items += [spo2(t, 40 + t, Flag.GARBLED) for t in range(3, 8)]
    items += [spo2(8, 0, Flag.IMPLAUSIBLE), spo2(9, 97)]
    assert transitions(run(p, items)) == [
        (2.0, "probe_off", "active"),
        (9.0, "probe_off", "cleared"),
    ]
