"""Atomic file writes, and what a worker reports about a file it wrote."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Raised",
    "StoredFile",
    "StoresEach",
    "append_lines",
    "atomic_path",
    "attempt",
    "relative",
]


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A result file as written: its path and what makes it complete.

    ``datasets`` lists the HDF5 objects the call wrote (in its file, or in its
    ``comp_<i>`` group of the single file); pickles carry ``size`` and ``sha256``;
    ``shape`` is that of ``result_0`` in a per-call file of stacked results, so
    the container is built without opening the file again.
    """

    path: str
    datasets: tuple[str, ...] = ()
    size: int | None = None
    sha256: str | None = None
    shape: tuple[int, ...] | None = None

    @classmethod
    def from_entry(cls, folder: Path, entry: Mapping[str, Any]) -> StoredFile:
        """The file a manifest entry records (a malformed shape is left out)."""
        shape = entry.get("shape")
        if not isinstance(shape, list) or not all(
            type(n) is int and n >= 0 for n in shape
        ):
            shape = None
        return cls(
            str(folder / entry["file"]),
            tuple(entry.get("datasets", ())),
            entry.get("size"),
            entry.get("sha256"),
            None if shape is None else tuple(shape),
        )

    def entry(self, folder: Path, status: str) -> dict[str, Any]:
        """The manifest entry of this file, its path relative to ``folder``."""
        entry: dict[str, Any] = {
            "status": status,
            "file": relative(self.path, folder),
        }
        if self.datasets:
            entry["datasets"] = list(self.datasets)
        if self.sha256 is not None:
            entry.update(size=self.size, sha256=self.sha256)
        if self.shape is not None:
            entry["shape"] = list(self.shape)
        return entry


def relative(path: str, folder: Path) -> str:
    """``path`` relative to ``folder``, which must hold it (else ValueError).

    A string prefix for paths spelled as ``str(Path)`` spells them (the ones acme
    builds), as fast as it gets; anything else goes through
    :meth:`pathlib.PurePath.relative_to`.
    """
    prefix = f"{folder}{os.sep}"
    if path.startswith(prefix):
        return path[len(prefix) :]
    return str(Path(path).relative_to(folder))


def append_lines(path: Path, lines: Sequence[str]) -> None:
    """Append ``lines`` to ``path`` (created if missing) in one write.

    Raises
    ------
    OSError
        If the file cannot be written.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, ("\n".join(lines) + "\n").encode())
    finally:
        os.close(fd)


class Raised:
    """An exception raised for a call, kept apart from values that are exceptions."""

    __slots__ = ("exc",)

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


def attempt(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)``, or the exception it raised as :class:`Raised`."""
    try:
        return function(*args, **kwargs)
    except Exception as exc:
        return Raised(exc)


class StoresEach:
    """Sinks that store every value as soon as its call returns."""

    __slots__ = ()
    deferred_writes = False

    def store(self, index: int, value: Any) -> Any:
        """Persist call ``index``'s value; what travels back to the caller."""
        raise NotImplementedError

    def store_many(self, items: Sequence[tuple[int, Any]]) -> list[Any]:
        """Store each item; per item what ``store`` returned, or :class:`Raised`."""
        return [attempt(self.store, index, value) for index, value in items]


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a hidden temporary path beside ``target``; rename it into place on success.

    The temporary file is deleted when the body raises, so a file under the final
    name is always complete.
    """
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException:  # renamed on success: nothing left to delete then
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
