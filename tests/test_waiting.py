"""The shared polling helper (tests/waiting.py): returns the first truthy value, and a timeout
fails the test naming what was awaited."""

from __future__ import annotations

import pytest

from tests.waiting import wait_for, wait_for_async


def test_returns_the_first_truthy_value() -> None:
    calls: list[int] = []

    def third() -> int:
        calls.append(1)
        return len(calls) if len(calls) >= 3 else 0

    assert wait_for(third, 5, "the third call", every_s=0.001) == 3


def test_a_timeout_names_what_was_awaited() -> None:
    with pytest.raises(AssertionError, match=r"timed out after 0\.05 s waiting for state B"):
        wait_for(lambda: None, 0.05, lambda: "state " + "B", every_s=0.01)


async def test_the_async_form_behaves_alike() -> None:
    assert await wait_for_async(lambda: ["ready"], 1) == ["ready"]
    with pytest.raises(AssertionError, match="waiting for the receiver"):
        await wait_for_async(lambda: 0, 0.05, "the receiver")
