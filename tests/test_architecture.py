"""What may import what (docs/architecture.md), checked on every module's source with `ast`.

Every import counts, also those inside functions and under `if TYPE_CHECKING:`: a
function-level import is still a dependency (it only hides a cycle).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("monitor", "drivers", "alerts")
STDLIB = frozenset(sys.stdlib_module_names)
#: Stdlib only and free of Vigil imports: the one Vigil module every package may use.
SHARED = frozenset({"monitor.private_files"})
#: The core's vocabulary every layer shares: the frozen dataclasses that cross layers (the
#: readings and events; the typed controls paging sends back in) and the one plausibility
#: table decoders and the core both use (all pure: they import the core only).
MODELS = frozenset({"monitor.core.models", "monitor.core.controls", "monitor.core.plausibility"})
ENTRY_POINTS = frozenset({"monitor.__main__"})  # and `vigil = "monitor.cli:main"`

#: Each library a package may use, by top-level import name. The core: numpy, and msgspec
#: for the value types built for every reading (monitor/core/models.py `Reading`).
CORE_LIBRARIES = frozenset({"numpy", "msgspec"})
DRIVER_LIBRARIES = frozenset({"serial", "bleak", "bleak_retry_connector", "bumble", "hl7"})
ALERT_LIBRARIES = frozenset({"apprise", "httpx", "pydantic"})

#: The runtime (monitor/runtime.py) composes these parts, each knowing only what its job needs:
#: paging is reached through monitor.wiring only, devices through monitor.devices and the room
#: types, and no part knows the runtime back (not even for a type).
RUNTIME_PARTS: dict[str, tuple[str, ...]] = {
    "monitor.runtime": ("alerts", "drivers"),
    "monitor.wiring": ("drivers", "monitor.runtime"),
    "monitor.rooms": ("alerts", "monitor.runtime"),
    "monitor.devices": ("alerts", "monitor.hub", "monitor.store", "monitor.runtime"),
    "monitor.room_loop": ("alerts", "drivers", "monitor.runtime"),
    "monitor.health": ("alerts", "monitor.runtime"),
    "monitor.restart": ("alerts", "drivers", "monitor.runtime"),
}

#: Imports that break the rules today, each with the step of issue #14 that removes it. The
#: list only shrinks: an entry that no longer occurs fails the test too (delete it then).
PENDING: dict[tuple[str, str], str] = {}


@dataclass(frozen=True, slots=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (absolute)
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> Iterator[Import]:
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(mod, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = str(node.module)
            # `from drivers import sim` imports drivers.sim: name each imported name too.
            names = [f"{target}.{a.name}" for a in node.names if a.name != "*"]
            yield Import(mod, target, node.lineno)
            for name in names:
                if _is_module(name):
                    yield Import(mod, name, node.lineno)


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (ROOT / rel).is_dir() or (ROOT / rel).with_suffix(".py").is_file()


def all_imports() -> list[Import]:
    return [
        imp
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for imp in imports_of(path)
    ]


def top(name: str) -> str:
    return name.partition(".")[0]


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def rule_broken(imp: Import) -> str | None:
    """Why this import is forbidden, or None."""
    m, t = imp.module, imp.target
    if top(t) in STDLIB or t == "__future__":
        return None
    if within(t, "monitor.cli") and not within(m, "monitor.cli") and m not in ENTRY_POINTS:
        return "only the entry point imports monitor.cli"
    if m in SHARED:
        return "a shared module imports the stdlib only"
    if t in SHARED:
        return None
    if within(m, "monitor.core"):
        if top(t) in CORE_LIBRARIES or within(t, "monitor.core"):
            return None
        return "core: stdlib, numpy, msgspec"
    if within(m, "drivers"):
        if top(t) in DRIVER_LIBRARIES or t in MODELS:
            return None
        if within(t, "drivers.sim") and not within(m, "drivers.sim"):
            return "production drivers never load the simulators (drivers.sim)"
        return None if within(t, "drivers") else "drivers: stdlib, their libraries, models"
    if within(m, "alerts"):
        if top(t) in ALERT_LIBRARIES or t in MODELS or within(t, "alerts"):
            return None
        return "alerts: stdlib, their libraries, alerts, models (not the runtime or storage)"
    if any(within(t, part) for part in RUNTIME_PARTS.get(m, ())):
        return "the runtime's parts: paging via monitor.wiring, none knows monitor.runtime"
    return None


def test_no_forbidden_import() -> None:
    broken = [
        f"{i.module}:{i.line} imports {i.target}: {why}"
        for i in all_imports()
        if (why := rule_broken(i)) is not None and (i.module, i.target) not in PENDING
    ]
    assert broken == []


def test_pending_exceptions_still_exist() -> None:
    found = {(i.module, i.target) for i in all_imports() if rule_broken(i) is not None}
    assert sorted(set(PENDING) - found) == [], "fixed: delete these from PENDING"


@pytest.mark.parametrize(
    ("module", "target", "forbidden"),
    [
        ("monitor.core.engine", "numpy", False),
        ("monitor.core.engine", "monitor.store.journal", True),
        ("monitor.core.engine", "sqlite3", False),
        ("monitor.core.models", "msgspec", False),
        ("monitor.core.engine", "httpx", True),
        ("drivers.registry", "drivers.sim.devices", True),
        ("drivers.sim.registry", "drivers.sim.devices", False),
        ("drivers.nonin", "monitor.core.models", False),
        ("drivers.values", "monitor.core.plausibility", False),
        ("drivers.values", "monitor.core.pipeline", True),
        ("drivers.nonin", "monitor.config", True),
        ("alerts.notifier", "monitor.runtime", True),
        ("alerts.notifier", "monitor.store.lineproto", True),
        ("alerts.receipts", "monitor.private_files", False),
        ("alerts.notifier", "apprise", False),
        ("monitor.api.app", "monitor.cli.run", True),
        ("monitor.__main__", "monitor.cli", False),
        ("monitor.private_files", "monitor.store", True),
        ("monitor.runtime", "alerts.notifier", True),
        ("monitor.wiring", "alerts.notifier", False),
        ("monitor.wiring", "monitor.runtime", True),
        ("monitor.room_loop", "drivers.ble.driver", True),
        ("monitor.room_loop", "monitor.devices", False),
        ("monitor.devices", "drivers.registry", False),
        ("monitor.devices", "monitor.store.recorder", True),
        ("monitor.health", "alerts.notifier", True),
        ("monitor.api.app", "monitor.runtime", False),
    ],
)
def test_the_rules_themselves(module: str, target: str, forbidden: bool) -> None:
    assert (rule_broken(Import(module, target, 1)) is not None) == forbidden


def test_function_level_and_from_package_imports_are_seen() -> None:
    source = ROOT / "drivers" / "registry.py"
    found = {i.target for i in imports_of(source)}
    assert "drivers.base" in found  # top level
    assert "drivers.throttle" in found  # inside build_decoder
    assert "drivers.nonin" in found  # `from drivers import ..., nonin, ...` in a function


def test_a_production_process_loads_no_simulator() -> None:
    """The runtime and the API import the simulators only for a room that simulates."""
    probe = (
        "import sys, monitor.runtime, monitor.api.app, monitor.config\n"
        "print(sorted(m for m in sys.modules if m.startswith('drivers.sim')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("module", ["drivers.registry", "drivers.ble.factory"])
def test_the_protocol_table_and_the_real_ble_factory_load_no_simulator(module: str) -> None:
    """Every protocol registered (and a decoder built) as a production process does, yet
    `python -X importtime` lists no drivers.sim module: the simulators have their own table."""
    probe = (
        f"import {module}\n"
        "from drivers.registry import PROTOCOLS, build_decoder\n"
        "for pid in PROTOCOLS: build_decoder(pid, 'x')\n"
    )
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", probe],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    loaded = [line.rpartition("|")[2].strip() for line in out.stderr.splitlines()]
    assert "drivers.registry" in loaded  # the probe saw the imports
    assert [m for m in loaded if within(m, "drivers.sim")] == []


def _wait_for_calls() -> list[str]:
    """`asyncio.wait_for(...)` calls in Vigil's packages, as file:line."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "wait_for"
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "asyncio"
                ):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_asyncio_wait_for_in_vigil() -> None:
    """On Python 3.11 `asyncio.wait_for` swallows a cancellation that arrives as its awaitable
    finishes (CPython gh-86296, fixed in 3.12): a supervised task asked to stop goes on
    running (an HL7 simulator kept a test waiting forever). `async with asyncio.timeout(s):`
    does not; use it."""
    assert _wait_for_calls() == []
