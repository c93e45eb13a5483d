"""The configuration as it may be written down: secrets left out.

The `config` audit entry goes to the journal and from there to InfluxDB and Grafana, which
more people read than may log in as staff or page a phone. So the staff secret key and the
InfluxDB token are dropped, and each paging URL (which usually holds a token or a password)
keeps only its scheme: enough to see who is paged how, nothing to page as Vigil.
The InfluxDB URL may carry 1.x basic-auth credentials (`http://user:password@host`): shown
without them wherever it is shown (the public /api/health, start-up output, the audit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:  # no runtime import: the store uses this module too
    from monitor.config import Settings

#: Top-level settings that are secrets (the alerts signing secret is a SecretStr already).
SECRET_SETTINGS = frozenset({"influx_token", "secret_key"})


def redact_url(url: str) -> str:
    scheme = url.split("://", 1)[0] if "://" in url else "?"
    return f"{scheme}://…"


def without_credentials(url: str) -> str:
    """`url` with any `user:password@` removed."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=host))


def scrub(text: str, url: str) -> str:
    """`text` (an error message, say) with `url`'s credentials taken out."""
    return text.replace(url, without_credentials(url)) if url else text


def auditable_settings(settings: Settings) -> dict[str, Any]:
    """`settings` as JSON-ready data with no secret in it."""
    data = settings.model_dump(mode="json", exclude=set(SECRET_SETTINGS))
    data["influx_url"] = without_credentials(data["influx_url"])
    for contact in data.get("alerts", {}).get("contacts", []):
        contact["urls"] = [redact_url(u) for u in contact["urls"]]
    return data
