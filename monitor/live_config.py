"""What an admin's config change does to the running Vigil: applied at once where that is
safe, else waiting for a restart (said per kind, shown on the admin page).

- rules: live. Each room's consumer swaps its pipeline's policy in queue order
  (`RoomPipeline.set_policy`); unchanged rules keep their state.
- paging contacts: live when paging was configured at start (the notifier's token store and
  signing secret exist); the first contacts need a restart.
- staff accounts: live (the user store).
- rooms and devices: at restart. A driver opened twice or a room pipeline built half-way
  through a session would be worse than a clear "restart to apply".
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from monitor.room_loop import CONTROL_WAIT_S
from monitor.rooms import RoomCall

if TYPE_CHECKING:
    from monitor.config import Settings
    from monitor.rules_config import RulesConfig
    from monitor.runtime import Vigil

#: Per kind of change: when it takes effect (the admin page shows these words).
TAKES_EFFECT = {
    "rules": "at once in every room (smoothing windows at restart, BP schedule at next dose)",
    "contacts": "at once (the first contacts of a Vigil started without paging: at restart)",
    "users": "at once",
    "rooms": "at restart",
    "devices": "at restart",
}


async def apply_rules(vigil: Vigil, rules: RulesConfig) -> list[str]:
    """New rules in every running room; the rooms that applied them within CONTROL_WAIT_S.
    Smoothing windows stay as they run (a room's smoothers are built at start): a change of
    `[rules.conditioning]` waits for a restart and `pending_restart` says so."""
    running = vigil.settings.rules.conditioning
    rules = rules.model_copy(update={"conditioning": running})
    vigil.settings = vigil.settings.model_copy(update={"rules": rules})
    policy = rules.to_core()
    loop = asyncio.get_running_loop()
    waits: dict[str, asyncio.Future[None]] = {}
    for rid, room in vigil.rooms.items():
        waits[rid] = loop.create_future()
        call = RoomCall(lambda p: p.set_policy(policy, vigil.clock()), waits[rid])
        room.queue.put_nowait(call)
    await asyncio.wait(waits.values(), timeout=CONTROL_WAIT_S)
    return [rid for rid, f in waits.items() if f.done() and f.exception() is None]


def apply_contacts(vigil: Vigil, new: Settings) -> bool:
    """The notifier pages `new`'s contacts from now on; False when that needs a restart."""
    notifier = vigil.notifier
    if not notifier.config.contacts:
        return False
    notifier.config = notifier.config.model_copy(update={"contacts": new.alerts.contacts})
    alerts = vigil.settings.alerts.model_copy(update={"contacts": new.alerts.contacts})
    vigil.settings = vigil.settings.model_copy(update={"alerts": alerts})
    return True


def _dump(items: list[Any]) -> list[dict[str, Any]]:
    return [i.model_dump() for i in items]


def pending_restart(vigil: Vigil, file: Settings) -> list[str]:
    """The kinds of change in the file that the running Vigil does not have yet."""
    out = []
    running = [room.config for room in vigil.rooms.values()]
    if [(r.id, r.name) for r in file.rooms] != [(r.id, r.name) for r in running]:
        out.append("rooms")
    if {r.id: _dump(r.devices) for r in file.rooms} != {r.id: _dump(r.devices) for r in running}:
        out.append("devices")
    if _dump(file.alerts.contacts) != _dump(vigil.notifier.config.contacts):
        out.append("contacts")
    if file.rules != vigil.settings.rules:
        out.append("rules")
    return out
