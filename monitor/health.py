"""What Vigil shows about itself: /api/health, the line `systemctl status` shows, and the
view of each room and device the API and the live page read.

`status` in /api/health: `error` when a part of Vigil itself failed (its task is named under
`tasks`), `degraded` when something outside it is (a device, InfluxDB, the journal, paging,
a resumed session, HL7 out), else `ok`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from drivers.ble.driver import BleDriver
from drivers.hl7.decoder import Hl7Decoder
from monitor.core.models import LinkState
from monitor.devices import driver_task
from monitor.hub import Hub
from monitor.loop_lag import LoopLag
from monitor.rooms import Device, Room
from monitor.supervisor import Supervisor


class Reports(Protocol):
    """A part that reports its own health (`{"status": ..., ...}`)."""

    def health(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Health:
    rooms: Mapping[str, Room]
    supervisor: Supervisor
    influxdb: Reports
    journal: Reports
    paging: Reports
    resume: Reports
    hl7_out: Reports | None
    hub: Hub
    loop_lag: LoopLag
    demo: bool

    def room_view(self, room: Room) -> dict[str, Any]:
        view = room.pipeline.snapshot().to_dict()
        view["name"] = room.config.name or room.config.id
        view["devices"] = [self.device_view(d) for d in room.devices]
        return view

    def device_view(self, dev: Device) -> dict[str, Any]:
        dec = dev.driver.decoder
        task = self.supervisor.status.get(driver_task(dev))
        failed = task is not None and task.state == "failed"
        return {
            "id": dev.config.id,
            "protocol": dev.config.protocol,
            "port": dev.driver.port,
            "simulated": dev.config.simulate is not None,
            "state": LinkState.FAILED.value if failed else dev.driver.state.value,
            "detail": task.reason if failed and task is not None else dev.driver.detail,
            "frames": dec.frames,
            "dropped": dict(dec.dropped),
            # A BLE device may feed two sources (cuff + oximeter): each with its GATT services.
            **({"sources": dev.driver.sources} if isinstance(dev.driver, BleDriver) else {}),
            # An HL7 monitor that said its CO2 sampling line is blocked, until it says the
            # alert ended: its CO2 values are held out of the physiological rules meanwhile.
            **({"co2_line_blocked": dec.co2_blocked} if isinstance(dec, Hl7Decoder) else {}),
        }

    def status_line(self) -> str:
        """One line for `systemctl status`: serving, or the failed parts of Vigil."""
        failed = self.supervisor.health()["failed"]
        if not failed:
            return "serving"
        return "error: " + "; ".join(f"{n} failed ({t['reason']})" for n, t in failed.items())

    def health(self) -> dict[str, Any]:
        drivers = {d.config.id: self.device_view(d) for r in self.rooms.values() for d in r.devices}
        influx = self.influxdb.health()
        journal = self.journal.health()
        ok = influx["status"] == "ok" and all(d["state"] == "connected" for d in drivers.values())
        paging = self.paging.health()
        ok = ok and journal["status"] == "ok" and paging["status"] != "degraded"
        resume = self.resume.health()
        ok = ok and resume["status"] == "ok"
        hl7_out = self.hl7_out.health() if self.hl7_out is not None else {"status": "off"}
        ok = ok and hl7_out["status"] != "degraded"
        tasks = self.supervisor.health()
        return {
            # error: a part of Vigil itself failed (named under tasks); degraded: outside it.
            "status": "error" if tasks["status"] != "ok" else "ok" if ok else "degraded",
            "tasks": tasks,
            "demo": self.demo,
            "drivers": drivers,
            "influxdb": influx,
            "journal": journal,
            "paging": paging,
            "resume": resume,
            "hl7_out": hl7_out,
            "stream_subscribers": self.hub.subscribers,
            "event_loop_lag": self.loop_lag.summary(),
        }
