"""Rooms: latest values, baseline, active alarms; session controls."""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ValidationError

from monitor.api.deps import Nurse, Viewer, VigilDep
from monitor.api.routes.events import EVENT_ARGS, EVENT_ROLE, describe_error
from monitor.core.models import Control

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


@router.post("/{room_id}/events", status_code=202)
async def post_event(room_id: str, body: ControlIn, vigil: VigilDep, user: Nurse) -> dict[str, str]:
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
    vigil.control(room_id, Control(t=time.time(), event=body.event, args=args, by=user.username))
    return {"status": "accepted"}
