"""The callable shipped to the workers: run a batch of calls, store each result.

A batch travels as one opaque blob, so dask neither walks nor re-pickles its
per-call values; the values all calls share arrive as the task's own argument
and stand in for the :class:`SharedSlot` placeholders. Each call is run and its
value handed to the sink's ``store(index, value)`` separately; failures are
reported per call, so the batch size never changes what the caller sees.
What travels to and from the workers is in :mod:`acme.results._batch`.

Over the 80-line guide of a worker that only calls and stores: a batch also
hands back its unstarted calls when its budget is spent, skips the calls a
dead worker's earlier start already stored, defers single-file writes to one
hold of the lock, and keeps a value that cannot travel from failing the rest.
"""

from __future__ import annotations

import os
import pickle
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..broadcast import TASK_ID
from ._batch import (
    STARTED_TOPIC,
    BatchDone,
    BatchOptions,
    CallOutcome,
    Packed,
    SharedSlot,
)
from ._files import Raised, attempt
from ._record import Recorder, where

__all__ = ["BatchSink", "run_batch"]

Call = tuple[int, Sequence[Any], dict[str, Any]]


def _portable(exc: Exception) -> BaseException:
    """``exc`` itself if it survives pickling, else a RuntimeError describing it."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__qualname__}: {exc}")
    return exc


def _failure(index: int, exc: Exception) -> CallOutcome:
    return CallOutcome(
        index,
        error=_portable(exc),
        traceback="".join(traceback.format_exception(exc)),
        job=os.environ.get("SLURM_JOB_ID"),
    )


class BatchSink(Protocol):
    """What a batch needs of its sink, on the worker."""

    deferred_writes: bool  # store a batch's values together, after its calls ran

    def store(self, index: int, value: Any) -> Any:
        """Persist one value; what goes back to the caller."""

    def store_many(self, items: Sequence[tuple[int, Any]]) -> list[Any]:
        """Persist several; per item what goes back, or the exception it raised."""

    def recover(self, index: int) -> Any:
        """The result this ``compute()`` already stored for a call, or None."""


def _announce_start(run: str | None) -> None:
    """Tell the caller this task of ``run`` started, and in which SLURM job."""
    if run is None:
        return
    try:
        from distributed import get_worker

        worker = get_worker()
        key = str(worker.get_current_task())
    except ValueError:  # not on a dask worker
        return
    job = os.environ.get("SLURM_JOB_ID")
    worker.log_event(STARTED_TOPIC, {"run": run, "key": key, "job": job})


def run_batch(
    func: Callable[..., Any],
    sink: BatchSink,
    options: BatchOptions,
    shared: Sequence[Any],
    calls: Packed,
) -> BatchDone:
    """Run the calls of a batch; never raises for an exception of ``func``.

    Parameters
    ----------
    func : callable
        The user function.
    sink : BatchSink
        Stores each value as its call returns, or all of them after the calls
        (``deferred_writes``: one lock for a batch of single-file writes). Calls
        run in order, so only when the batch's first call has a recovered result
        is this task a re-run after its worker died; then every call already
        stored is reported, not run again.
    options : BatchOptions
        ``taskID``, budget, output capture and the start announcement.
    shared : sequence
        The values every call shares, for the placeholders.
    calls : Packed
        The batch's ``(index, args, kwargs)`` triples.
    """
    _announce_start(options.run)
    budget, recorder = options.budget, Recorder(options.capture)
    batch: list[Call] = calls.unpack()
    done, start = BatchDone(), time.perf_counter()
    results: list[tuple[int, Any]] = []  # index, and the value or Raised
    rerun = done.rerun = bool(batch) and sink.recover(batch[0][0]) is not None
    nbytes = 0
    with recorder:
        for position, call in enumerate(batch):
            value = _value(func, sink, options, shared, recorder, call, rerun)
            results.append((call[0], value))
            nbytes += _nbytes(value)
            if budget is not None and budget.spent(nbytes, time.perf_counter() - start):
                done.unrun = [call[0] for call in batch[position + 1 :]]
                break
    if sink.deferred_writes:
        results = _store_deferred(sink, results)
    done.measured = recorder.measured
    if done.measured.calls:
        done.measured.where = where()
    _settle(done, results)
    return done


def _value(
    func: Callable[..., Any],
    sink: BatchSink,
    options: BatchOptions,
    shared: Sequence[Any],
    recorder: Recorder,
    call: Call,
    rerun: bool,
) -> Any:
    """One call's value: recovered (a re-run), or computed, recorded and stored."""
    index, args, kwargs = call
    found = sink.recover(index) if rerun else None
    if found is not None:
        return found
    call_kwargs = {**kwargs, TASK_ID: index} if options.task_id else kwargs
    recorder.start()
    try:
        value = _call(func, shared, args, call_kwargs)
    finally:
        recorder.finish(index)
    if sink.deferred_writes or isinstance(value, Raised):
        return value
    return attempt(sink.store, index, value)


def _call(
    func: Callable[..., Any],
    shared: Sequence[Any],
    args: Sequence[Any],
    kwargs: dict[str, Any],
) -> Any:
    """``func``'s value for one call, or :class:`Raised`."""
    slot = SharedSlot  # the placeholders stand for shared[slot]
    positional = [shared[v.slot] if type(v) is slot else v for v in args]
    keywords = {k: shared[v.slot] if type(v) is slot else v for k, v in kwargs.items()}
    return attempt(func, *positional, **keywords)


def _store_deferred(
    sink: BatchSink, results: list[tuple[int, Any]]
) -> list[tuple[int, Any]]:
    """Store the batch's values in one go (deferring sinks recover nothing)."""
    new = [(i, v) for i, v in results if not isinstance(v, Raised)]
    stored = dict(zip([i for i, _ in new], sink.store_many(new), strict=True))
    return [(i, stored.get(i, v)) for i, v in results]


def _settle(done: BatchDone, results: list[tuple[int, Any]]) -> None:
    """Sort the results into done and failed calls and pack the values."""
    stored = []
    for index, value in results:
        if isinstance(value, Raised):
            done.failed.append(_failure(index, value.exc))
        else:
            done.done.append(index)
            stored.append(value)
    _pack_values(done, stored)


def _nbytes(value: Any) -> int:
    """Bytes of a value's arrays (elements of a list or tuple too), roughly."""
    if isinstance(value, list | tuple):
        return sum(getattr(item, "nbytes", 0) for item in value)
    return int(getattr(value, "nbytes", 0))


def _pack_values(done: BatchDone, stored: list[Any]) -> None:
    """Pack the values in one go; a value that cannot travel fails its call only."""
    try:
        done.values = Packed(stored)
        return
    except Exception:
        pass
    kept: list[Any] = []
    for index, value in zip(list(done.done), stored, strict=True):
        try:
            Packed(value)
        except Exception as exc:
            done.done.remove(index)
            done.failed.append(_failure(index, exc))
        else:
            kept.append(value)
    done.values = Packed(kept)
