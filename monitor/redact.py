"""The configuration as it may be written down: secrets left out.

The `config` audit entry goes to the journal and from there to InfluxDB and Grafana, which
more people read than may log in as staff or page a phone. So the staff secret key and the
InfluxDB token are dropped, and each paging URL (which usually holds a token or a password)
keeps only its scheme: enough to see who is paged how, nothing to page as Vigil.
"""

from __future__ import annotations

from typing import Any

from monitor.config import Settings

#: Top-level settings that are secrets (the alerts signing secret is a SecretStr already).
SECRET_SETTINGS = frozenset({"influx_token", "secret_key"})


def redact_url(url: str) -> str:
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"{scheme}://…"


def auditable_settings(settings: Settings) -> dict[str, Any]:
    """`settings` as JSON-ready data with no secret in it."""
    data = settings.model_dump(mode="json", exclude=set(SECRET_SETTINGS))
    for contact in data.get("alerts", {}).get("contacts", []):
        contact["urls"] = [redact_url(u) for u in contact["urls"]]
    return data
