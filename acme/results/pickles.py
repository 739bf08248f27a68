"""One pickle per call (``write_pickle=True``), written atomically with cloudpickle.

Each pickle's size and SHA-256 are recorded, so that a resumed run trusts only
the pickles that were written; that check takes it a few lines over its
100-line guide.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._logging import ANNOUNCE, get_logger
from ._files import StoredFile, StoresEach, atomic_path
from .layout import OutputLayout
from .memory import Finished

logger = get_logger(__name__)

__all__ = ["PickleSink", "pickle_holds", "pickled_file", "write_pickle"]


def write_pickle(target: Path, value: Any) -> StoredFile:
    """Pickle ``value`` to ``target`` atomically; its size and digest come back.

    Raises
    ------
    TypeError
        If ``value`` cannot be pickled (the message names the pickling error).
    """
    import cloudpickle  # lazy: only pickling runs need it

    try:
        payload = cloudpickle.dumps(value)
    except Exception as exc:  # any pickling failure is reported alike
        raise TypeError(
            f"result cannot be pickled: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        with atomic_path(target) as temporary:
            temporary.write_bytes(payload)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {target}: {exc.strerror}") from exc
    return _record(target, payload)


def _record(path: Path, payload: bytes) -> StoredFile:
    """A pickle file as written: its size and SHA-256."""
    digest = hashlib.sha256(payload).hexdigest()
    return StoredFile(str(path), size=len(payload), sha256=digest)


def pickled_file(path: Path) -> StoredFile | None:
    """The existing pickle at ``path``, with its size and digest; else None."""
    try:
        return _record(path, path.read_bytes())
    except FileNotFoundError:
        return None


def pickle_holds(path: Path, entry: Mapping[str, Any]) -> bool:
    """Whether ``path`` has the size and digest recorded when it was written."""
    try:
        if path.stat().st_size != entry.get("size"):
            return False
        return hashlib.sha256(path.read_bytes()).hexdigest() == entry.get("sha256")
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class PickleSink(StoresEach):
    """``<dir>/<f>_<i>.pickle`` holding each call's raw return value."""

    layout: OutputLayout

    def prepare(self) -> list[Path]:
        """Create the output folder if it is missing."""
        if self.layout.folder.is_dir():
            return []
        self.layout.folder.mkdir(parents=True)
        return [self.layout.folder]

    def store(self, index: int, value: Any) -> StoredFile:
        """Pickle the value; return the file written."""
        try:
            return write_pickle(self.layout.result_file(index), value)
        except TypeError as exc:
            raise TypeError(f"call {index}: {exc}") from exc

    def discard(self, indices: Iterable[int], recorded: Mapping[int, Path]) -> None:
        """Remove the pickles of calls about to run again."""
        for index in indices:
            self.layout.result_file(index).unlink(missing_ok=True)

    def holds(self, index: int, entry: Mapping[str, Any]) -> bool:
        """Whether the recorded pickle is the one written."""
        return pickle_holds(self.layout.folder / entry["file"], entry)

    def recover(self, index: int) -> StoredFile | None:
        """The call's pickle if it exists (written atomically: complete)."""
        return pickled_file(self.layout.result_file(index))

    def finalize(self, stored: Sequence[StoredFile]) -> Finished:
        """The list of pickle files."""
        logger.log(ANNOUNCE, "SUCCESS!")
        logger.info("Results have been saved to %s", self.layout.folder)
        files = [file.path for file in stored]
        return Finished(files, files, None)
