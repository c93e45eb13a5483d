"""Vigil: an in-session safety monitor for ketamine-assisted psychotherapy.

Vigil is a secondary alarm system. It does not replace the bedside devices' own alarms.

Every exception of monitor (but its pure core, monitor.core) derives from one root
(monitor/errors.py):

    MonitorError           message, part
    ├── ConfigError        the configuration is invalid (`<field>: <message>`)
    ├── ConfigChangeError  an admin's change refused (errors: `<field>: <message>` lines)
    ├── AccountError       a bad username, role or password (also a ValueError)
    ├── SessionNotFound    no such session in the journal (also a LookupError)
    ├── BodyTooLarge       a request body over the API's limit
    └── LinkError          the HL7 receiver unreachable or not acknowledging
"""

from monitor.errors import (
    AccountError,
    BodyTooLarge,
    ConfigChangeError,
    ConfigError,
    LinkError,
    MonitorError,
    SessionNotFound,
)

__version__ = "0.1.0"

__all__ = [
    "AccountError",
    "BodyTooLarge",
    "ConfigChangeError",
    "ConfigError",
    "LinkError",
    "MonitorError",
    "SessionNotFound",
    "__version__",
]
