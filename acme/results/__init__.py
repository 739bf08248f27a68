"""Result sinks: where each call's value goes and what ``compute()`` returns.

A sink's ``store(index, value)`` runs on the worker (it must be picklable and
idempotent per call) and returns what travels back to the caller: the value, or
the :class:`~acme.results._files.StoredFile` written. ``prepare()`` creates what
the mode needs (and is missing), ``discard(indices, recorded)`` removes the
results of calls about to run again, ``holds(index, entry)`` checks a recorded
result of a resumed run, ``recover(index)`` finds a result written before a
worker died, and ``finalize(values)`` builds the return value once every call
finished.

:class:`CallRecord` and :func:`load_records` are public: what each call did,
and reading it back from an output folder. The protocol's documentation of
each method takes this module over its 60-line guide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from .._settings import OutputMode, Settings
from ._record import CallRecord
from .hdf5 import PerCallSink, SingleFileSink
from .layout import OutputLayout
from .memory import Finished, MemorySink, UserSavesSink
from .pickles import PickleSink
from .records import load_records

__all__ = ["CallRecord", "Finished", "ResultSink", "load_records", "make_sink"]


class ResultSink(Protocol):
    """Stores results on the workers and assembles the return value."""

    deferred_writes: bool  # a batch's values are stored together, after its calls

    def store_many(self, items: Sequence[tuple[int, Any]]) -> list[Any]:
        """Persist several values; per item what ``store`` returns, or ``Raised``."""

    def prepare(self) -> list[Path]:
        """Create what is missing of the mode's folders and files; return those."""

    def store(self, index: int, value: Any) -> Any:
        """Persist call ``index``'s value; return what travels back to the caller."""

    def discard(self, indices: Iterable[int], recorded: Mapping[int, Path]) -> None:
        """Remove what earlier runs stored for these calls (``recorded``: the files
        the manifest has for those of them that ran before)."""

    def holds(self, index: int, entry: Mapping[str, Any]) -> bool:
        """Whether call ``index``'s recorded result is present and complete."""

    def recover(self, index: int) -> Any:
        """On the worker: the file this ``compute()`` already wrote for the call,
        complete, or None (a task run again after its worker died skips it)."""

    def finalize(self, values: Sequence[Any]) -> Finished:
        """``compute()``'s value and the result files, from the stored values."""


def make_sink(
    settings: Settings, n_calls: int, layout: OutputLayout | None
) -> ResultSink:
    """The sink for ``settings.output``, writing into ``layout``'s folder."""
    mode = settings.output
    if mode is OutputMode.MEMORY:
        return MemorySink(n_calls, settings.stacking)
    if mode is OutputMode.USER_SAVES:
        return UserSavesSink()
    if layout is None:
        raise ValueError(f"results in {mode.value} mode need an output folder")
    if mode is OutputMode.PICKLE:
        return PickleSink(layout)
    if mode is OutputMode.HDF5_SINGLE:
        return SingleFileSink(layout, n_calls, settings.stacking)
    return PerCallSink(layout, n_calls, settings.stacking)
