"""The manifest's journal: call updates appended while ``compute()`` runs.

Rewriting the whole manifest for every few finished calls would cost more the
longer the run. Instead the manifest ``.acme_<f>.json`` names a journal
generation, and updates since it was written are appended as JSON lines to
``.acme_<f>.journal``, the first line naming the same generation. A full
save rewrites the manifest with a new generation and removes the journal, so
a journal left by an older save is never replayed over a newer manifest. A
last line cut short by a killed process is ignored.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._files import append_lines

__all__ = ["GENERATION", "append", "new_generation", "replay"]

GENERATION = "journal"  # the manifest's key naming its journal's generation


def new_generation() -> str:
    """A fresh generation token."""
    return uuid.uuid4().hex[:16]


def append(
    path: Path, generation: str, entries: Mapping[int, Mapping[str, Any]]
) -> None:
    """Append ``entries`` (call index -> manifest entry) in one write.

    Raises
    ------
    OSError
        If the journal cannot be written.
    """
    lines = [] if path.exists() else [json.dumps({GENERATION: generation})]
    lines += [
        json.dumps({"call": i, **e}, separators=(",", ":")) for i, e in entries.items()
    ]
    append_lines(path, lines)


def replay(path: Path, data: dict[str, Any]) -> str | None:
    """Apply the journal of ``data``'s generation to its calls; what is wrong.

    Returns None when the journal is absent, of another generation, or applied.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return f"its journal cannot be read: {exc}"
    lines = text.split("\n")
    complete = lines[:-1]  # after the last newline: nothing, or a cut-off write
    try:
        header = json.loads(complete[0]) if complete else {}
    except ValueError:
        return "its journal's first line is malformed"
    if not isinstance(header, dict) or header.get(GENERATION) != data.get(GENERATION):
        return None  # left by an older save: the manifest already holds it all
    calls = data.get("calls")
    if not isinstance(calls, list):
        return None  # the manifest's own check reports it
    for number, line in enumerate(complete[1:], start=2):
        try:
            entry = json.loads(line)
            index = entry.pop("call")
        except (ValueError, AttributeError, KeyError, TypeError):
            return f"its journal's line {number} is malformed"
        if type(index) is not int or not 0 <= index < len(calls):
            return f"its journal's line {number} names no call of the run"
        calls[index] = entry
    return None
