"""Regenerate the scenario recordings: `python -m tests.recordings.generate`.

Each scenario is a plain function of time writing the JSONL recording format (what the live
service exports). Oximeter samples every 2 s, cuff readings as each scenario says; the small
deterministic wobble keeps the traces alive without crossing any limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

HERE = Path(__file__).parent
DOSE_T = 900.0  # 15 min of pre-dose baseline capture
OX_S = 2.0

Line = dict[str, object]


def event(t: float, name: str, **args: object) -> Line:
    return {"t": t, "room": "A", "type": "event", "event": name, **args}


def reading(t: float, channel: str, value: float | None, *status: str, source: str = "") -> Line:
    d: Line = {
        "t": t,
        "room": "A",
        "type": "reading",
        "channel": channel,
        "value": value,
        "status": list(status),
    }
    if source:
        d["source"] = source
    return d


def bp(t: float, sbp: float, dbp: float) -> list[Line]:
    mean = round(dbp + (sbp - dbp) / 3)
    return [reading(t, c, v, source="cuff") for c, v in (("sbp", sbp), ("dbp", dbp), ("map", mean))]


def wobble(t: float) -> int:
    return int(t // OX_S) % 3 - 1  # -1, 0, +1


def session(
    end_t: float,
    *,
    spo2: Callable[[float], tuple[float | None, tuple[str, ...]]] = lambda t: (
        97 + (wobble(t) > 0),
        (),
    ),
    pulse: Callable[[float], float] = lambda t: 72 + wobble(t),
    bp_at: Callable[[float], tuple[float, float] | None] = lambda t: None,
    bp_times: list[float] | None = None,
) -> Iterator[Line]:
    """Session start, baseline BP at −10/−5/−1 min, dose at 15 min, post-dose BP every 5 min."""
    if bp_times is None:
        bp_times = [DOSE_T - 600, DOSE_T - 300, DOSE_T - 60]
        bp_times += [DOSE_T + 300 * k for k in range(1, int((end_t - DOSE_T) // 300) + 1)]
    lines: list[tuple[float, int, Line]] = [(0.0, 0, event(0.0, "session_start", by="nurse_a"))]
    lines.append((DOSE_T, 0, event(DOSE_T, "dose", by="dr_k")))
    t = 1.0
    while t <= end_t:
        value, flags = spo2(t)
        lines.append((t, 1, reading(t, "spo2", value, *flags, source="ox")))
        lines.append(
            (
                t,
                2,
                reading(t, "pulse_rate", None if value is None else pulse(t), *flags, source="ox"),
            )
        )
        t += OX_S
    for bt in bp_times:
        pressure = bp_at(bt) or (118 + (bt % 3), 76 + (bt % 2))
        lines += [(bt + 0.5, 3 + i, line) for i, line in enumerate(bp(bt + 0.5, *pressure))]
    for _, _, line in sorted(lines, key=lambda x: (x[0], x[1])):
        yield line


def normal_rise() -> Iterator[Line]:
    """Esketamine's expected rise, +13/+9 mmHg peaking at 40 min: no alarm."""

    def at(t: float) -> tuple[float, float] | None:
        since = t - DOSE_T
        if since <= 0:
            return (120, 78)  # the pre-dose baseline
        frac = max(0.0, 1 - abs(since - 2400) / 2400)
        return (120 + 13 * frac, 78 + 9 * frac)

    return session(
        DOSE_T + 3900, bp_at=at, pulse=lambda t: 72 + wobble(t) + (6 if t > DOSE_T else 0)
    )


def hypertensive_surge() -> Iterator[Line]:
    """BP rises 35/22 above baseline… then to 185/112, confirmed by a repeat reading."""
    surge = {DOSE_T + 900: (150, 96), DOSE_T + 1200: (185, 112), DOSE_T + 1320: (188, 114)}
    times = [DOSE_T - 600, DOSE_T - 300, DOSE_T - 60, DOSE_T + 300, DOSE_T + 600, *surge]
    lines = list(
        session(DOSE_T + 1500, bp_times=times, bp_at=lambda t: surge.get(t) or (115, 70))
    )  # baseline 115/70
    ack_t = DOSE_T + 1350.0  # the nurse acknowledges the severe alarm 30 s after it sounds
    at = next(i for i, line in enumerate(lines) if float(line["t"]) > ack_t)  # type: ignore[arg-type]
    lines.insert(at, event(ack_t, "ack", condition="bp_severe", by="nurse_a"))
    return iter(lines)


def desaturation() -> Iterator[Line]:
    """SpO2 falls to 87 % for 45 s, 10 min after the dose."""
    start = DOSE_T + 600

    def spo2(t: float) -> tuple[float | None, tuple[str, ...]]:
        return (87, ()) if start <= t < start + 45 else (97 + (wobble(t) > 0), ())

    return session(DOSE_T + 900, spo2=spo2)


def artefact_dip() -> Iterator[Line]:
    """A 3-second dip to 80 % (a motion artefact the device did not flag): nothing."""
    start = DOSE_T + 301

    def spo2(t: float) -> tuple[float | None, tuple[str, ...]]:
        return (80, ()) if start <= t < start + 3 else (97 + (wobble(t) > 0), ())

    return session(DOSE_T + 600, spo2=spo2)


def probe_off() -> Iterator[Line]:
    """The probe comes off for 60 s: a technical alarm, never a physiological one."""
    start = DOSE_T + 301

    def spo2(t: float) -> tuple[float | None, tuple[str, ...]]:
        return (None, ("probe_off",)) if start <= t < start + 60 else (97 + (wobble(t) > 0), ())

    return session(DOSE_T + 600, spo2=spo2)


def missing_40min_bp() -> Iterator[Line]:
    """Every scheduled cuff reading arrives except the mandatory one at 40 min."""
    times = [DOSE_T - 600, DOSE_T - 300, DOSE_T - 60]
    times += [DOSE_T + 300 * k for k in range(1, 13) if k != 8]
    return session(DOSE_T + 3700, bp_times=times)


RESP_S = 5.0  # a multiparameter monitor over HL7 reports about every 5 s


def with_respiration(
    lines: Iterator[Line],
    end_t: float,
    at: Callable[[float], tuple[float, float, float]],
) -> Iterator[Line]:
    """Add a monitor's (RR, EtCO2, apnea flag) every RESP_S to a session's lines."""
    merged = list(lines)
    t = 2.0
    while t <= end_t:
        rr, co2, apnea_flag = at(t)
        for channel, value in (("resp_rate", rr), ("etco2", co2), ("apnea", apnea_flag)):
            merged.append(reading(t, channel, value, source="mon"))
        t += RESP_S
    return iter(sorted(merged, key=lambda line: float(line["t"])))  # type: ignore[arg-type]


def hypoventilation() -> Iterator[Line]:
    """Respiratory depression 10 min after the dose: RR falls 14 -> 6 and EtCO2 rises
    38 -> 58 over 3 min; SpO2 (on oxygen) falls below 90 only 5 min in. The respiration
    alarms come first. Stimulated at 8 min, the patient breathes normally again."""
    start, recover = DOSE_T + 600, DOSE_T + 1080

    def frac(t: float) -> float:
        return 0.0 if t < start or t >= recover else min((t - start) / 180, 1.0)

    def spo2(t: float) -> tuple[float | None, tuple[str, ...]]:
        low = start + 300 <= t < recover
        return (88, ()) if low else (97 + (wobble(t) > 0), ())

    def resp(t: float) -> tuple[float, float, float]:
        k = frac(t)
        return round(14 - 8 * k), round(38 + 20 * k), 0

    end = DOSE_T + 1500
    return with_respiration(session(end, spo2=spo2), end, resp)


def apnea() -> Iterator[Line]:
    """Breathing stops for 40 s 10 min after the dose: the monitor flags apnea at once,
    RR and EtCO2 read 0; SpO2 falls 25 s into the pause. The nurse acknowledges."""
    start = DOSE_T + 600

    def spo2(t: float) -> tuple[float | None, tuple[str, ...]]:
        return (86, ()) if start + 25 <= t < start + 70 else (97 + (wobble(t) > 0), ())

    def resp(t: float) -> tuple[float, float, float]:
        return (0, 0, 1) if start <= t < start + 40 else (14, 38, 0)

    end = DOSE_T + 900
    lines = list(with_respiration(session(end, spo2=spo2), end, resp))
    ack_t = start + 45.0
    at = next(i for i, line in enumerate(lines) if float(line["t"]) > ack_t)  # type: ignore[arg-type]
    lines.insert(at, event(ack_t, "ack", condition="apnea", by="nurse_a"))
    return iter(lines)


SCENARIOS: dict[str, Callable[[], Iterator[Line]]] = {
    "normal_rise": normal_rise,
    "hypertensive_surge": hypertensive_surge,
    "desaturation": desaturation,
    "artefact_dip": artefact_dip,
    "probe_off": probe_off,
    "missing_40min_bp": missing_40min_bp,
    "hypoventilation": hypoventilation,
    "apnea": apnea,
}


def main() -> None:
    for name, make in SCENARIOS.items():
        path = HERE / f"{name}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in make()), encoding="utf-8")
        print(path)


if __name__ == "__main__":
    main()
