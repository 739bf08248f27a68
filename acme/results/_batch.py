"""What travels between the caller and a batch on a worker, and back.

Out: :class:`BatchOptions` (the same for every batch of a run), the calls as one
:class:`Packed` blob, and :class:`SharedSlot` placeholders for the values all
calls share. Back: a :class:`BatchDone` with the stored values, the failed
calls as :class:`CallOutcome`, the calls handed back unstarted (see
:class:`Budget`) and what was measured. Each batch announces its start on
:data:`STARTED_TOPIC`.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._record import Measurements

__all__ = [
    "STARTED_TOPIC",
    "BatchDone",
    "BatchOptions",
    "Budget",
    "CallOutcome",
    "Packed",
    "SharedSlot",
]


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
