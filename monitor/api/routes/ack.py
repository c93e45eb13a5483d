"""Acknowledge links from phones: GET shows a confirm page, only POST acknowledges.

Messaging apps fetch links to draw previews; a GET must therefore never acknowledge. The
token (alerts/tokens.py) is the credential: signed, expiring, single use, bound to one room,
condition, alarm episode, contact and channel. So these routes take no staff login.

The acknowledgement enters the room's pipeline as an `Ack` control, like one from
the dashboard, with `by="<contact> via <channel>"`: the core stays the owner of alarm state.

`POST /ack/pushover/{token}` is Pushover's callback when a nurse taps Acknowledge on an
emergency page in the Pushover app (sent only with `alerts.pushover_callback`). The token in
the path is the credential, as for the links; the receipt in the form must be the one that
page got back.
"""

from __future__ import annotations

import html
import time
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from alerts.message import SECONDARY, channel_name, condition_label
from alerts.tokens import AckClaim, TokenError, TokenProblem
from monitor.api.deps import VigilDep
from monitor.core.controls import Ack
from monitor.core.models import AlarmState
from monitor.store.recorder import accepted

router = APIRouter(prefix="/ack", tags=["acknowledge"])

_REFUSED = {
    TokenProblem.FORGED: (
        400,
        "This link is not valid",
        "The acknowledge link is damaged or was not issued by this Vigil. "
        "Nothing was acknowledged. Acknowledge on the dashboard or at the bedside.",
    ),
    TokenProblem.EXPIRED: (
        410,
        "This link has expired",
        "Acknowledge links are valid for a limited time. Nothing was acknowledged. "
        "Use the link in the newest page, or acknowledge on the dashboard.",
    ),
    TokenProblem.USED: (
        409,
        "This link has already been used",
        "Each acknowledge link works once. Nothing more was done. "
        "Check the dashboard for the alarm's current state.",
    ),
}


def _page(status: int, title: str, text: str, form_action: str | None = None) -> HTMLResponse:
    button = ""
    if form_action is not None:
        button = (
            f'<form method="post" action="{html.escape(form_action)}">'
            '<button type="submit">Acknowledge</button></form>'
        )
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Vigil: {html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.2rem; max-width: 32rem; line-height: 1.4 }}
h1 {{ font-size: 1.4rem }}
button {{ font-size: 1.3rem; width: 100%; padding: 1rem; border-radius: .6rem;
  background: #b00020; color: #fff; border: 0 }}
small {{ color: #555 }}
</style></head>
<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{button}
<p><small>{html.escape(SECONDARY)}</small></p></body></html>"""
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _refused(err: TokenError) -> HTMLResponse:
    status, title, text = _REFUSED[err.problem]
    return _page(status, title, text)


def _what(claim: AckClaim, vigil: VigilDep) -> str:
    room = vigil.rooms.get(claim.room)
    name = (room.config.name or room.config.id) if room else claim.room
    label = condition_label(claim.condition)
    return f"{label} in {name}"


def _current_problem(claim: AckClaim, vigil: VigilDep) -> HTMLResponse | None:
    """A page when the alarm this link was for is gone or is another episode now."""
    room = vigil.rooms.get(claim.room)
    alarm = room.pipeline.active.get(claim.condition) if room else None
    if alarm is None or (claim.since is not None and alarm.since != claim.since):
        return _page(
            409,
            "This alarm is over",
            f"{_what(claim, vigil)}: the alarm this link was sent for is no longer active. "
            "Nothing was acknowledged. Check the dashboard.",
        )
    if alarm.state == AlarmState.ACKNOWLEDGED:
        return _page(
            200,
            "Already acknowledged",
            f"{_what(claim, vigil)} was already acknowledged by "
            f"{alarm.acknowledged_by or 'someone'}.",
        )
    return None


@router.get("/{token}", response_class=HTMLResponse)
async def confirm_page(token: str, vigil: VigilDep) -> HTMLResponse:
    try:
        # The used-token table is SQLite: read and written off the event loop (offload.py).
        claim = await run_in_threadpool(vigil.notifier.tokens.peek, token, time.time())
    except TokenError as err:
        return _refused(err)
    problem = _current_problem(claim, vigil)
    if problem is not None:
        return problem
    return _page(
        200,
        "Acknowledge this alarm?",
        f"{_what(claim, vigil)}. Acknowledging stops the repeats and the escalation for this "
        f"alarm. You are acknowledging as {claim.contact} ({channel_name(claim.channel)}).",
        form_action=f"/ack/{token}",
    )


@router.post("/{token}", response_class=HTMLResponse)
async def acknowledge(token: str, vigil: VigilDep) -> HTMLResponse:
    now = time.time()
    try:
        claim = await run_in_threadpool(vigil.notifier.tokens.peek, token, now)
    except TokenError as err:
        return _refused(err)
    problem = _current_problem(claim, vigil)
    if problem is not None:
        return problem
    try:
        # Single use: the check that counts (an INSERT on the token's id, atomic in SQLite, so
        # of two concurrent POSTs exactly one gets past it).
        claim = await run_in_threadpool(vigil.notifier.tokens.redeem, token, now)
    except TokenError as err:
        return _refused(err)
    # Checked again: the alarm may have ended or become another episode while the token was
    # written. From here to the control nothing awaits, so the core acks what was checked.
    problem = _current_problem(claim, vigil)
    if problem is not None:
        return problem
    by = f"{claim.contact} via {channel_name(claim.channel)}"
    ack = Ack(now, claim.condition, claim.since, by=by)
    # Wait for the core's answer, so the nurse reads what happened, not what was asked.
    outcome = await vigil.control_outcome(claim.room, ack)
    if outcome is not None and not accepted(outcome):
        return _page(
            409,
            "Not acknowledged",
            f"{_what(claim, vigil)}: the alarm changed before this arrived ({outcome}). "
            "Check the dashboard.",
        )
    vigil.notifier.record_ack(claim)
    if outcome is None:  # still queued: it will be applied, but not confirmed yet
        return _page(202, "Acknowledgement sent", f"{_what(claim, vigil)}: sent as {by}.")
    return _page(200, "Acknowledged", f"{_what(claim, vigil)}: acknowledged by {by}.")


@router.post("/pushover/{token}")
async def pushover_callback(token: str, request: Request, vigil: VigilDep) -> JSONResponse:
    try:
        # The used-token table is SQLite: off the event loop, as for the links.
        claim = await run_in_threadpool(vigil.notifier.tokens.peek, token, time.time())
        if claim.channel != "pushover":
            raise TokenError(TokenProblem.FORGED)  # a link's token is not a callback's
    except TokenError as err:
        status = _REFUSED[err.problem][0]
        return JSONResponse({"acknowledged": False, "reason": err.problem.value}, status)
    body = (await request.body()).decode("utf-8", "replace")
    try:
        form = dict(parse_qsl(body, max_num_fields=20))
    except ValueError:
        return JSONResponse({"acknowledged": False, "reason": "not a Pushover callback"}, 400)
    refused = JSONResponse(
        {"acknowledged": False, "reason": "no open Pushover receipt of this page matches"}, 409
    )
    if not vigil.notifier.pushover_callback_matches(claim, form):
        return refused  # the token stays usable for Pushover's real callback
    try:
        claim = await run_in_threadpool(vigil.notifier.tokens.redeem, token, time.time())
    except TokenError as err:
        status = _REFUSED[err.problem][0]
        return JSONResponse({"acknowledged": False, "reason": err.problem.value}, status)
    if not vigil.notifier.pushover_callback(claim, form):
        return refused  # acknowledged by the receipt poll in the meantime
    return JSONResponse({"acknowledged": True, "by": f"{claim.contact} via Pushover app"})
