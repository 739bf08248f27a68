"""Running the planned calls: on a dask client, or in-process for debugging.

Large shared arguments are scattered once (small ones travel inside the
tasks), one task per batch of calls is submitted with a unique key, progress
comes from completion events, and every call's value or failure goes into an
:class:`~acme._outcome.Outcome`. No result-format knowledge here; the helper
thread and the start events are in :mod:`acme._supervision`.

Over its 200-line guide because a settled task can mean five things (done,
failed, its worker died, its shared values were lost with their workers, the
run stalled), and each decides differently what happens to its calls.
"""

from __future__ import annotations

import functools
import sys
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._batching import MAX_BYTES, PROBE_SECONDS, TARGET_SECONDS, BatchSizer
from ._logging import get_logger
from ._outcome import Outcome
from ._sizes import measure
from ._supervision import Stall, TaskStarts, listen_for_starts, stop_listening, watch
from .broadcast import TASK_ID, CallArgs
from .cluster._jobs import dead_worker_job
from .cluster._watch import JobWatch
from .cluster.client import worker_threads
from .results._batch import (
    BatchDone,
    BatchOptions,
    Budget,
    CallOutcome,
    Packed,
    SharedSlot,
)
from .results._record import capture_limit
from .results._worker import BatchSink, run_batch

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["INLINE_BYTES", "Run", "run_in_process"]

INLINE_BYTES = 10_000  # shared values up to this size travel inside each task

logger = get_logger(__name__)
_DEAD_WORKER = (
    "the worker running this call died (it may have been killed for exceeding "
    "its memory): {}"
)


def run_in_process(
    func: Callable[..., Any],
    sink: BatchSink,
    task_id: bool,
    call_args: CallArgs,
    indices: Sequence[int],
    on_result: Callable[[CallOutcome], None],
) -> Outcome:
    """Run the calls one after another here; the first exception propagates as is."""
    outcome = Outcome()
    for index, args, kwargs in call_args.calls(indices, call_args.shared):
        call_kwargs = {**kwargs, TASK_ID: index} if task_id else kwargs
        call = CallOutcome(index, sink.store(index, func(*args, **call_kwargs)))
        outcome.add(call)
        on_result(call)
    return outcome


class Run:
    """One submission of calls to a client, in batches; cancellable as a whole.

    Tasks are submitted as earlier ones settle (auto batching), so the sizes of
    later batches follow the call times measured on the workers.
    """

    def __init__(self, client: Client, name: str, fixed: int | None) -> None:
        self.client = client
        self.name = name
        # the tasks not collected yet: a collected task's result is dropped at
        # once, so a worker leaving later cannot make dask compute it again
        self.futures: set[Future[Any]] = set()
        self.batches: dict[Any, list[int]] = {}
        self.scattered: list[Future[Any]] = []
        self.stall = Stall()
        self.sizer = BatchSizer(fixed, worker_threads(client))
        self._done = threading.Event()
        self._pending: deque[int] = deque()
        self._submitted = 0
        self._token = uuid.uuid4().hex
        self._task: Callable[..., Any] = run_batch  # until submit()
        self._probe: Callable[..., Any] = run_batch  # a first task (see _batching)
        self._shared: Sequence[Any] = ()
        self._call_args = CallArgs(0, [], [], {})  # until submit()
        self._placeholders: list[SharedSlot] = []
        self.jobs: JobWatch | None = None  # while wait() runs on SLURM
        self._generation: dict[Any, int] = {}  # task key -> its scatter
        self._scatters = 0  # how often the shared values were sent
        self._lost = False  # the last ones sent were lost
        self.attempts: Counter[int] = Counter()  # call -> times handed out
        self.starts = TaskStarts()

    def submit(
        self,
        func: Callable[..., Any],
        sink: BatchSink,
        task_id: bool,
        call_args: CallArgs,
        indices: Sequence[int],
        attempts: Mapping[int, int],
    ) -> None:
        """Scatter shared values once and submit the first batches.

        ``attempts`` counts how often earlier runs handed out each call.
        """
        self.attempts.update(attempts)  # added to the zero counts
        from ._plugin import prepare_workers

        prepare_workers(self.client)  # sys.path; the run's Ctrl-C is for us only
        self._shared = call_args.shared
        if len(indices) > 1 and _worth_scattering(call_args.shared):
            self._scatter(call_args.shared)  # sent once to every worker

        def task(seconds: float) -> Callable[..., Any]:
            budget = None if self.sizer.fixed else Budget(seconds, MAX_BYTES)
            options = BatchOptions(task_id, budget, capture_limit(), self._token)
            return functools.partial(run_batch, func, sink, options)

        self._task, self._probe = task(3 * TARGET_SECONDS), task(PROBE_SECONDS)
        self._call_args = call_args
        self._placeholders = [SharedSlot(slot) for slot in range(len(self._shared))]
        self._pending = deque(indices)
        # sent before the tasks on the same stream: the scheduler forwards every start
        listen_for_starts(self.client, self._token, self.starts)
        self._top_up()

    def _scatter(self, shared: Sequence[Any]) -> None:
        """Send the shared values to every worker (again after they were lost)."""
        self.scattered = self.client.scatter(list(shared), broadcast=True, hash=False)
        self._shared = self.scattered
        self._scatters += 1

    def _scatter_again(self) -> bool:
        """Once a worker is alive, resend the shared values; False if stalled."""
        logger.info(
            "The shared arguments were lost with the workers holding them; "
            "sending them again"
        )
        while not self.stall:
            if worker_threads(self.client) > 0:
                try:
                    self._scatter(self._call_args.shared)
                    return True
                except (OSError, TimeoutError):  # that worker is gone again
                    pass
            if self._done.wait(0.5):
                break
        return False

    def _top_up(self) -> list[Future[Any]]:
        """Submit batches until enough are in flight; the new futures."""
        sizer, new = self.sizer, []
        if self._lost and self._pending and not self._scatter_again():
            return []
        self._lost = False
        while self._pending and len(self.futures) < sizer.in_flight and not self.stall:
            probe = sizer.probing
            size = sizer.next(len(self._pending), self._call_bytes() if probe else 0)
            indices = [self._pending.popleft() for _ in range(size)]
            self.attempts.update(indices)  # a Counter: one more for each
            calls = Packed(list(self._call_args.calls(indices, self._placeholders)))
            sizer.observe_input(size, calls.nbytes)
            self._submitted += 1
            key = f"{self.name}-{self._token}-{self._submitted}"
            future = self.client.submit(
                self._probe if probe else self._task,
                self._shared,
                calls,
                key=key,
                pure=False,
            )
            self.batches[key] = indices
            self._generation[key] = self._scatters
            new.append(future)
            self.futures.add(future)
        return new

    def _call_bytes(self) -> float:
        """Bytes of the next pending call's own arguments (shared ones excluded)."""
        [call] = self._call_args.calls([self._pending[0]], self._placeholders)
        return measure(call).mb * 1e6

    def wait(
        self,
        progress: bool,
        on_result: Callable[[CallOutcome], None] | None,
        on_tick: Callable[[], None],
    ) -> Outcome:
        """Collect every call's outcome as its task settles, with a progress bar.

        ``on_result`` (if any) sees each call's outcome as soon as it arrives;
        ``on_tick`` runs about once per second in a helper thread meanwhile.
        """
        from distributed import as_completed
        from tqdm.auto import tqdm

        outcome = Outcome()
        total = sum(map(len, self.batches.values())) + len(self._pending)
        jobs = self.jobs = JobWatch.of(self.client)
        watchdog = threading.Thread(
            target=watch,
            args=(self.client, jobs, self._done, on_tick, self._follow, self._give_up),
            daemon=True,
            name="acme-watch",
        )
        watchdog.start()
        try:
            with tqdm(total=total, disable=not progress, file=sys.stderr) as bar:
                settled = as_completed(
                    self.futures, with_results=True, raise_errors=False
                )
                for future, result in settled:
                    finished = future.status == "finished"
                    done = self._collect(future, result)
                    del future  # the last reference: the cluster may free the result
                    if finished:  # its calls' records
                        outcome.measured.append(done.measured)
                    outcome.add_batch(done, self.attempts)
                    if on_result is not None:
                        for call in done.outcomes(self.attempts):
                            on_result(call)
                    bar.update(len(done.done) + len(done.failed))
                    for new in self._top_up():
                        settled.add(new)
                for index in self._pending if self.stall else ():  # never sent
                    call = CallOutcome(index, error=self._stalled())
                    outcome.add(call)
                    if on_result is not None:
                        on_result(call)
        finally:
            self._done.set()
        outcome.stalled = bool(self.stall)
        outcome.cluster_jobs = set(jobs.jobs) if jobs is not None else set()
        return outcome

    def _follow(self, threads: int) -> None:
        """Size batches for the worker threads there are now (they come and go)."""
        self.sizer.slots = max(1, threads)

    def _give_up(self, reason: str) -> None:
        """Declare the pending calls stalled for ``reason`` and cancel their tasks."""
        self.stall.declare(reason)
        pending = [f for f in list(self.futures) if not f.done()]
        self.client.cancel(pending, force=True)

    def _stalled(self) -> RuntimeError:
        return RuntimeError(f"stalled: {self.stall.reason}")

    def _collect(self, future: Future[Any], result: Any) -> BatchDone:
        """What a settled task did (``result``: its value if finished); forget it."""
        self.futures.discard(future)
        if future.status == "finished":
            done: BatchDone = result
            measured = done.measured
            self.sizer.observe(len(measured.calls), sum(measured.seconds()))
            self._pending.extendleft(reversed(done.unrun))  # handed back unstarted
            self.starts.count_restarts(
                str(future.key), measured.calls, self.attempts, done.rerun
            )
            for index in done.unrun:
                self.attempts[index] -= 1
            return done
        from distributed import KilledWorker

        error: BaseException
        job = None
        if future.status == "error":
            error = future.exception()
            if isinstance(error, KilledWorker):
                job = dead_worker_job(error, self.client.cluster)
                error = RuntimeError(_DEAD_WORKER.format(error))
        elif self.stall:
            error = self._stalled()
        elif self.scattered and self.client.status == "running":
            # its shared values were lost with their workers: run it again later
            self._lost = self._lost or self._generation[future.key] == self._scatters
            self._pending.extendleft(reversed(self.batches.pop(future.key)))
            return BatchDone()
        else:
            self.stall.declare("input data lost")
            error = RuntimeError(
                f"{future.status}: its shared input data was lost with the worker(s) "
                "holding it, or the client was shut down"
            )
        job = job or self.starts.job(str(future.key))
        self.starts.count_restarts(
            str(future.key), self.batches[future.key], self.attempts
        )
        failed = [
            CallOutcome(index, error=error, job=job, attempt=self.attempts[index])
            for index in self.batches[future.key]
        ]
        return BatchDone(failed=failed)

    def cancel(self) -> None:
        """Cancel this run's tasks and release its scattered values."""
        self._pending.clear()
        pending = [*self.futures, *self.scattered]
        if pending and self.client.status == "running":
            self.client.cancel(pending, force=True)
        self.futures, self.scattered = set(), []

    def release(self) -> None:
        """Drop references to this run's futures so the cluster frees them."""
        self.futures, self.scattered = set(), []
        stop_listening(self._token)


def _worth_scattering(shared: Sequence[Any]) -> bool:
    """Whether to send the shared values to every worker ahead of the tasks.

    Up to :data:`INLINE_BYTES` they travel inside each task instead, which is
    cheaper than the round trip of a scatter (a few tasks carry them).
    """
    from dask.sizeof import sizeof

    return bool(shared) and sizeof(list(shared)) > INLINE_BYTES
