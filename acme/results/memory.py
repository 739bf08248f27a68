"""Results gathered into the caller's memory, optionally stacked (``result_shape``).

Also the sink of a function that saves its own results (``taskID``, no
``write_worker_results``), and the checks of a call's slot in a stacked result
that the HDF5 sinks share: over the 80-line guide of the memory sink alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._logging import get_logger
from .._settings import Stacking
from ._files import StoresEach

__all__ = ["Finished", "MemorySink", "UserSavesSink", "check_slot", "split_result"]

logger = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Finished:
    """What a sink made of a finished run: ``compute()``'s value and the files.

    ``files`` lists each call's result file (None in memory), ``container`` the
    results container (None where there is none).
    """

    value: Any
    files: list[str] | None = None
    container: str | None = None


class _NoFiles(StoresEach):
    """The file handling of sinks that write nothing."""

    __slots__ = ()

    def prepare(self) -> list[Path]:
        """Nothing to create."""
        return []

    def discard(self, indices: Iterable[int], recorded: Mapping[int, Path]) -> None:
        """Nothing stored to remove."""

    def holds(self, index: int, entry: Mapping[str, Any]) -> bool:
        """Nothing is ever reused."""
        return False

    def recover(self, index: int) -> None:
        """Values lost with a worker are lost: the call runs again."""
        return None


def split_result(value: Any) -> tuple[Any, list[Any]]:
    """Element 0 of a list/tuple return and the extra values; else ``(value, [])``."""
    if isinstance(value, list | tuple):
        if not value:
            raise ValueError("cannot stack an empty list/tuple return value")
        return value[0], list(value[1:])
    return value, []


def check_slot(index: int, value: Any, slot: tuple[int, ...]) -> None:
    """Raise ValueError unless ``value`` can be assigned to a slot of shape ``slot``."""
    shape = np.shape(value)
    try:
        np.broadcast_to(np.asarray(value), slot)
    except ValueError as exc:
        raise ValueError(
            f"call {index}: result of shape {shape} cannot be stored in the "
            f"`result_shape` slot of shape {slot}"
        ) from exc


@dataclass(frozen=True, slots=True)
class MemorySink(_NoFiles):
    """Values travel back to the caller; ``finalize`` orders (and stacks) them."""

    n_calls: int
    stacking: Stacking | None

    def _shape(self, stacking: Stacking) -> tuple[int, ...]:
        return tuple(int(s) for s in stacking.normalised(self.n_calls))

    def store(self, index: int, value: Any) -> Any:
        """Checked on the worker: a stacked value must fit its slot."""
        if self.stacking is not None:
            first, _ = split_result(value)
            check_slot(index, first, self.stacking.slot)
        return value

    def finalize(self, values: Sequence[Any]) -> Finished:
        """The return value of ``compute()`` from the values in call order."""
        logger.info("Finished parallel computation")
        if self.stacking is None:
            return Finished(list(values))
        stacked = np.empty(self._shape(self.stacking), dtype=self.stacking.dtype)
        along = np.moveaxis(stacked, self.stacking.axis, 0)
        extras: list[Any] = []
        for index, value in enumerate(values):
            first, more = split_result(value)
            along[index] = first
            extras.extend(more)
        return Finished([stacked, *extras] if extras else stacked)


class UserSavesSink(_NoFiles):
    """``func`` saves its own results (it has ``taskID``); nothing comes back."""

    def store(self, index: int, value: Any) -> Any:
        """Discard the return value."""
        return None

    def finalize(self, values: Sequence[Any]) -> Finished:
        """``compute()`` returns None in this mode."""
        logger.info("Finished parallel computation")
        return Finished(None)
