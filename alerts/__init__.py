"""Phone notifications, escalation policy, signed acknowledgement tokens.

Paging sees the rest of Vigil only through `alerts.host.PagingHost`. Every exception it
raises derives from one root (alerts/errors.py):

    AlertError             message, channel
    ├── PushoverError      the Pushover API refused a call or could not be reached
    ├── PagingStalled      the paging thread's event loop stopped answering
    └── TokenError         an acknowledge token was refused (problem)
"""

from alerts.errors import AlertError, PagingStalled, PushoverError, TokenError

__all__ = ["AlertError", "PagingStalled", "PushoverError", "TokenError"]
