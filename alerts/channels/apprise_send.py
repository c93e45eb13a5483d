"""Every channel but Pushover: one send attempt through Apprise."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import apprise

from alerts.message import Message
from monitor.core.models import Priority

_NOTIFY_TYPE = {
    Priority.HIGH: apprise.NotifyType.FAILURE,
    Priority.MEDIUM: apprise.NotifyType.WARNING,
    Priority.LOW: apprise.NotifyType.INFO,
}

# No icon fetched from the internet. Not Apprise's `async_mode`: with it, even one URL's
# `notify` is handed to Apprise's shared executor of cpu + 4 threads (6 on a 2-core box), a
# second thread hop per page, and a burst of pages waited there although the notifier allows
# `workers` sends in flight (the 1,000-room benchmark's alarm -> phone p99).
_ASSET = apprise.AppriseAsset(image_url_mask=None, async_mode=False)

# Sends run on a pool of their own, off the event loop. The notifier's semaphore bounds what
# is in flight; threads are made only as they are needed.
_SEND_POOL = ThreadPoolExecutor(max_workers=256, thread_name_prefix="apprise-send")


async def deliver(
    url: str, message: Message, *, priority: Priority, timeout_s: float
) -> tuple[bool, str]:
    """One attempt through Apprise. (delivered, reason when not)."""
    # A fresh Apprise object per send, on purpose: a plugin instance throttles its own
    # successive sends (ntfy, Pushover: up to 5.5 s apart), which a page must never wait for.
    ap = apprise.Apprise(asset=_ASSET)
    if not ap.add(url):
        return False, f"not a valid Apprise URL ({channel_of(url)})"
    try:
        send = partial(
            ap.notify, body=message.body, title=message.title, notify_type=_NOTIFY_TYPE[priority]
        )
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout_s):
            result = await loop.run_in_executor(_SEND_POOL, send)
    except TimeoutError:
        return False, f"no answer within {timeout_s:g} s"
    except Exception as exc:  # Apprise plugins may raise; a page must never crash a worker
        return False, f"{type(exc).__name__}: {exc}"
    if result:
        return True, ""
    reasons = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
    return False, "; ".join(reasons) or "not delivered"


def channel_of(url: str) -> str:
    """The URL's scheme, which names the channel (`?` when it has none)."""
    return url.split("://", 1)[0].lower() if "://" in url else "?"
