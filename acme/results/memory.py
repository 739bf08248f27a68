"""Results gathered into the caller's memory, optionally stacked (``result_shape``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._logging import get_logger
from .._settings import Stacking

__all__ = ["MemorySink", "UserSavesSink", "check_slot", "split_result"]

logger = get_logger(__name__)


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
class MemorySink:
    """Values travel back to the caller; ``finalize`` orders (and stacks) them."""

    n_inputs: int
    stacking: Stacking | None

    def _shape(self, stacking: Stacking) -> tuple[int, ...]:
        return tuple(int(s) for s in stacking.normalised(self.n_inputs))

    def store(self, index: int, value: Any) -> Any:
        """Checked on the worker: a stacked value must fit its slot."""
        if self.stacking is not None:
            first, _ = split_result(value)
            check_slot(index, first, self.stacking.slot)
        return value

    def finalize(self, values: Sequence[Any]) -> Any:
        """The return value of ``compute()`` from the values in call order."""
        logger.info("Finished parallel computation")
        if self.stacking is None:
            return list(values)
        stacked = np.empty(self._shape(self.stacking), dtype=self.stacking.dtype)
        along = np.moveaxis(stacked, self.stacking.axis, 0)
        extras: list[Any] = []
        for index, value in enumerate(values):
            first, more = split_result(value)
            along[index] = first
            extras.extend(more)
        return [stacked, *extras] if extras else stacked

    def results_container(self) -> str | None:
        """No container in memory."""
        return None

    def local(self) -> MemorySink:
        """The same sink."""
        return self


class UserSavesSink:
    """``func`` saves its own results (it has ``taskID``); nothing comes back."""

    def store(self, index: int, value: Any) -> Any:
        """Discard the return value."""
        return None

    def finalize(self, values: Sequence[Any]) -> Any:
        """``compute()`` returns None in this mode."""
        logger.info("Finished parallel computation")
        return None

    def results_container(self) -> str | None:
        """No container."""
        return None

    def local(self) -> UserSavesSink:
        """The same sink."""
        return self
