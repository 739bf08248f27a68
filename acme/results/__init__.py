"""Result sinks: where each call's value goes and what ``compute()`` returns.

A sink's ``store(index, value)`` runs on the worker (it must be picklable and
idempotent per call) and returns what travels back to the caller: the value, or
the absolute path of the file written. ``finalize(values)`` runs in the caller
once every call finished, ``values`` being those returns in call order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from .._settings import OutputMode, Settings
from .hdf5 import PerCallSink, SingleFileSink
from .memory import MemorySink, UserSavesSink
from .pickles import PickleSink

__all__ = ["ResultSink", "make_sink"]


class ResultSink(Protocol):
    """Stores results on the workers and assembles the return value."""

    def store(self, index: int, value: Any) -> Any:
        """Persist call ``index``'s value; return what travels back to the caller."""

    def finalize(self, values: Sequence[Any]) -> Any:
        """Return ``compute()``'s value from the stored values in call order."""

    def results_container(self) -> str | None:
        """Absolute path of the results container after ``finalize``, else None."""

    def local(self) -> ResultSink:
        """The sink to use when calls run in the calling process (debug mode)."""


def make_sink(
    settings: Settings, n_inputs: int, folder: Path | None, name: str
) -> ResultSink:
    """The sink for ``settings.output`` writing into ``folder``."""
    mode = settings.output
    if mode is OutputMode.MEMORY:
        return MemorySink(n_inputs, settings.stacking)
    if mode is OutputMode.USER_SAVES:
        return UserSavesSink()
    if folder is None:
        raise ValueError(f"results in {mode.value} mode need an output folder")
    if mode is OutputMode.PICKLE:
        return PickleSink(str(folder), name)
    if mode is OutputMode.HDF5_SINGLE:
        return SingleFileSink(str(folder), name, n_inputs, settings.stacking)
    return PerCallSink(str(folder), name, n_inputs, settings.stacking)
