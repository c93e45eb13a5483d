"""The admin page's API: rooms, devices, paging contacts and rule overrides, for admins.

Each change is made to the config file (monitor/config_store.py: validated by the same
Settings models as start-up, written atomically with a backup), applied to the running Vigil
where that is safe (monitor/live_config.py says what is live and what waits for a restart),
and audited (`admin` journal entries: who, what, the new value with paging URLs redacted).
Staff accounts use /api/users. Without a config file (the demo) the page is read-only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from tomlkit.toml_document import TOMLDocument

from monitor.api.deps import Admin, Staff, VigilDep
from monitor.config import Settings
from monitor.config_store import (
    RULE_SECTIONS,
    ConfigChangeError,
    ConfigStore,
    set_condition,
    set_contact,
    set_device,
    set_room,
    set_rule_section,
    toml_ready,
)
from monitor.dashboard import DASHBOARD_DIR
from monitor.device_probe import MAX_PROBE_S, probe
from monitor.live_config import TAKES_EFFECT, apply_contacts, apply_rules, pending_restart
from monitor.redact import auditable_settings, redact_url
from monitor.runtime import Vigil

router = APIRouter(tags=["admin"])

AUDIT_KIND = "admin"
Values = Annotated[dict[str, Any], Body(description="The table's fields, as in the TOML file")]


@router.get("/admin", include_in_schema=False)
async def admin_page(user: Admin) -> FileResponse:
    return FileResponse(DASHBOARD_DIR / "admin.html")


def _store(request: Request) -> ConfigStore:
    store: ConfigStore | None = request.app.state.config_store
    if store is None:
        raise HTTPException(
            409, "no config file: Vigil runs the demo; start it with --config FILE to edit"
        )
    return store


def _contact_view(c: Any) -> dict[str, Any]:
    return {
        "name": c.name,
        "tier": c.tier,
        "rooms": c.rooms,
        "channels": [redact_url(u) for u in c.urls],  # URLs hold tokens: never shown
    }


def _view(vigil: Vigil, file: Settings | None, rules: dict[str, Any]) -> dict[str, Any]:
    """What the page shows; `rules` is the file's own [rules] table (what the clinic set)."""
    overrides = rules.get("conditions", {})
    shown = file or vigil.settings
    running = {d.config.id: vigil.device_view(d) for r in vigil.rooms.values() for d in r.devices}
    return {
        "rooms": [
            {
                "id": r.id,
                "name": r.name,
                "devices": [
                    {
                        **d.model_dump(mode="json", exclude_defaults=True),
                        "running": running.get(d.id),
                    }
                    for d in r.devices
                ],
            }
            for r in shown.rooms
        ],
        "contacts": [_contact_view(c) for c in shown.alerts.contacts],
        "conditions": {
            cid: {**c.model_dump(mode="json"), "overridden": cid in overrides}
            for cid, c in shown.rules.conditions.items()
        },
        "overrides": overrides,
        "section_overrides": {k: v for k, v in rules.items() if k in RULE_SECTIONS},
        "rule_sections": {
            k: v for k, v in shown.rules.model_dump(mode="json").items() if k in RULE_SECTIONS
        },
        "takes_effect": TAKES_EFFECT,
        "pending_restart": pending_restart(vigil, file) if file is not None else [],
    }


@router.get("/api/admin/config")
async def get_config(request: Request, vigil: VigilDep, user: Admin) -> dict[str, Any]:
    """Rooms, devices, contacts and rules as the file has them (the running ones in the
    demo), what runs, and which changes wait for a restart."""
    store: ConfigStore | None = request.app.state.config_store
    if store is None:
        return {"file": None, **_view(vigil, None, {})}

    def read() -> tuple[Settings, dict[str, Any]]:
        doc = store.read().unwrap()
        return store.settings(), doc.get("rules", {})

    try:
        file, rules_table = await run_in_threadpool(read)
    except ConfigChangeError as exc:  # edited by hand into an invalid state
        raise HTTPException(409, f"the config file does not validate: {exc}") from None
    return {"file": str(store.path), **_view(vigil, file, rules_table)}


async def _change(
    request: Request,
    vigil: Vigil,
    user: Staff,
    what: str,
    target: str,
    edit: Callable[[TOMLDocument], None],
    value: Any,
) -> dict[str, Any]:
    """Validate and write `edit`, apply what is live, audit; the outcome for the page."""
    store = _store(request)
    try:
        new = await run_in_threadpool(store.change, edit)
    except ConfigChangeError as exc:
        raise HTTPException(422, str(exc)) from None
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from None
    live: list[str] = []
    running = vigil.settings
    if what == "rules":
        rooms = await apply_rules(vigil, new.rules)
        live.append(f"rules applied in rooms {', '.join(rooms) or '(none)'}")
    elif what == "contacts" and apply_contacts(vigil, new):
        live.append("paging contacts applied")
    if vigil.settings != running:  # the running configuration's own `config` entry follows
        vigil.recorder.audit("config", user.username, auditable_settings(vigil.settings))
    pending = pending_restart(vigil, new)
    vigil.recorder.audit(
        AUDIT_KIND,
        user.username,
        {
            "action": "config_changed",
            "what": what,
            "target": target,
            "value": value,
            "file": str(store.path),
            "live": live,
            "pending_restart": pending,
        },
    )
    return {"status": "saved", "live": live, "pending_restart": pending}


def _redacted_contact(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    urls = values.get("urls")
    if isinstance(urls, list):
        return {**values, "urls": [redact_url(str(u)) for u in urls]}
    return values


@router.put("/api/admin/rules/conditions/{condition}")
async def put_condition(
    condition: str, values: Values, request: Request, vigil: VigilDep, user: Admin
) -> dict[str, Any]:
    """Override a rule (`[rules.conditions.<id>]`: only the fields given change the default)."""
    edit = set_condition(condition, values)
    return await _change(request, vigil, user, "rules", condition, edit, toml_ready(values))


@router.delete("/api/admin/rules/conditions/{condition}")
async def delete_condition(
    condition: str, request: Request, vigil: VigilDep, user: Admin
) -> dict[str, Any]:
    """Remove a rule override: back to the default of clinical-defaults.md."""
    edit = set_condition(condition, None)
    return await _change(request, vigil, user, "rules", condition, edit, None)


@router.put("/api/admin/rules/{section}")
async def put_rule_section(
    section: str, values: Values, request: Request, vigil: VigilDep, user: Admin
) -> dict[str, Any]:
    """`[rules.<section>]` (technical, baseline, discharge, bp_schedule, conditioning)."""
    edit = set_rule_section(section, values)
    return await _change(request, vigil, user, "rules", section, edit, toml_ready(values))


@router.delete("/api/admin/rules/{section}")
async def delete_rule_section(
    section: str, request: Request, vigil: VigilDep, user: Admin
) -> dict[str, Any]:
    edit = set_rule_section(section, None)
    return await _change(request, vigil, user, "rules", section, edit, None)


@router.put("/api/admin/rooms/{room_id}")
async def put_room(
    room_id: str, values: Values, request: Request, vigil: VigilDep, user: Admin
) -> dict[str, Any]:
    edit = set_room(room_id, values)
    return await _change(request, vigil, user, "rooms", room_id, edit, toml_ready(values))


@router.delete("/api/admin/rooms/{room_id}")
async def delete_room(
    room_id: str, request: Request, vigil: VigilDep, user: Admin
) -> dict[str, Any]:
    return await _change(request, vigil, user, "rooms", room_id, set_room(room_id, None), None)


@router.put("/api/admin/rooms/{room_id}/devices/{device_id}")
async def put_device(
    room_id: str, device_id: str, values: Values, request: Request, vigil: VigilDep, user: Admin
) -> dict[str, Any]:
    edit = set_device(room_id, device_id, values)
    target = f"{room_id}/{device_id}"
    return await _change(request, vigil, user, "devices", target, edit, toml_ready(values))


@router.delete("/api/admin/rooms/{room_id}/devices/{device_id}")
async def delete_device(
    room_id: str, device_id: str, request: Request, vigil: VigilDep, user: Admin
) -> dict[str, Any]:
    edit = set_device(room_id, device_id, None)
    return await _change(request, vigil, user, "devices", f"{room_id}/{device_id}", edit, None)


@router.put("/api/admin/contacts/{name}")
async def put_contact(
    name: str, values: Values, request: Request, vigil: VigilDep, user: Admin
) -> dict[str, Any]:
    """Add or change a paging contact; without `urls` an existing contact keeps its own."""
    edit = set_contact(name, values)
    value = _redacted_contact(toml_ready(values))
    return await _change(request, vigil, user, "contacts", name, edit, value)


@router.delete("/api/admin/contacts/{name}")
async def delete_contact(
    name: str, request: Request, vigil: VigilDep, user: Admin
) -> dict[str, Any]:
    return await _change(request, vigil, user, "contacts", name, set_contact(name, None), None)


@router.post("/api/admin/contacts/{name}/test")
async def test_contact(name: str, request: Request, vigil: VigilDep, user: Admin) -> dict[str, Any]:
    """A test page to every channel of the contact as the file has it (`vigil notify test`)."""
    from alerts.message import channel_name
    from alerts.notifier import send_test

    store: ConfigStore | None = request.app.state.config_store
    try:
        settings = await run_in_threadpool(store.settings) if store else vigil.settings
        results = await send_test(settings.alerts, name)
    except ConfigChangeError as exc:
        raise HTTPException(409, f"the config file does not validate: {exc}") from None
    except KeyError as exc:
        raise HTTPException(404, str(exc.args[0])) from None
    out = [{"channel": channel_name(ch), "ok": ok, "why": why} for ch, ok, why in results]
    vigil.recorder.audit(
        AUDIT_KIND, user.username, {"action": "test_page", "target": name, "results": out}
    )
    return {"contact": name, "results": out}


class ProbeIn(BaseModel):
    room: str
    device: str
    seconds: float = Field(5.0, ge=1, le=MAX_PROBE_S)


@router.post("/api/admin/devices/test")
async def test_device(
    body: ProbeIn, request: Request, vigil: VigilDep, user: Admin
) -> StreamingResponse:
    """The device's decoded readings for `seconds`, as NDJSON lines while they come: from the
    running room when it runs there, else through its driver opened for the test."""
    store: ConfigStore | None = request.app.state.config_store
    try:
        settings = await run_in_threadpool(store.settings) if store else vigil.settings
    except ConfigChangeError as exc:
        raise HTTPException(409, f"the config file does not validate: {exc}") from None
    room = next((r for r in settings.rooms if r.id == body.room), None)
    dc = next((d for d in room.devices if d.id == body.device), None) if room else None
    if dc is None:
        raise HTTPException(404, f"no device {body.device!r} in room {body.room!r}")
    vigil.recorder.audit(
        AUDIT_KIND, user.username, {"action": "device_test", "target": f"{body.room}/{dc.id}"}
    )

    async def lines() -> AsyncIterator[bytes]:
        import json

        async for message in probe(vigil, dc, body.seconds):
            yield (json.dumps(message) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson")
