"""Pushover pages, sent by Vigil itself so that the receipts of emergency pages come back.

Apprise sends every other channel's pages. An emergency-priority Pushover message is
different: the phone alarms again every `retry` seconds until the nurse taps Acknowledge
inside the Pushover app, and the API answers each one with a receipt. Apprise drops that
receipt, and without it Vigil can neither hear about that acknowledgement nor stop the
ringing once someone has acknowledged on the dashboard or through the link (a phone that
keeps ringing after someone has answered). So Vigil uses Pushover's message and receipt API
itself, three calls over httpx, for every Pushover page: one way to reach one service, and
one configurable API address (which the tests point at a fake on loopback). The contact is
still written as its Apprise URL (`pover://user@token/device?priority=emergency`) and read
by Apprise's own parser, so there is one way to configure a contact.

- `PushoverApi.send`: POST /1/messages.json. An emergency message (priority 2) carries
  `retry`, `expire` and, when enabled, a `callback` URL, and gets a receipt (one per user or
  group key). Every page carries the acknowledge link as its supplementary URL.
- `PushoverApi.receipt`: GET /1/receipts/{receipt}.json (Pushover asks for no more than one
  poll per receipt every 5 s): acknowledged, on which device, expired.
- `PushoverApi.cancel`: POST /1/receipts/{receipt}/cancel.json: stop the retries.

Choosing the target and building the request forms is pure; the notifier owns the receipts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import apprise
import httpx
from apprise.plugins.pushover import NotifyPushover

from alerts.errors import PushoverError as PushoverError  # its home: alerts/errors.py
from alerts.message import Message

PUSHOVER_API = "https://api.pushover.net"
MIN_RETRY_S = 30  # Pushover refuses faster retries
MAX_EXPIRE_S = 10_800  # and longer expiries
MIN_POLL_S = 5.0  # Pushover's limit on receipt polling
EMERGENCY = 2
_ALL_DEVICES = "ALL_DEVICES"  # Apprise's marker for "no device named: every device"


@dataclass(frozen=True, slots=True)
class Recipient:
    user: str  # a user key or a group key
    devices: str  # comma-separated device names; "" for all of the user's devices


@dataclass(frozen=True, slots=True)
class PushoverTarget:
    """One `pover://` URL: what the API calls need."""

    app_token: str
    recipients: tuple[Recipient, ...]
    priority: int  # -2 … 2; 2 is emergency: it rings until acknowledged and has a receipt
    sound: str | None
    retry_s: int  # emergency only
    expire_s: int  # emergency only
    url: str | None  # supplementary URL (the acknowledge link)
    url_title: str | None

    @property
    def emergency(self) -> bool:
        return self.priority == EMERGENCY


@dataclass(frozen=True, slots=True)
class ReceiptStatus:
    acknowledged: bool
    acknowledged_at: float | None
    device: str  # the device it was acknowledged on; "" when not acknowledged
    expired: bool


def pushover_target(url: str, *, expire_cap_s: float) -> PushoverTarget | None:
    """The target of a Pushover URL (with Vigil's extras already applied, see
    `notifier.with_channel_extras`); None when Apprise should send it: not Pushover, or
    end-to-end encrypted (only Apprise implements Pushover's E2EE, without receipts).

    Retries default to Pushover's minimum, 30 s, where Apprise's default (15 min) is far too
    slow for an alarm; expiry defaults to the acknowledge link's lifetime, so a page rings
    no longer than it can be acknowledged."""
    plugin = apprise.Apprise.instantiate(url)
    if not isinstance(plugin, NotifyPushover):
        return None
    if plugin.encryption_key:
        return None
    query = parse_qs(urlsplit(url).query)
    # Apprise validated both when the contact was configured; they are ints (or defaults).
    retry = int(str(plugin.interval)) if "interval" in query else MIN_RETRY_S
    cap = int(min(max(expire_cap_s, MIN_RETRY_S), MAX_EXPIRE_S))
    expire = min(int(str(plugin.expire)), cap) if "expire" in query else cap
    devices = [d for d in plugin.devices if d != _ALL_DEVICES]
    recipients = []
    if plugin.devices:
        recipients.append(Recipient(str(plugin.user_key), ",".join(devices)))
    recipients += [Recipient(str(g), "") for g in plugin.groups]
    return PushoverTarget(
        app_token=str(plugin.token),
        recipients=tuple(recipients),
        priority=int(plugin.priority),
        sound=plugin.sound if "sound" in query else None,  # else the phone's own choice
        retry_s=max(retry, MIN_RETRY_S),
        expire_s=expire,
        url=plugin.supplemental_url or None,
        url_title=plugin.supplemental_url_title or None,
    )


def message_form(
    target: PushoverTarget,
    recipient: Recipient,
    message: Message,
    *,
    callback: str | None,
    timestamp: float,
) -> dict[str, str]:
    """The POST form of one message to one recipient."""
    form = {
        "token": target.app_token,
        "user": recipient.user,
        "title": message.title,
        "message": message.body,
        "priority": str(target.priority),
        "timestamp": str(int(timestamp)),
    }
    if target.emergency:
        form |= {"retry": str(target.retry_s), "expire": str(target.expire_s)}
    else:
        callback = None  # Pushover calls back about emergency messages only
    optional = {
        "device": recipient.devices,
        "sound": target.sound,
        "url": target.url,
        "url_title": target.url_title,
        "callback": callback,
    }
    form.update({k: v for k, v in optional.items() if v})
    return form


def parse_receipt(obj: Any) -> ReceiptStatus:
    """A receipt API answer; PushoverError when it is not one."""
    if not isinstance(obj, dict) or obj.get("status") != 1:
        raise PushoverError(_errors(obj))
    try:
        acknowledged = int(obj.get("acknowledged", 0)) == 1
        at = float(obj.get("acknowledged_at") or 0)
        expired = int(obj.get("expired", 0)) == 1
    except (TypeError, ValueError):
        raise PushoverError("receipt answer with non-numeric fields") from None
    device = str(obj.get("acknowledged_by_device") or "") if acknowledged else ""
    return ReceiptStatus(acknowledged, at if acknowledged and at > 0 else None, device, expired)


def _errors(obj: Any) -> str:
    if isinstance(obj, dict) and isinstance(obj.get("errors"), list) and obj["errors"]:
        return "; ".join(str(e) for e in obj["errors"])[:300]
    return "unexpected answer"


class PushoverApi:
    """Pushover's message and receipt calls. `base_url` is configurable so the tests (and a
    clinic that must go through a relay) can point it elsewhere."""

    def __init__(self, base_url: str = PUSHOVER_API, timeout_s: float = 5.0) -> None:
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s)

    async def send(self, form: dict[str, str]) -> str | None:
        """Queue one message; the receipt of an emergency message (None for the others)."""
        obj = await self._call("POST", "/1/messages.json", data=form)
        if form.get("priority") != str(EMERGENCY):
            return None
        receipt = obj.get("receipt")
        if not isinstance(receipt, str) or not receipt.isalnum():
            raise PushoverError("accepted, but no receipt came back")
        return receipt

    async def receipt(self, app_token: str, receipt: str) -> ReceiptStatus:
        return parse_receipt(
            await self._call("GET", f"/1/receipts/{receipt}.json", params={"token": app_token})
        )

    async def cancel(self, app_token: str, receipt: str) -> None:
        await self._call("POST", f"/1/receipts/{receipt}/cancel.json", data={"token": app_token})

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            r = await self._client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise PushoverError("no answer in time") from None
        except httpx.HTTPError as exc:
            # The exception text can carry the URL, and a receipt poll has the app token
            # in its query: name the kind of failure only.
            raise PushoverError(f"unreachable ({type(exc).__name__})") from None
        try:
            obj = r.json()
        except ValueError:
            obj = None
        if r.status_code == 429:
            raise PushoverError("rate limited by Pushover (HTTP 429)")
        if r.status_code != 200 or not isinstance(obj, dict) or obj.get("status") != 1:
            raise PushoverError(f"HTTP {r.status_code}: {_errors(obj)}")
        return obj
