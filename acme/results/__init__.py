"""Result sinks: where each call's value goes and what ``compute()`` returns.

A sink's ``store(index, value)`` runs on the worker (it must be picklable and
idempotent per call); ``finalize(values)`` runs in the caller once every call
finished, ``values`` being what ``store`` returned, in call order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .._settings import OutputMode, Settings
from .memory import MemorySink

__all__ = ["ResultSink", "UserSavesSink", "make_sink"]


class ResultSink(Protocol):
    """Stores results on the workers and assembles the return value."""

    def store(self, index: int, value: Any) -> Any:
        """Persist call ``index``'s value; return what travels back to the caller."""

    def finalize(self, values: Sequence[Any]) -> Any:
        """Return ``compute()``'s value from the stored values in call order."""


class UserSavesSink:
    """``func`` saves its own results (it has ``taskID``); nothing comes back."""

    def store(self, index: int, value: Any) -> Any:
        """Discard the return value."""
        return None

    def finalize(self, values: Sequence[Any]) -> Any:
        """``compute()`` returns None in this mode."""
        return None


def make_sink(settings: Settings, n_inputs: int) -> ResultSink:
    """The sink for ``settings.output``."""
    if settings.output is OutputMode.MEMORY:
        return MemorySink(n_inputs, settings.stacking)
    if settings.output is OutputMode.USER_SAVES:
        return UserSavesSink()
    raise NotImplementedError(
        f"results on disk ({settings.output.value} mode) are not implemented yet; "
        "use write_worker_results=False"
    )
