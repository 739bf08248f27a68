"""Prompts, only through ``input(prompt)``, when allowed and stdin is a terminal.

It exceeds its 60-line guide because a timed prompt on a real terminal waits with
``select`` (so an expired question swallows no input) and one elsewhere in a thread.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["ask", "ask_yes_no", "is_interactive"]

T = TypeVar("T")
_YES_NO = {"y": True, "yes": True, "n": False, "no": False}


def _terminal_fd() -> int | None:
    """stdin's descriptor if it is a real terminal, else None."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # replaced or closed stdin
        return None
    return fd if os.isatty(fd) else None


def is_interactive(requested: bool) -> bool:
    """True iff prompts are ``requested``, stdin is a terminal and we own it.

    A process in the terminal's background (``python x.py &``) would stop at a prompt.
    """
    if not requested or sys.stdin is None or not sys.stdin.isatty():
        return False
    fd = _terminal_fd()
    try:
        return fd is None or os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return True


def _read(prompt: str, wait: float | None) -> str | None:
    """One answer, or None on end of input or when ``wait`` seconds pass.

    On a real terminal the wait is a ``select``: an unanswered prompt reads nothing.
    """
    fd = _terminal_fd()
    if wait is not None and fd is not None:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        ready, _, _ = select.select([fd], [], [], wait)
        prompt = ""
        if not ready:
            sys.stdout.write("\n")
            return None
        wait = None
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

    ``default`` for an empty answer, end of input, three bad answers or a ``wait``.
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
