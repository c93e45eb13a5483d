"""Rooms: latest values, baseline, active alarms; session controls."""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, ValidationError

from monitor.api.deps import Nurse, Viewer, VigilDep
from monitor.api.routes.events import EVENT_ARGS, EVENT_ROLE, describe_error
from monitor.core.controls import control_from_dict
from monitor.store.recorder import accepted

router = APIRouter(prefix="/api/rooms", tags=["rooms"])


@router.get("")
async def list_rooms(vigil: VigilDep, user: Viewer) -> list[dict[str, Any]]:
    return [vigil.room_view(room) for room in vigil.rooms.values()]


@router.get("/{room_id}")
async def get_room(room_id: str, vigil: VigilDep, user: Viewer) -> dict[str, Any]:
    room = vigil.rooms.get(room_id)
    if room is None:
        raise HTTPException(404, f"no room {room_id!r}")
    return vigil.room_view(room)


class ControlIn(BaseModel):
    event: Literal[
        "session_start",
        "dose",
        "session_end",
        "ack",
        "audio_pause",
        "baseline",
        "confirm_baseline",
        "note",
        "discharge_review",
    ]
    args: dict[str, Any] = {}


@router.post("/{room_id}/events", status_code=200)
async def post_event(
    room_id: str, body: ControlIn, vigil: VigilDep, user: Nurse, response: Response
) -> dict[str, str]:
    """Apply a control and say what the core made of it: 200 {"status": "ok", "outcome"}
    when applied, 409 with the core's reason ("ignored: ...", "rejected: ...") when refused,
    202 {"status": "accepted"} when the room did not answer within CONTROL_WAIT_S (the
    control stays queued and is applied in turn)."""
    if room_id not in vigil.rooms:
        raise HTTPException(404, f"no room {room_id!r}")
    needed = EVENT_ROLE[body.event]
    if not user.has(needed):
        raise HTTPException(
            403, f"{body.event} needs role {needed}; {user.username} is {user.role}"
        )
    try:
        args = EVENT_ARGS[body.event].model_validate(body.args).model_dump(exclude_none=True)
    except ValidationError as exc:
        raise HTTPException(422, f"{body.event}: {describe_error(exc)}") from None
    wire = {"t": time.time(), "event": body.event, "args": args, "by": user.username}
    control = control_from_dict(wire)
    outcome = await vigil.control_outcome(room_id, control)
    if outcome is None:
        response.status_code = 202
        return {"status": "accepted", "detail": "queued; the room has not applied it yet"}
    if outcome.startswith("failed:"):  # the room's consumer hit a bug (logged there)
        raise HTTPException(500, outcome)
    if not accepted(outcome):
        raise HTTPException(409, outcome)
    return {"status": "ok", "outcome": outcome}
