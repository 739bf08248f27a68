"""Prompts, only through ``input(prompt)``, when allowed and stdin is a terminal."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["ask", "ask_yes_no", "is_interactive"]

T = TypeVar("T")
_YES_NO = {"y": True, "yes": True, "n": False, "no": False}


def is_interactive(requested: bool) -> bool:
    """True iff prompts are ``requested`` and stdin is a terminal."""
    return bool(requested) and sys.stdin is not None and sys.stdin.isatty()


def _read(prompt: str, wait: float | None) -> str | None:
    """One answer, or None on end of input or when ``wait`` seconds pass."""
    answer: list[str] = []

    def target() -> None:
        with contextlib.suppress(EOFError):
            answer.append(input(prompt))

    if wait is None:
        target()
    else:
        reader = threading.Thread(target=target, daemon=True, name="acme-prompt")
        reader.start()
        reader.join(wait)
    return answer[0] if answer else None


def ask(
    prompt: str, parse: Callable[[str], T | None], default: T, wait: float | None = None
) -> T:
    """Ask until ``parse`` (stripped, lower-cased answer -> value or None) accepts.

    ``default`` is taken for an empty answer, end of input, three bad answers or
    when ``wait`` seconds (None: no limit) pass without an answer.
    """
    for _ in range(3):
        raw = _read(prompt, wait)
        if raw is None or not raw.strip():
            return default
        value = parse(raw.strip().lower())
        if value is not None:
            return value
    return default


def ask_yes_no(prompt: str, default: bool, wait: float | None = None) -> bool:
    """Ask a yes/no question (``y``/``yes``/``n``/``no`` in any case)."""
    return ask(prompt, _YES_NO.get, default, wait)
