"""What a run watches while its calls run: the workers, and the tasks' starts.

:func:`watch` runs in a helper thread: it ticks about once per second,
reports the number of worker threads, and gives the pending calls up once no
worker can come back (a :class:`Stall`). :class:`TaskStarts` counts the start
events the batches send (:data:`~acme.results._batch.STARTED_TOPIC`), so that
a task dask started again after its worker died counts its calls' attempts,
and the SLURM job it last ran in is known.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from . import config
from .cluster._watch import JobWatch
from .cluster.client import worker_threads
from .results._batch import STARTED_TOPIC

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["Stall", "TaskStarts", "listen_for_starts", "stop_listening", "watch"]


class Stall:
    """Why the run's pending calls were given up, shared by the waiting threads.

    The watchdog thread declares a stall; the collecting thread reads it.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def declare(self, reason: str) -> None:
        """Give the pending calls up for ``reason`` (the first reason wins)."""
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def __bool__(self) -> bool:
        return self._event.is_set()


def watch(
    client: Client,
    jobs: JobWatch | None,
    done: threading.Event,
    on_tick: Callable[[], None],
    on_threads: Callable[[int], None],
    give_up: Callable[[str], None],
) -> None:
    """Until ``done`` is set: tick, report the worker threads, and call
    ``give_up`` once no worker can come back (then return).

    That is at once when every SLURM worker job has ended, and after
    ``acme.stall-timeout`` seconds without a live worker or a queued job.
    Runs in a helper thread of the run.
    """
    limit = float(config.get("stall-timeout"))
    idle_since: float | None = None
    while not done.wait(1.0):
        on_tick()
        try:
            threads = worker_threads(client)
            if jobs is not None:
                jobs.poll()
        except Exception:  # a closing client ends the watch
            return
        on_threads(threads)
        if threads == 0 and jobs is not None and jobs.all_ended:
            give_up("every SLURM worker job ended")
            return
        alive = threads > 0 or (jobs is not None and jobs.waiting)
        now = time.monotonic()
        idle_since = None if alive else (idle_since or now)
        if idle_since is not None and now - idle_since >= limit:
            give_up(f"no live worker for {limit:.0f} s")
            return


class TaskStarts:
    """How often each task started, and the SLURM job each last ran in."""

    def __init__(self) -> None:
        self._starts: Counter[str] = Counter()  # task key -> times it started
        self._ran_on: dict[str, str] = {}  # task key -> the SLURM job it last ran in

    def started(self, key: str, job: str | None) -> None:
        """Task ``key`` began on a worker, in SLURM job ``job`` if any."""
        self._starts[key] += 1
        if job:
            self._ran_on[key] = job

    def job(self, key: str) -> str | None:
        """The SLURM job task ``key`` last started in, if known."""
        return self._ran_on.get(key)

    def count_restarts(
        self, key: str, ran: Iterable[int], attempts: Counter[int], rerun: bool = False
    ) -> None:
        """Add to ``attempts`` the calls run again when dask restarted their task.

        A start event a dying worker could not send is missed; ``rerun`` (the task
        found results of its earlier start) still counts one restart.
        """
        again = max(self._starts.pop(key, 1) - 1, int(rerun))
        if again > 0:
            for index in ran:
                attempts[index] += again


_listening: dict[str, TaskStarts] = {}  # run token -> its starts, while it runs


def listen_for_starts(client: Client, token: str, starts: TaskStarts) -> None:
    """Count the start events of run ``token`` in ``starts``."""
    _listening[token] = starts
    client.subscribe_topic(STARTED_TOPIC, _started)


def stop_listening(token: str) -> None:
    """Stop counting the start events of run ``token``."""
    _listening.pop(token, None)


def _started(event: tuple[float, dict[str, Any]]) -> None:
    """A task began on a worker (the event the batches send): count it."""
    _, message = event
    starts = _listening.get(message["run"])
    if starts is not None:
        starts.started(message["key"], message.get("job"))
