"""The examples in docstrings run, so they cannot go stale (monitor/core/conditioning.py has
one; add more to the pure modules freely)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

#: The pure packages (docs/architecture.md): importing them starts nothing.
PACKAGES = ("monitor.core", "drivers", "alerts")


def modules() -> list[str]:
    names = []
    for package in PACKAGES:
        path = importlib.import_module(package).__path__
        names += [m.name for m in pkgutil.walk_packages(path, package + ".")]
    return sorted(names)


@pytest.mark.parametrize("name", modules())
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_the_examples_are_found() -> None:
    conditioning = importlib.import_module("monitor.core.conditioning")
    assert doctest.testmod(conditioning).attempted >= 3
