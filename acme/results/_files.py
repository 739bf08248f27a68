"""Atomic file writes, and what a worker reports about a file it wrote."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["StoredFile", "atomic_path", "store_each"]


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
        valid = isinstance(shape, list) and all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
        )
        return cls(
            str(folder / entry["file"]),
            tuple(entry.get("datasets", ())),
            entry.get("size"),
            entry.get("sha256"),
            tuple(shape) if valid and isinstance(shape, list) else None,
        )

    def entry(self, folder: Path, status: str) -> dict[str, Any]:
        """The manifest entry of this file, its path relative to ``folder``."""
        entry: dict[str, Any] = {
            "status": status,
            "file": str(Path(self.path).relative_to(folder)),
        }
        if self.datasets:
            entry["datasets"] = list(self.datasets)
        if self.sha256 is not None:
            entry.update(size=self.size, sha256=self.sha256)
        if self.shape is not None:
            entry["shape"] = list(self.shape)
        return entry


def store_each(
    store: Callable[[int, Any], Any], items: Sequence[tuple[int, Any]]
) -> list[Any]:
    """``store`` every item; per item what it returned, or the exception raised."""
    results: list[Any] = []
    for index, value in items:
        try:
            results.append(store(index, value))
        except Exception as exc:
            results.append(exc)
    return results


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
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
