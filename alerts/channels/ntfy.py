"""ntfy pages (sent by Apprise): what Vigil adds to a contact's `ntfy://`/`ntfys://` URL.

An ntfy notification can carry an `http` action button, so the nurse acknowledges from the
notification itself (a POST to the acknowledge link), and a click target (the confirm page).
"""

from __future__ import annotations

from monitor.core.models import Priority

NTFY_CHANNELS = ("ntfy", "ntfys")

# Channel-native urgency where the contact's URL does not set its own.
_NTFY_PRIORITY = {Priority.HIGH: "max", Priority.MEDIUM: "high", Priority.LOW: "default"}


def ntfy_extras(
    query: dict[str, list[str]], *, ack_url: str | None, priority: Priority
) -> dict[str, str]:
    """The URL parameters to add; settings already in the contact's URL (`query`) win."""
    extras: dict[str, str] = {}
    if "priority" not in query:
        extras["priority"] = _NTFY_PRIORITY[priority]
    if ack_url:
        extras["actions"] = f"http, Acknowledge, {ack_url}, method=POST, clear=true"
        extras["click"] = ack_url  # tapping the notification opens the confirm page
    return extras
