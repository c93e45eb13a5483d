"""Open the staff-account store for a configuration; refuse default secrets.

Demo mode (no rooms configured) makes its own random secret and one account per role with
fresh random passwords, printed at start. Outside demo mode the secret key must be set and
must not be a well-known default: start-up stops with a message naming the setting.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from alerts.secret_strength import HOW_TO_MAKE_ONE, weakness
from monitor.auth.store import ROLES, UserStore
from monitor.config import ConfigError, Settings

#: Values people paste from examples; never accepted as a real secret.
KNOWN_DEFAULTS = frozenset(
    {
        "",
        "change-me",
        "changeme",
        "change-me-please",
        "change-me-token",
        "secret",
        "vigil",
        "password",
        "demo",
        "test",
        "admin",
    }
)
MIN_SECRET_CHARS = 16
DEFAULT_DB = Path(".vigil/users.db")
DEMO_DB = Path(".vigil/demo-users.db")


def check_secrets(settings: Settings) -> None:
    """Raise ConfigError naming the setting when a secret is missing, a known default or
    guessable (alerts.secret_strength: under 128 estimated bits)."""
    if settings.demo:
        return
    key = settings.secret_key
    weak = weakness(key)
    if key.lower() in KNOWN_DEFAULTS or len(key) < MIN_SECRET_CHARS or weak:
        why = f" ({weak})" if weak and key else ""
        raise ConfigError(
            f"secret_key (VIGIL_SECRET_KEY) is missing, a default or guessable{why}: set it "
            f"to a long random value, e.g. the output of `{HOW_TO_MAKE_ONE}`. "
            "Vigil refuses to start without it."
        )
    token = settings.influx_token
    if settings.influx_api == 2 and (token.lower() in KNOWN_DEFAULTS or weakness(token)):
        raise ConfigError(
            "influx_token (VIGIL_INFLUX_TOKEN) is missing, a default or guessable: use the "
            "token your InfluxDB generated, not the example's."
        )


def users_db(settings: Settings) -> Path:
    if settings.users_db is not None:
        return settings.users_db
    # The demo keeps its printed-password accounts apart from real ones.
    return DEMO_DB if settings.demo else DEFAULT_DB


def open_store(settings: Settings) -> UserStore:
    """The account store for `settings` (ConfigError when its secrets are not acceptable)."""
    check_secrets(settings)
    key = settings.secret_key or secrets.token_urlsafe(32)
    return UserStore(users_db(settings), key)


def ensure_demo_users(store: UserStore) -> list[tuple[str, str, str]]:
    """One account per role, each with a new random password: [(username, role, password)]."""
    made = []
    for role in ROLES:
        name = f"demo-{role}"
        password = secrets.token_urlsafe(9)
        if store.get(name) is None:
            store.add_user(name, role, password)
        else:
            store.set_password(name, password)
            store.set_role(name, role)
        made.append((name, role, password))
    return made
