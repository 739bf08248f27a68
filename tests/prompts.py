"""Scripted terminals for acme's prompts, shared by the tests.

acme prompts only through ``input(prompt)`` and only when ``sys.stdin.isatty()``;
these fixtures and :func:`answer` stand in for both. ``conftest.py`` loads this
module as a plugin, so its fixtures need no import.
"""

from __future__ import annotations

import builtins
import sys
import threading
from collections.abc import Iterator

import pytest


class Answers:
    """Stands in for ``input(prompt)``: replays answers and records the prompts.

    An exception class among the answers is raised instead (``EOFError``: the
    user closed stdin). Running out of answers fails the test.
    """

    def __init__(self, *answers: str | type[BaseException]) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    def __call__(self, prompt, /):  # one positional argument, as acme calls it
        self.prompts.append(prompt)
        if not self.answers:
            raise AssertionError(f"unexpected prompt {prompt!r}")
        reply = self.answers.pop(0)
        if isinstance(reply, type) and issubclass(reply, BaseException):
            raise reply
        return reply


def answer(
    monkeypatch: pytest.MonkeyPatch, *answers: str | type[BaseException]
) -> Answers:
    """Make ``input`` reply with ``answers`` in turn (none: any prompt fails)."""
    replay = Answers(*answers)
    monkeypatch.setattr(builtins, "input", replay)
    return replay


@pytest.fixture
def tty(monkeypatch) -> None:
    """stdin is a terminal, so acme may prompt (answers: ``prompts.answer``)."""
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)


@pytest.fixture
def no_tty(monkeypatch) -> None:
    """stdin is not a terminal, so acme must not prompt."""
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)


@pytest.fixture
def no_prompt(monkeypatch) -> Answers:
    """``input`` that fails the test if acme prompts at all."""
    return answer(monkeypatch)


class Silent:
    """Stands in for ``input(prompt)``: records the prompt and never answers.

    The reply (empty) only comes once :meth:`release` is called, at the latest when
    the test ends, so a prompt with a deadline runs into it.
    """

    def __init__(self) -> None:
        self.prompts: list[str] = []
        self._released = threading.Event()

    def __call__(self, prompt, /):
        self.prompts.append(prompt)
        self._released.wait(60)
        return ""

    def release(self) -> None:
        self._released.set()


@pytest.fixture
def blocked_input(monkeypatch) -> Iterator[Silent]:
    """``input`` that blocks until the test ends (a user who never answers)."""
    silent = Silent()
    monkeypatch.setattr(builtins, "input", silent)
    yield silent
    silent.release()
