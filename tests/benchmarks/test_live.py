"""The live benchmark's own parts: frames traceable by their perfusion index through the real
Masimo encoder and decoder, the generated vigil.toml is a valid Vigil configuration, and a
page's alarm is read back from its acknowledge link."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from benchmarks.live import SITE, ack_payload, write_config
from benchmarks.live_sim import desaturating, pi_for, room_ids, seq_for
from drivers import masimo
from drivers.sim.devices import MasimoSim
from drivers.sim.scenarios import Vitals
from monitor.config import load_settings


def test_frame_sequence_survives_the_real_bytes() -> None:
    decoder = masimo.MasimoDecoder()
    for seq in (0, 1, 57, 899, 900, 1799):
        frame = MasimoSim().emit(Vitals(perfusion_index=pi_for(seq)), 1.8e9)
        pi = [r.value for r in decoder.feed(frame, 1.8e9) if r.channel == "perfusion_index"]
        assert len(pi) == 1 and pi[0] is not None
        assert seq_for(pi[0]) == seq % 900


def test_a_tenth_of_the_rooms_desaturate_spread_over_ids() -> None:
    desat = desaturating(1000, 0.1)
    assert len(desat) == 100 and desat[0] == "R0005" and desat[-1] == "R0995"
    assert set(desat) <= set(room_ids(1000))


def test_generated_config_is_valid(tmp_path: Path) -> None:
    ports = {
        r: {"oximeter": f"/dev/pts/{i}", "cuff": f"/dev/pts/{i + 100}"}
        for i, r in enumerate(room_ids(3))
    }
    cfg = tmp_path / "vigil.toml"
    write_config(cfg, ports, "http://127.0.0.1:8086", 9999)
    s = load_settings(cfg)
    assert s.site == SITE and [r.id for r in s.rooms] == ["R0000", "R0001", "R0002"]
    assert [d.protocol for d in s.rooms[0].devices] == ["masimo-ascii", "suntech"]
    assert [c.rooms for c in s.alerts.contacts] == [["R0000"], ["R0001"], ["R0002"]]


def test_page_names_its_alarm_through_the_ack_link() -> None:
    claims = {"room": "R0005", "condition": "spo2_severe", "since": 1.8e9}
    token = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    text = f"HIGH: SpO2 very low, R0005\nAcknowledge: http://h:1/ack/{token}.sig\n"
    assert ack_payload(text) == claims
    assert ack_payload("no link here") == {}
