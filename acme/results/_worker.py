"""The callable shipped to the workers: run a batch of calls, store each result.

A batch travels as one opaque blob, so dask neither walks nor re-pickles its
per-call values; the values all calls share arrive as the task's own argument
and stand in for the :class:`SharedSlot` placeholders. Each call is run and its
value handed to the sink's ``store(index, value)`` separately; failures are
reported per call, so the batch size never changes what the caller sees.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..broadcast import TASK_ID
from ._files import Raised, attempt
from ._record import Measurements, Recorder, where

__all__ = [
    "BatchDone",
    "BatchOptions",
    "Budget",
    "CallOutcome",
    "Packed",
    "SharedSlot",
    "run_batch",
]

Call = tuple[int, Sequence[Any], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class SharedSlot:
    """Stands for ``shared[slot]`` in a call's arguments until the worker runs it."""

    slot: int


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What one call produced: the stored value, or the error and its traceback."""

    index: int
    value: Any = None
    error: BaseException | None = None
    traceback: str | None = None
    job: str | None = None
    measured: Measurements | None = None  # of its batch, the call's among them
    attempt: int = 1  # how many times the call was handed to a worker


@dataclass(frozen=True, slots=True)
class Budget:
    """When a task hands back the calls it has not started: time and result bytes."""

    seconds: float
    nbytes: int

    def spent(self, nbytes: int, seconds: float) -> bool:
        """Whether values of ``nbytes`` after ``seconds`` of calls use it up."""
        return nbytes >= self.nbytes or seconds >= self.seconds


class Packed:
    """A value pickled once, large buffers out of band; opaque to dask."""

    __slots__ = ("buffers", "payload")

    def __init__(self, value: Any) -> None:
        buffers: list[pickle.PickleBuffer] = []
        try:
            self.payload = pickle.dumps(value, 5, buffer_callback=buffers.append)
        except Exception:  # lambdas, local classes: cloudpickle can do more
            import cloudpickle  # lazy: rarely needed

            buffers.clear()
            self.payload = cloudpickle.dumps(
                value, protocol=5, buffer_callback=buffers.append
            )
        self.buffers = buffers

    @property
    def nbytes(self) -> int:
        """Size of the pickled value."""
        return len(self.payload) + sum(b.raw().nbytes for b in self.buffers)

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        # out-of-band buffers need protocol 5; older protocols get copies
        buffers: list[Any] = list(self.buffers)
        if not isinstance(protocol, int) or protocol < 5:
            buffers = [bytes(buffer.raw()) for buffer in buffers]
        return _packed, (self.payload, buffers)

    def unpack(self) -> Any:
        """The value again."""
        return pickle.loads(self.payload, buffers=self.buffers)


def _packed(payload: bytes, buffers: list[Any]) -> Packed:
    packed = Packed.__new__(Packed)
    packed.payload, packed.buffers = payload, buffers
    return packed


@dataclass(slots=True)
class BatchDone:
    """A settled task: outcomes of the calls it ran, in order, and the rest.

    ``values`` packs the stored values of the calls in ``done``; ``failed``
    holds the calls that raised; ``unrun`` the calls it handed back unstarted.
    """

    done: list[int] = field(default_factory=list)
    values: Any = None
    failed: list[CallOutcome] = field(default_factory=list)
    unrun: list[int] = field(default_factory=list)
    measured: Measurements = field(default_factory=Measurements)
    rerun: bool = False  # it found results of its own earlier start (dead worker)

    def stored(self) -> list[Any]:
        """The stored values of the calls in ``done`` (unpacked once, in the caller)."""
        if isinstance(self.values, Packed):
            self.values = self.values.unpack()
        return self.values if self.values is not None else []

    def outcomes(self, attempts: Mapping[int, int]) -> list[CallOutcome]:
        """Every call's outcome, unpacked (in the caller)."""
        values, measured = self.stored(), self.measured
        ok = [
            CallOutcome(i, v, measured=measured, attempt=attempts[i])
            for i, v in zip(self.done, values, strict=True)
        ]
        failed = [
            dataclasses.replace(call, measured=measured, attempt=attempts[call.index])
            for call in self.failed
        ]
        return ok + failed


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


def _resolve(values: Any, shared: Sequence[Any]) -> Any:
    return type(values)(shared[v.slot] if type(v) is SharedSlot else v for v in values)


class BatchSink(Protocol):
    """What a batch needs of its sink, on the worker."""

    deferred_writes: bool  # store a batch's values together, after its calls ran

    def store(self, index: int, value: Any) -> Any:
        """Persist one value; what goes back to the caller."""

    def store_many(self, items: Sequence[tuple[int, Any]]) -> list[Any]:
        """Persist several; per item what goes back, or the exception it raised."""

    def recover(self, index: int) -> Any:
        """The result this ``compute()`` already stored for a call, or None."""


#: dask event topic: ``{"run": <run token>, "key": <task key>, "job": <SLURM job
#: id or None>}`` as a batch starts
STARTED_TOPIC = "acme-batch-started"


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """How the calls of every batch of a run are run.

    Attributes
    ----------
    task_id : bool
        Pass ``taskID=index`` to the function.
    budget : Budget or None
        Once the calls run took longer, or their values grew larger, the
        remaining calls are handed back unstarted; None runs them all.
    capture : int or None
        Characters of each call's output to keep; None captures nothing.
    run : str or None
        The token a starting batch announces itself with on
        :data:`STARTED_TOPIC` (so the caller sees a task dask starts again
        after its worker died, and the SLURM job it runs in); None: no event.
    """

    task_id: bool = False
    budget: Budget | None = None
    capture: int | None = None
    run: str | None = None


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
    values = _resolve(list(kwargs.values()), shared)
    call_kwargs = dict(zip(kwargs, values, strict=True))
    return attempt(func, *_resolve(args, shared), **call_kwargs)


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
