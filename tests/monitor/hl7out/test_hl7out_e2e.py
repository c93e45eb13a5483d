"""HL7 out in the live service: `vigil run` with a simulated oximeter sends its readings as
IHE PCD-01 to one real MLLP receiver and its alarms as ACM ORU^R40 to another (both python-hl7
servers on loopback), and /api/health shows both links."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import Influxd, VigilProcess
from tests.hl7_receiver import HL7Receiver

pytestmark = pytest.mark.slow


async def test_vigil_run_sends_pcd01_and_acm(influxd: Influxd, tmp_path: Path) -> None:
    ehr, alarm_manager = HL7Receiver(), HL7Receiver()
    await ehr.start()
    await alarm_manager.start()
    config = tmp_path / "vigil.toml"
    # Any SpO2 below 99 % is low here, so the steady 97-98 % patient raises spo2_low.
    config.write_text(f"""
influx_url = "{influxd.url}"
influx_database = "vigil_hl7out"

[hl7_out]
enabled = true
host = "127.0.0.1"
port = {ehr.port}
periodicity = "every_reading"
receiving_application = "EHR"

[alerts.alarm_manager]
enabled = true
host = "127.0.0.1"
port = {alarm_manager.port}

[rules.conditions.spo2_low]
delay_s = 1
limits = [{{ channel = "spo2", comparator = "<", absolute = 99 }}]

[[rooms]]
id = "A"
[[rooms.devices]]
id = "A-ox"
protocol = "masimo-ascii"
simulate = {{ scenario = "steady", interval_s = 0.5 }}
""")
    app = await asyncio.to_thread(VigilProcess, config, tmp_path)
    try:
        r = await asyncio.to_thread(
            app.post, "/api/rooms/A/events",
            json={"event": "session_start", "args": {"pseudonym": "RC1"}},
        )  # fmt: skip
        assert r.status_code == 200
        async with asyncio.timeout(30):
            while not any(str(m.segment("PID")[3]).startswith("RC1^") for m in ehr.messages):
                await ehr.wait_for(len(ehr.messages) + 1)
            while not any("spo2_low" in str(m.segment("OBR")[3]) for m in alarm_manager.messages):
                await alarm_manager.wait_for(len(alarm_manager.messages) + 1)
        health = (await asyncio.to_thread(app.get, "/api/health")).json()
    finally:
        await asyncio.to_thread(app.stop)
        await ehr.stop()
        await alarm_manager.stop()
    reading = next(m for m in ehr.messages if str(m.segment("PID")[3]).startswith("RC1^"))
    assert str(reading.segment("MSH")[5]) == "EHR"
    codes = {c for m in ehr.messages for c, _, _, _ in ehr.obx(m)}
    assert {"150456", "149530"} <= codes  # SpO2 and pulse rate from the oximeter
    values = [float(v) for m in ehr.messages for c, _, v, s in ehr.obx(m) if c == "150456"]
    assert values and all(90 <= v <= 100 for v in values)
    alarm = next(m for m in alarm_manager.messages if "spo2_low" in str(m.segment("OBR")[3]))
    obx = [s for s in alarm if str(s[0]) == "OBX"]
    assert str(obx[0][3]) == "196670^MDC_EVT_LO^MDC" and str(obx[2][5]) == "start"
    assert str(alarm.segment("PID")[3]) == "RC1^^^VIGIL^PI"
    assert health["hl7_out"]["state"] == "up" and health["hl7_out"]["sent"] > 0
    assert health["paging"]["alarm_manager"]["sent"] > 0
