"""Which simulated device speaks which protocol: protocol id → simulator factory.

Beside the production table (drivers.registry) rather than in it, so that a production
process that reads no simulated device never loads the simulators, and drivers.registry never
imports drivers.sim (tests/test_architecture.py guards both). `vigil simulate`, the demo rooms
and the tests look simulators up here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from drivers import berrymed, contec, masimo, nonin, suntech
from drivers.registry import protocol_info
from drivers.sim import devices

#: Builds the simulated device (used by drivers.sim.runner.run_serial_sim) from its options.
SIMULATORS: dict[str, Callable[..., Any]] = {
    masimo.PROTOCOL_ID: devices.MasimoSim,
    nonin.PROTOCOL_ID: devices.NoninSim,
    contec.LEGACY_ID: devices.ContecLegacySim,
    contec.NEW_ID: devices.ContecNewSim,
    berrymed.PROTOCOL_ID: devices.BerryMedSim,
    suntech.PROTOCOL_ID: devices.SunTechSim,
}


def register_simulator(protocol_id: str, factory: Callable[..., Any]) -> None:
    """Add (or replace) the simulator of a registered protocol (tests add their own)."""
    protocol_info(protocol_id)  # ValueError naming the known ids when it is not registered
    SIMULATORS[protocol_id] = factory


def simulator_for(protocol_id: str) -> Callable[..., Any] | None:
    """The simulator factory of a serial protocol; None when it has none (or is not serial).
    ValueError naming the known ids when the protocol is not registered."""
    if protocol_info(protocol_id).transport != "serial":
        return None
    return SIMULATORS.get(protocol_id)


def make_sim(protocol: str, options: Mapping[str, Any] | None = None) -> Any:
    """The simulated device for a protocol id, built with `options`."""
    factory = simulator_for(protocol)
    if factory is None:
        raise ValueError(f"no serial simulator for protocol {protocol!r}")
    return factory(**dict(options or {}))
