"""One pickle per call (``write_pickle=True``), written atomically with cloudpickle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._logging import ANNOUNCE, get_logger
from ._files import atomic_path

logger = get_logger(__name__)

__all__ = ["PickleSink", "write_pickle"]


def write_pickle(target: Path, value: Any) -> None:
    """Pickle ``value`` to ``target`` atomically.

    Raises
    ------
    TypeError
        If ``value`` cannot be pickled (the message names the pickling error).
    """
    import cloudpickle

    try:
        payload = cloudpickle.dumps(value)
    except Exception as exc:  # any pickling failure is reported alike
        raise TypeError(
            f"result cannot be pickled: {type(exc).__name__}: {exc}"
        ) from exc
    with atomic_path(target) as temporary:
        temporary.write_bytes(payload)


@dataclass(frozen=True, slots=True)
class PickleSink:
    """``<dir>/<f>_<i>.pickle`` holding each call's raw return value."""

    folder: str
    name: str

    def path(self, index: int) -> Path:
        """Result file of call ``index``."""
        return Path(self.folder) / f"{self.name}_{index}.pickle"

    def store(self, index: int, value: Any) -> Any:
        """Pickle the value; return the file name."""
        target = self.path(index)
        try:
            write_pickle(target, value)
        except TypeError as exc:
            raise TypeError(f"call {index}: {exc}") from exc
        return str(target)

    def finalize(self, values: Sequence[Any]) -> Any:
        """The list of pickle files."""
        logger.log(ANNOUNCE, "SUCCESS!")
        logger.info("Results have been saved to %s", self.folder)
        return list(values)

    def results_container(self) -> str | None:
        """Pickles have no container."""
        return None

    def local(self) -> PickleSink:
        """The same sink (no lock to replace)."""
        return self
