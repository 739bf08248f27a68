"""``ACMEdaemon``: runs the planned calls, reports failures, cleans up.

``ParallelMap`` assembles a :class:`~acme._run.RunSetup` once; the daemon's
``compute()`` reads the editable per-call tables again, lets the run record
say which calls run, submits them through ``_execution`` and lets the sink
build the result. ``RunConfig`` (``pmap.config``) lives in :mod:`acme._run`
and is importable from here as in ACME.

Over its 250-line guide because every ``compute()`` also keeps the records
and the manifest up to date as calls finish, under the run lock, and reports
failures and Ctrl-C in the words ACME users know.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from . import _logging, config
from ._batching import batch_size
from ._checks import as_bool, must_be
from ._execution import Run, run_in_process
from ._interrupt import InterruptGuard, interrupts_held
from ._outcome import Outcome, failure
from ._run import RunConfig, RunSetup
from ._settings import StopClient
from .broadcast import CallArgs, call_arguments
from .cluster.client import cluster_cleanup, live_workers, shut_down
from .errors import AcmeTypeError, NoWorkersError, OutputError
from .results import ResultSink
from .results._batch import CallOutcome
from .results._files import StoredFile
from .results._record import CallRecord
from .results.manifest import DONE, FAILED, Start, holding
from .results.records import Tally, call_entry, call_records, prior_attempts, summary

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["ACMEdaemon", "RunConfig", "RunSetup"]

logger = _logging.get_logger(__name__)
LOCK_PATIENCE = 2.0  # seconds compute() waits for another holder of the run lock


class ACMEdaemon:
    """Executes a :class:`~acme.ParallelMap`; see its documentation.

    Parameters
    ----------
    pmap : ParallelMap
        The set-up map whose plan, settings and client the daemon uses.

    Examples
    --------
    >>> pmap = ParallelMap(f, [1, 2], write_worker_results=False)  # doctest: +SKIP
    >>> with pmap as daemon:  # doctest: +SKIP
    ...     daemon.compute()
    """

    def __init__(self, pmap: Any) -> None:
        setup = getattr(pmap, "_setup", None)
        if not isinstance(setup, RunSetup):
            raise AcmeTypeError(
                must_be("`pmap`", "a `ParallelMap` instance", pmap, show_type=True)
            )
        self._setup = setup
        self.config = setup.config
        self._unsaved = False  # the manifest could not be written this compute()
        self._tally = Tally()  # what the last compute() learnt of its calls

    @property
    def client(self) -> Client | None:
        """The distributed client in use (``config.client``)."""
        return self.config.client

    @property
    def results_container(self) -> str | None:
        """Absolute path of the results container after ``compute()``, else None."""
        return self.config.results_container

    @property
    def records(self) -> list[CallRecord]:
        """What each call of the last ``compute()`` did (built when asked for)."""
        return call_records(self._tally)

    def compute(self, debug: bool = False) -> Any:
        """Run every call; see :meth:`acme.ParallelMap.compute`."""
        client = self.config.client
        if client is None:
            return None
        as_bool(debug, "`debug` has to be `True` or `False`, not {type}")
        fixed = batch_size(config.get("batch-size"))
        call_args = call_arguments(
            self.config.argv, self.config.kwargv, self.config.n_calls
        )
        _logging.use_file(self._setup.log_file, self._setup.log_level)
        try:
            with self._holding_folder():
                return self._compute(client, call_args, debug, fixed)
        except KeyboardInterrupt:  # also while fingerprinting or finalising
            self._shut_down_owned()
            raise

    def _compute(
        self, client: Client, call_args: CallArgs, debug: bool, fixed: int | None
    ) -> Any:
        start = self._start(call_args)
        todo = start.run
        self._unsaved = False
        try:
            if debug:
                logger.warning("Running in debug mode")
                outcome = run_in_process(*self._call, call_args, todo, self._note)
            else:
                attempts = prior_attempts(start.records, todo)
                outcome = self._run(client, call_args, todo, fixed, attempts)
            self._tally = self._tallied(outcome, start)
            if logger.isEnabledFor(logging.INFO):  # the summary walks every call
                logger.info("%s", summary(self._tally))
            outcome.values.update(start.reused)
            return self._finish(outcome, len(todo))
        finally:
            self._save_record()
            _logging.flush()

    @property
    def _call(self) -> tuple[Callable[..., Any], ResultSink, bool]:
        setup = self._setup
        return self.config.func, setup.sink, setup.spec.has_task_id

    @contextlib.contextmanager
    def _holding_folder(self) -> Iterator[None]:
        """Hold the output folder's run lock while ``compute()`` runs."""
        record = self._setup.record
        if record is None:
            yield
            return
        # a constructor elsewhere holds the lock only to check the folder (and
        # then refuses): wait that out instead of refusing this run for it
        with holding(record.layout, patience=LOCK_PATIENCE):
            yield

    def _start(self, call_args: CallArgs) -> Start:
        """The calls to run and the reused results; old results of the others go."""
        record, sink = self._setup.record, self._setup.sink
        if record is None:
            return Start(list(range(call_args.n_calls)), {}, {}, {})
        try:
            sink.prepare()  # recreate what went missing since (payload, container)
        except OSError as exc:
            folder = record.layout.folder
            raise OutputError(
                f"cannot prepare the output folder {folder}: {exc}", path=str(folder)
            ) from exc
        start = record.todo(call_args, sink)
        sink.discard(start.run, start.recorded)
        return start

    def _tallied(self, outcome: Outcome, start: Start) -> Tally:
        record = self._setup.record
        return Tally(
            self.config.n_calls,
            outcome.measured,
            outcome.attempts,
            set(outcome.values),
            set(outcome.errors),
            {index: start.records.get(index, {}) for index in start.reused},
            None if record is None else record.layout.output,
        )

    def _note(self, call: CallOutcome) -> None:
        """Record a settled call and what it did in the manifest (throttled)."""
        record = self._setup.record
        if record is None:
            return
        index = call.index
        entry, output = call_entry(call.measured, index, call.attempt)
        if call.error is not None:
            file = str(record.layout.result_file(index))
            record.mark(index, FAILED, file, entry, output)
        else:
            record.mark(index, DONE, call.value, entry, output)
        self._save_record(force=False)

    def _save_record(self, force: bool = True) -> None:
        """Write the manifest; a failure is logged, never masks the run's outcome."""
        record = self._setup.record
        if record is None:
            return
        try:
            record.save(force)
        except OSError as exc:
            if not self._unsaved:  # once per compute(): the run goes on
                logger.warning("%s", exc)
            self._unsaved = True

    def _run(
        self,
        client: Client,
        call_args: CallArgs,
        todo: list[int],
        fixed: int | None,
        attempts: dict[int, int],
    ) -> Outcome:
        if client.status != "running":
            raise NoWorkersError(
                f"the distributed computing client {client} was shut down (by another "
                "map's cleanup() or by cluster_cleanup()). Construct a new "
                "ParallelMap to run on a new client."
            )
        workers = live_workers(client)
        if workers == 0:
            raise NoWorkersError(
                f"no active workers found in distributed computing client {client}. "
                "Restart the client, or shut it down with `acme.cluster_cleanup()` "
                "and let acme start a new one."
            )
        logger.info(
            "Preparing %d parallel calls of `%s` using %d workers",
            len(todo),
            self._setup.spec.name,
            workers,
        )
        run = Run(client, self._setup.spec.name, fixed)
        try:
            with InterruptGuard():
                run.submit(*self._call, call_args, todo, attempts)
                return run.wait(
                    self.config.verbose is not False,
                    None if self._setup.record is None else self._note,
                    lambda: self._save_record(force=False),
                )
        except KeyboardInterrupt:
            name = self._setup.spec.name
            logger.warning("Interrupted: cancelling %s's tasks", name)
            with (
                contextlib.suppress(KeyboardInterrupt),
                interrupts_held(f"cancelling {name}'s tasks"),
            ):
                run.cancel()
            raise
        finally:
            run.release()

    def _shut_down_owned(self) -> None:
        """Ctrl-C: shut down a client this map started (a user's client stays)."""
        handle = self._setup.handle
        if handle is not None and handle.owned and handle.client is self.config.client:
            self.config.client = None
            try:
                shut_down(handle.client, hurry=True)
            except KeyboardInterrupt:
                pass  # pressed again: the interrupt being handled is raised anyway
            except Exception as exc:  # the interrupt is what the caller must see
                logger.warning("Shutting down the client failed: %s", exc)

    def _finish(self, outcome: Outcome, submitted: int) -> Any:
        n_calls = self.config.n_calls
        values = outcome.values
        if outcome.errors or len(values) < n_calls:
            paths = {i: _as_path(v) for i, v in values.items()}
            error = failure(outcome, paths, n_calls, submitted, self.config.client)
            raise error from error.__cause__
        finished = self._setup.sink.finalize([values[i] for i in range(n_calls)])
        self.config.results_container = finished.container
        record = self._setup.record
        if record is not None and finished.files is not None:
            record.close(finished.files)
        return finished.value

    def cleanup(self) -> None:
        """Release the client per ``stop_client``; idempotent."""
        handle = self._setup.handle
        client = self.config.client
        stop = self._setup.settings.stop_client
        self.config.client = None
        _logging.use_file(self._setup.log_file, self._setup.log_level)
        try:
            if client is not None and client.status == "running":
                owned = handle is not None and handle.owned and handle.client is client
                if stop is StopClient.ALWAYS or (stop is StopClient.OWNED and owned):
                    cluster_cleanup(client)
        finally:
            _logging.flush()
            _logging.use_file(None, self._setup.log_level)  # the run's file is closed


def _as_path(value: Any) -> Any:
    """What a failure report lists for a call: a stored file's path, else the value."""
    return value.path if isinstance(value, StoredFile) else value
