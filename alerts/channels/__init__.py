"""Channels: the one place that picks how a contact's URL is paged.

`route` adds what the channel can do natively to the contact's URL and says who sends it:
Vigil itself for Pushover (alerts/pushover.py, to keep the receipts of emergency pages),
Apprise for every other channel (alerts/channels/apprise_send.py). Real pages and
`vigil notify test` both go through it. One module per channel family holds its extras:
alerts/channels/ntfy.py, alerts/pushover.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

from alerts import pushover
from alerts.channels.apprise_send import channel_of, deliver
from alerts.channels.ntfy import NTFY_CHANNELS, ntfy_extras
from monitor.core.models import Priority

__all__ = ["Route", "channel_of", "deliver", "route", "with_channel_extras"]


@dataclass(frozen=True, slots=True)
class Route:
    channel: str  # the contact URL's scheme, as recorded
    target: str  # the URL with the channel's extras
    pushover: pushover.PushoverTarget | None  # sent by Vigil itself; None: by Apprise


def with_channel_extras(url: str, *, ack_url: str | None, priority: Priority) -> str:
    """Add what the channel can do natively: an ntfy `http` action button that POSTs the
    acknowledgement from the notification itself; Pushover emergency priority (it repeats on
    the phone until the nurse opens it) and the acknowledge link as its supplementary URL.
    Settings already in the contact's URL win."""
    channel = channel_of(url)
    query = parse_qs(urlsplit(url).query)
    extras: dict[str, str] = {}
    if channel in NTFY_CHANNELS:
        extras = ntfy_extras(query, ack_url=ack_url, priority=priority)
    elif channel in pushover.PUSHOVER_CHANNELS:
        extras = pushover.pushover_extras(query, ack_url=ack_url, priority=priority)
    if not extras:
        return url
    sep = "&" if "?" in url else "?"
    return url + sep + "&".join(f"{k}={quote(v, safe='')}" for k, v in extras.items())


def route(url: str, *, ack_url: str | None, priority: Priority, expire_cap_s: float) -> Route:
    """How one contact URL is paged."""
    channel = channel_of(url)
    target = with_channel_extras(url, ack_url=ack_url, priority=priority)
    po_target = (
        pushover.pushover_target(target, expire_cap_s=expire_cap_s)
        if channel in pushover.PUSHOVER_CHANNELS
        else None
    )
    return Route(channel, target, po_target)
