"""The config file as the admin page changes it: edited, validated, written back.

The file stays the one place the configuration lives, readable and versionable by the
clinic's IT person: tomlkit keeps its comments, order and layout; only the table an admin
changed is rewritten. Every change is validated by the same code as start-up
(`monitor.config.settings_from_data`, the pydantic Settings models) before anything is
written; the write is atomic (a temporary file renamed over the old one) and the previous
version is kept next to it as `<name>.bak`.

The file is read again for each change, so an edit made by hand meanwhile is kept; changes
are serialised by a lock (the API runs them in worker threads).
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Table
from tomlkit.toml_document import TOMLDocument

from monitor.config import ConfigError, Settings, settings_from_data
from monitor.errors import ConfigChangeError as ConfigChangeError  # its home: monitor/errors.py


def _error_lines(exc: ConfigError) -> list[str]:
    """The `<field>: <message>` lines of a ConfigError (its first line names the source)."""
    lines = [ln.strip() for ln in str(exc).splitlines()]
    return [ln for ln in lines[1:] if ln] or lines[:1]


def toml_ready(value: Any) -> Any:
    """JSON from the API as TOML can hold it: TOML has no null, so a None means 'leave the
    setting out' (its default)."""
    if isinstance(value, dict):
        return {k: toml_ready(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [toml_ready(v) for v in value if v is not None]
    return value


def _super_table(doc: TOMLDocument | Table, key: str) -> Table:
    """`doc[key]` as a table, created as a super table (no empty `[key]` header)."""
    if key not in doc:
        doc[key] = tomlkit.table(is_super_table=True)
    found = doc[key]
    if not isinstance(found, Table):
        raise ConfigChangeError([f"{key}: is not a table in the file; edit it by hand"])
    return found


def _aot(doc: TOMLDocument | Table, key: str) -> AoT:
    """`doc[key]` as an array of tables ([[key]]), created if missing."""
    if key not in doc:
        doc[key] = tomlkit.aot()
    found = doc[key]
    if not isinstance(found, AoT):
        raise ConfigChangeError([f"{key}: is not an array of tables in the file; edit by hand"])
    return found


def _index(items: AoT, field: str, value: str) -> int | None:
    return next((i for i, t in enumerate(items) if t.get(field) == value), None)


def _upsert(items: AoT, i: int | None, table: Table) -> None:
    if i is None:
        items.append(table)
    else:
        items[i] = table


def _remove(items: AoT, i: int | None, what: str) -> None:
    if i is None:
        raise KeyError(f"no {what} in the file")
    del items[i]


def _inline(value: Any) -> Any:
    """Nested values written inline (`simulate = { scenario = "steady" }`, `limits = [{...}]`),
    as people write them, rather than as sub-tables far from their device."""
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        table.update({k: _inline(v) for k, v in value.items()})
        return table
    if isinstance(value, list):
        array = tomlkit.array()
        array.extend(_inline(v) for v in value)
        return array
    return value


def _table(values: dict[str, Any]) -> Table:
    table = tomlkit.table()
    for k, v in toml_ready(values).items():
        table[k] = _inline(v)
    table.add(tomlkit.nl())  # a blank line before whatever follows, as by hand
    return table


# -- the edits the admin page makes (each a function of the parsed file) ------------------


def set_condition(condition: str, values: dict[str, Any] | None) -> Callable[[TOMLDocument], None]:
    """`[rules.conditions.<condition>]` set to `values` (None: removed, back to default)."""

    def edit(doc: TOMLDocument) -> None:
        conditions = _super_table(_super_table(doc, "rules"), "conditions")
        if values is None:
            conditions.pop(condition, None)
        else:
            conditions[condition] = _table(values)

    return edit


#: `[rules.<section>]` tables an admin may change (conditions have their own edit).
RULE_SECTIONS = ("conditioning", "baseline", "technical", "bp_schedule", "discharge")


def set_rule_section(section: str, values: dict[str, Any] | None) -> Callable[[TOMLDocument], None]:
    """`[rules.<section>]` set to `values` (None: removed, back to the defaults)."""

    def edit(doc: TOMLDocument) -> None:
        if section not in RULE_SECTIONS:
            raise KeyError(f"no rules section {section!r} (known: {', '.join(RULE_SECTIONS)})")
        rules = _super_table(doc, "rules")
        if values is None:
            rules.pop(section, None)
        else:
            rules[section] = _table(values)

    return edit


def set_room(room_id: str, values: dict[str, Any] | None) -> Callable[[TOMLDocument], None]:
    """A `[[rooms]]` entry's own fields (name, ...) set, a new room added, or (None) removed.
    Its devices stay as they are unless `values` has `devices`."""

    def edit(doc: TOMLDocument) -> None:
        rooms = _aot(doc, "rooms")
        i = _index(rooms, "id", room_id)
        if values is None:
            _remove(rooms, i, f"room {room_id!r}")
            return
        if i is None:
            given = dict(values)
            devices = given.pop("devices", None)
            room = _table({"id": room_id, **given})
            if devices:
                room["devices"] = _aot_of(toml_ready(devices))
            rooms.append(room)
            return
        room = rooms[i]
        for k, v in toml_ready(values).items():
            if k == "devices":
                room[k] = _aot_of(v)
            else:
                room[k] = _inline(v)
        for k in [k for k in room if k not in values and k not in ("id", "devices")]:
            del room[k]

    return edit


def _aot_of(items: list[dict[str, Any]]) -> AoT:
    out = tomlkit.aot()
    for item in items:
        out.append(_table(item))
    return out


def set_device(
    room_id: str, device_id: str, values: dict[str, Any] | None
) -> Callable[[TOMLDocument], None]:
    """One `[[rooms.devices]]` entry replaced, added, or (None) removed."""

    def edit(doc: TOMLDocument) -> None:
        rooms = _aot(doc, "rooms")
        r = _index(rooms, "id", room_id)
        if r is None:
            raise KeyError(f"no room {room_id!r} in the file")
        devices = _aot(rooms[r], "devices")
        i = _index(devices, "id", device_id)
        if values is None:
            _remove(devices, i, f"device {device_id!r} in room {room_id!r}")
        else:
            _upsert(devices, i, _table({"id": device_id, **values}))

    return edit


def set_contact(name: str, values: dict[str, Any] | None) -> Callable[[TOMLDocument], None]:
    """One `[[alerts.contacts]]` entry set, added, or (None) removed. Without `urls` in
    `values` an existing contact keeps its URLs (the page never sees them: they hold tokens)."""

    def edit(doc: TOMLDocument) -> None:
        contacts = _aot(_super_table(doc, "alerts"), "contacts")
        i = _index(contacts, "name", name)
        if values is None:
            _remove(contacts, i, f"contact {name!r}")
            return
        given = dict(values)
        if "urls" not in given and i is not None:
            given["urls"] = list(contacts[i].get("urls", []))
        _upsert(contacts, i, _table({"name": name, **given}))

    return edit


class ConfigStore:
    """The config file at `path`: read, change (validated, atomic, with a backup)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.backup = path.with_name(path.name + ".bak")
        self._lock = threading.Lock()

    def read(self) -> TOMLDocument:
        try:
            return tomlkit.parse(self.path.read_text(encoding="utf-8"))
        except (OSError, TOMLKitError) as exc:
            raise ConfigChangeError([f"{self.path}: cannot read the config file: {exc}"]) from None

    def settings(self) -> Settings:
        """What the file holds now, validated (it may differ from what runs)."""
        try:
            return settings_from_data(self.read().unwrap(), str(self.path))
        except ConfigError as exc:
            raise ConfigChangeError(_error_lines(exc)) from None

    def change(self, edit: Callable[[TOMLDocument], None]) -> Settings:
        """Apply `edit` to the file's current text, validate the result as start-up does and
        write it; the new settings. Raises ConfigChangeError (nothing written) when invalid,
        KeyError when the edit names something the file does not have."""
        with self._lock:
            doc = self.read()
            had_rooms = bool(doc.get("rooms"))
            edit(doc)
            if had_rooms and not doc.get("rooms"):
                # Vigil runs the demo when no rooms are configured: never by an admin's click.
                raise ConfigChangeError(
                    ["rooms: the last room cannot be removed (without rooms Vigil runs the demo)"]
                )
            try:
                settings = settings_from_data(doc.unwrap(), str(self.path))
            except ConfigError as exc:
                raise ConfigChangeError(_error_lines(exc)) from None
            self._write(tomlkit.dumps(doc).rstrip("\n") + "\n")
            return settings

    def _write(self, text: str) -> None:
        previous = self.path.read_bytes()
        _atomic_write(self.backup, previous)
        _atomic_write(self.path, text.encode("utf-8"))


def _atomic_write(path: Path, data: bytes) -> None:
    """`path` holds either its old or its new bytes, whatever happens (same-directory rename
    after an fsync); its permissions are kept (a config may be readable by its owner only)."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)
