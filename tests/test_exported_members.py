"""Each package's public surface is its `__all__` (httpx's tests/test_exported_members.py),
and each package has one exception root that every exception it defines derives from."""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import pytest

from tests.conftest import ROOT

#: package → its exception root and the module that holds its exceptions
ROOTS = {
    "monitor": ("MonitorError", "monitor/errors.py"),
    "monitor.core": ("CoreError", "monitor/core/errors.py"),
    "drivers": ("DriverError", "drivers/errors.py"),
    "alerts": ("AlertError", "alerts/errors.py"),
}


@pytest.mark.parametrize("package", sorted(ROOTS))
def test_all_public_members_are_exported(package: str) -> None:
    module = importlib.import_module(package)
    public = [
        name
        for name, value in vars(module).items()
        if not isinstance(value, types.ModuleType)  # submodules loaded so far
        and (not name.startswith("_") or name == "__version__")
    ]
    assert sorted(module.__all__) == sorted(public)


@pytest.mark.parametrize("package", sorted(ROOTS))
def test_every_exported_exception_derives_from_the_root_and_is_in_the_tree(package: str) -> None:
    module = importlib.import_module(package)
    root_name, _ = ROOTS[package]
    root = getattr(module, root_name)
    exceptions = [v for v in vars(module).values() if isinstance(v, type)]
    assert exceptions and all(issubclass(e, root) for e in exceptions)
    for e in exceptions:  # the docstring draws each of them
        assert e.__name__ in (module.__doc__ or ""), e.__name__


def _package_of(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    return "monitor.core" if parts[:2] == ("monitor", "core") else parts[0]


def test_exceptions_are_defined_only_in_the_errors_modules() -> None:
    """A new exception class goes in its package's errors module, under the root."""
    stray = []
    for package in ("monitor", "drivers", "alerts"):
        for path in sorted((ROOT / package).rglob("*.py")):
            home = ROOTS[_package_of(path)][1]
            if path.relative_to(ROOT).as_posix() == home:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                bases = [ast.unparse(b) for b in getattr(node, "bases", [])]
                if isinstance(node, ast.ClassDef) and any(
                    b.endswith(("Error", "Exception")) for b in bases
                ):
                    stray.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert stray == []


def test_the_roots_carry_structured_attributes() -> None:
    from alerts import PushoverError, TokenError
    from alerts.tokens import TokenProblem
    from drivers import LinkError
    from monitor import ConfigError
    from monitor.core import RecordingError

    assert (LinkError("gone", source="A-ox").source, str(LinkError("gone"))) == ("A-ox", "gone")
    assert (PushoverError("refused").channel, PushoverError("x").message) == ("pushover", "x")
    assert TokenError(TokenProblem.USED).problem == TokenProblem.USED
    assert (ConfigError("rooms.0.id: missing").part, str(ConfigError("a: b"))) == ("config", "a: b")
    err = RecordingError(3, "value: not a number")
    assert (err.line_no, str(err), isinstance(err, ValueError)) == (
        3,
        "line 3: value: not a number",
        True,
    )
