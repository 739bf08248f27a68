"""Prompts: only when the caller allows them and stdin is a terminal.

Every prompt goes through ``input(prompt)`` with one positional argument, so tests
drive it by monkeypatching ``builtins.input`` and ``sys.stdin.isatty``. End of
input or an expired deadline takes the default.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["ask", "ask_yes_no", "is_interactive"]

T = TypeVar("T")

_MAX_INVALID = 3
_YES = {"y", "yes"}
_NO = {"n", "no"}


def is_interactive(requested: bool) -> bool:
    """True iff prompts are ``requested`` and stdin is a terminal."""
    return bool(requested) and sys.stdin is not None and sys.stdin.isatty()


def _read(prompt: str, wait: float | None) -> str | None:
    """One answer, or None on end of input or when ``wait`` seconds pass."""
    if wait is None:
        try:
            return input(prompt)
        except EOFError:
            return None
    answer: list[str | None] = [None]

    def target() -> None:
        try:
            answer[0] = input(prompt)
        except EOFError:
            answer[0] = None

    reader = threading.Thread(target=target, daemon=True, name="acme-prompt")
    reader.start()
    reader.join(wait)
    return answer[0]


def ask(
    prompt: str, parse: Callable[[str], T | None], default: T, wait: float | None = None
) -> T:
    """Ask until ``parse`` accepts the answer; the default after three bad answers.

    Parameters
    ----------
    prompt : str
        Text shown to the user.
    parse : callable
        Maps a stripped, lower-cased answer to a value, or None if it is invalid.
    default : object
        Taken for an empty answer, end of input, a time-out or repeated bad answers.
    wait : float, optional
        Seconds to wait for each answer; None waits forever.
    """
    for _ in range(_MAX_INVALID):
        raw = _read(prompt, wait)
        if raw is None or not raw.strip():
            return default
        value = parse(raw.strip().lower())
        if value is not None:
            return value
    return default


def _yes_no(answer: str) -> bool | None:
    if answer in _YES:
        return True
    if answer in _NO:
        return False
    return None


def ask_yes_no(prompt: str, default: bool, wait: float | None = None) -> bool:
    """Ask a yes/no question (``y``/``yes``/``n``/``no`` in any case)."""
    return ask(prompt, _yes_no, default, wait)
