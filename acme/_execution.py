"""Running the planned calls: on a dask client, or in-process for debugging.

Shared arguments are scattered once, one task per batch of calls is submitted
with a unique key, progress comes from completion events, and failures become a
:class:`Outcome` the caller turns into a report. No result-format knowledge here.
"""

from __future__ import annotations

import functools
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._logging import get_logger
from .broadcast import SharedArgs
from .results._worker import Call, CallOutcome, run_batch

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["Outcome", "Run", "run_in_process"]

logger = get_logger(__name__)
_DEAD_WORKER = (
    "the worker running this call died (it may have been killed for exceeding "
    "its memory): {}"
)


@dataclass(slots=True)
class Outcome:
    """Per-call results and failures of one ``compute()``."""

    values: dict[int, Any] = field(default_factory=dict)
    errors: dict[int, BaseException] = field(default_factory=dict)
    tracebacks: dict[int, str] = field(default_factory=dict)

    def add(self, outcome: CallOutcome) -> None:
        """Record one call."""
        if outcome.error is None:
            self.values[outcome.index] = outcome.value
        else:
            self.errors[outcome.index] = outcome.error
            if outcome.traceback:
                self.tracebacks[outcome.index] = outcome.traceback


def _calls(
    shared: SharedArgs, indices: Sequence[int], resolved: Sequence[Any]
) -> Iterator[Call]:
    for index in indices:
        args, kwargs = shared.for_call(index, resolved)
        yield index, args, kwargs


def run_in_process(
    func: Callable[..., Any],
    store: Callable[[int, Any], Any],
    task_id: bool,
    shared: SharedArgs,
    indices: Sequence[int],
    on_result: Callable[[CallOutcome], None],
) -> Outcome:
    """Run the calls one after another here; the first exception propagates as is."""
    outcome = Outcome()
    for index, args, kwargs in _calls(shared, indices, shared.values):
        call_kwargs = {**kwargs, "taskID": index} if task_id else kwargs
        call = CallOutcome(index, store(index, func(*args, **call_kwargs)))
        outcome.add(call)
        on_result(call)
    return outcome


class Run:
    """One submission of calls to a client; cancellable as a whole."""

    def __init__(self, client: Client, name: str) -> None:
        self.client = client
        self.name = name
        self.futures: list[Future[Any]] = []
        self.batches: dict[Any, list[int]] = {}
        self.scattered: list[Future[Any]] = []

    def submit(
        self,
        func: Callable[..., Any],
        store: Callable[[int, Any], Any],
        task_id: bool,
        shared: SharedArgs,
        indices: Sequence[int],
    ) -> None:
        """Scatter shared values once and submit one task per call."""
        from ._plugin import PLUGIN_NAME, SysPathPlugin

        self.client.register_plugin(SysPathPlugin(sys.path), name=PLUGIN_NAME)
        if shared.values:
            self.scattered = self.client.scatter(
                shared.values, broadcast=True, hash=False
            )
        task = functools.partial(run_batch, func, store, task_id)
        token = uuid.uuid4().hex
        for call in _calls(shared, indices, self.scattered):
            key = f"{self.name}-{token}-{call[0]}"
            self.futures.append(self.client.submit(task, [call], key=key, pure=False))
            self.batches[key] = [call[0]]

    def wait(self, progress: bool, on_result: Callable[[CallOutcome], None]) -> Outcome:
        """Collect every task's outcome as it settles, with a progress bar.

        ``on_result`` sees each call's outcome as soon as it arrives.
        """
        from distributed import as_completed
        from tqdm.auto import tqdm

        outcome = Outcome()
        total = len(self.batches)
        with tqdm(total=total, disable=not progress, file=sys.stderr) as bar:
            for future in as_completed(self.futures):
                for call in self._collect(future):
                    outcome.add(call)
                    on_result(call)
                bar.update(len(self.batches[future.key]))
        return outcome

    def _collect(self, future: Future[Any]) -> list[CallOutcome]:
        if future.status == "finished":
            calls: list[CallOutcome] = future.result()
            return calls
        from distributed import KilledWorker

        error: BaseException
        if future.status == "error":
            error = future.exception()
            if isinstance(error, KilledWorker):
                error = RuntimeError(_DEAD_WORKER.format(error))
        else:
            error = RuntimeError(f"task {future.key} was {future.status}")
        return [CallOutcome(index, error=error) for index in self.batches[future.key]]

    def cancel(self) -> None:
        """Cancel this run's tasks and release its scattered values."""
        pending = self.futures + self.scattered
        if pending and self.client.status == "running":
            self.client.cancel(pending, force=True)
        self.futures, self.scattered = [], []

    def release(self) -> None:
        """Drop references to this run's futures so the cluster frees them."""
        self.futures, self.scattered = [], []
