"""The run manifest ``<dir>/.acme_<f>.json`` and per-call argument fingerprints.

The manifest records what a run computes and how far it got, so ``resume=True``
re-runs only unfinished calls. It is the only file acme reads back (JSON only).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._version import __version__
from ..broadcast import ArgKind, CallArgs
from ._files import atomic_path

__all__ = ["Manifest", "fingerprints", "func_id"]

PENDING, DONE, FAILED = "pending", "done", "failed"


def func_id(func: Callable[..., Any]) -> str:
    """``module:qualified name`` of ``func`` (the wrapped function of a partial)."""
    while hasattr(func, "func"):
        func = func.func
    module = getattr(func, "__module__", None) or type(func).__module__
    name = getattr(func, "__qualname__", None) or type(func).__qualname__
    return f"{module}:{name}"


def _digest(value: Any) -> bytes:
    """SHA-256 of ``value`` serialised with cloudpickle; buffers hashed in place."""
    import cloudpickle

    hasher = hashlib.sha256()
    buffers: list[Any] = []
    try:
        hasher.update(
            cloudpickle.dumps(value, protocol=5, buffer_callback=buffers.append)
        )
    except Exception:  # unserialisable values fall back to their repr
        text = f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"
        return bytes(hashlib.sha256(text.encode()).digest())
    for buffer in buffers:
        hasher.update(buffer.raw())
    return hasher.digest()


def fingerprints(call_args: CallArgs) -> list[str]:
    """SHA-256 (hex) of every call's positional and keyword values."""
    digests = [_digest(value) for value in call_args.shared]
    result = []
    for index in range(call_args.n_calls):
        hasher = hashlib.sha256()
        for kind, item in call_args.positional:
            hasher.update(_part(kind, item, index, digests))
        for key in sorted(call_args.keywords):
            kind, item = call_args.keywords[key]
            hasher.update(key.encode() + b"=" + _part(kind, item, index, digests))
        result.append(hasher.hexdigest())
    return result


def _part(kind: ArgKind, item: Any, index: int, digests: Sequence[bytes]) -> bytes:
    if kind is ArgKind.SHARED:
        return bytes(digests[item])
    element = item.squeeze()[index] if hasattr(item, "squeeze") else item[index]
    return _digest(element)


@dataclass
class Manifest:
    """In-memory manifest; :meth:`save` writes it atomically."""

    path: Path
    data: dict[str, Any]
    interval: float = 2.0
    _saved: float = field(default=0.0, repr=False)
    _dirty: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def new(
        cls, path: Path, identity: dict[str, Any], files: Sequence[str], interval: float
    ) -> Manifest:
        """A manifest with every call pending."""
        calls = [{"status": PENDING, "file": file} for file in files]
        data = {"acme_version": __version__, **identity, "calls": calls}
        return cls(path, data, interval)

    @classmethod
    def load(cls, path: Path, interval: float) -> Manifest | None:
        """The manifest at ``path``, or None if there is none or it is unreadable."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return cls(path, data, interval) if isinstance(data, dict) else None

    def difference(self, identity: dict[str, Any]) -> str | None:
        """The first item in which ``identity`` differs from this manifest, or None."""
        for key, value in identity.items():
            recorded = self.data.get(key)
            if recorded != value:
                if key == "fingerprints" and isinstance(recorded, list):
                    pairs = enumerate(zip(recorded, value, strict=False))
                    changed = [i for i, (a, b) in pairs if a != b]
                    if changed and len(recorded) == len(value):
                        return f"the arguments of call {changed[0]} differ"
                return f"{key} is {value!r}, the previous run had {recorded!r}"
        return None

    def finished(self, folder: Path) -> set[int]:
        """Calls recorded as done whose result file still exists."""
        return {
            i
            for i, call in enumerate(self.data.get("calls", []))
            if call.get("status") == DONE and (folder / call.get("file", "")).exists()
        }

    def file(self, index: int) -> str:
        """Relative result file of call ``index``."""
        return str(self.data["calls"][index]["file"])

    def mark(self, index: int, status: str, file: str | None = None) -> None:
        """Record a call's status (and its result file, relative to the folder)."""
        with self._lock:
            call = self.data["calls"][index]
            call["status"] = status
            if file is not None:
                call["file"] = file
            self._dirty = True

    def save(self, force: bool = True) -> None:
        """Write the manifest; unless ``force``, only changes, once per interval.

        Thread-safe: the progress loop and a periodic flush may both call it.
        """
        with self._lock:
            now = time.monotonic()
            if not force and (not self._dirty or now - self._saved < self.interval):
                return
            text = json.dumps(self.data, indent=1)
            with atomic_path(self.path) as temporary:
                temporary.write_text(text, encoding="utf-8")
            self._saved, self._dirty = now, False
