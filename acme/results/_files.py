"""Atomic file writes, and what a worker reports about a file it wrote."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["StoredFile", "atomic_path"]


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A result file as written: its path and what makes it complete.

    ``datasets`` lists the HDF5 objects the call wrote (in its file, or in its
    ``comp_<i>`` group of the single file); pickles carry ``size`` and ``sha256``.
    """

    path: str
    datasets: tuple[str, ...] = ()
    size: int | None = None
    sha256: str | None = None


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
