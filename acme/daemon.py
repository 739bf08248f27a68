"""``ACMEdaemon``: runs the planned calls, reports failures, cleans up.

``ParallelMap`` does the set-up and hands the daemon a :class:`RunState`; the
daemon's ``compute()`` reads the per-call tables again, submits the calls through
``_execution`` and lets the result sink build the return value.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

from . import _logging
from ._checks import as_bool, type_of
from ._execution import InterruptGuard, Outcome, Run, run_in_process
from ._settings import StopClient
from ._state import RunState
from .broadcast import CallArgs, call_arguments
from .cluster._jobs import all_jobs, slurm_report
from .cluster.client import cluster_cleanup, live_workers
from .errors import AcmeTypeError, AcmeValueError, ComputationError, NoWorkersError
from .results._worker import CallOutcome
from .results.manifest import DONE, FAILED, PENDING, fingerprints

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["ACMEdaemon"]

logger = _logging.get_logger(__name__)
_MAX_LISTED = 10


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
        state = getattr(pmap, "_state", None)
        if not isinstance(state, RunState):
            raise AcmeTypeError(
                f"`pmap` has to be a `ParallelMap` instance, not {type_of(pmap)}"
            )
        self._state = state
        self.config = state.config

    @property
    def client(self) -> Client | None:
        """The distributed client in use (``config.client``)."""
        return self.config.client

    @property
    def results_container(self) -> str | None:
        """Absolute path of the results container after ``compute()``, else None."""
        return self.config.results_container

    def compute(self, debug: bool = False) -> Any:
        """Run every call; see :meth:`acme.ParallelMap.compute`."""
        client = self.config.client
        if client is None:
            return None
        as_bool(debug, "`debug` has to be `True` or `False`, not {type}")
        call_args = call_arguments(
            self.config.argv, self.config.kwargv, self.config.n_calls
        )
        done = self._plan_files(call_args)
        indices = [i for i in range(self.config.n_calls) if i not in done]
        try:
            if debug:
                logger.warning("Running in debug mode")
                outcome = run_in_process(
                    self.config.func,
                    self._state.sink.local().store,
                    self._state.spec.has_task_id,
                    call_args,
                    indices,
                    self._record,
                )
            else:
                outcome = self._run(client, call_args, indices)
            outcome.values.update(done)
            return self._finish(outcome, len(indices))
        finally:
            self._save_manifest()
            _logging.flush()

    def _plan_files(self, call_args: CallArgs) -> dict[int, str]:
        """Fingerprint the calls, apply ``resume``; the result files to reuse."""
        layout = self._state.layout
        if layout is None:
            return {}
        manifest = layout.manifest
        identity = {**self._state.identity, "fingerprints": fingerprints(call_args)}
        reuse: set[int] = set()
        if self._state.settings.resume:
            difference = manifest.difference(identity)
            if difference is not None:
                raise AcmeValueError(
                    f"cannot resume the run of {layout.name}: {difference}"
                )
            reuse = manifest.finished(layout.folder)
        manifest.data.update(identity)
        for index in set(range(self.config.n_calls)) - reuse:
            manifest.mark(index, PENDING)
        manifest.save()
        return {i: str(layout.folder / manifest.file(i)) for i in sorted(reuse)}

    def _record(self, call: CallOutcome) -> None:
        """Note a finished or failed call in the manifest (throttled writes)."""
        layout = self._state.layout
        if layout is None:
            return
        if call.error is not None:
            layout.manifest.mark(call.index, FAILED)
        else:
            file = os.path.relpath(call.value, layout.folder)
            layout.manifest.mark(call.index, DONE, file)
        layout.manifest.save(force=False)

    def _save_manifest(self, force: bool = True) -> None:
        """Write the manifest (unless ``force``: only changes, throttled)."""
        if self._state.layout is not None:
            self._state.layout.manifest.save(force)

    def _run(self, client: Client, call_args: CallArgs, indices: list[int]) -> Outcome:
        workers = live_workers(client)
        if workers == 0:
            raise NoWorkersError(
                f"no active workers found in distributed computing client {client}. "
                "Restart the client, or shut it down with `acme.cluster_cleanup()` "
                "and let acme start a new one."
            )
        logger.info(
            "Preparing %d parallel calls of `%s` using %d workers",
            len(indices),
            self._state.spec.name,
            workers,
        )
        run = Run(client, self._state.spec.name)
        try:
            with InterruptGuard():
                run.submit(
                    self.config.func,
                    self._state.sink.store,
                    self._state.spec.has_task_id,
                    call_args,
                    indices,
                )
                return run.wait(
                    self.config.verbose is not False,
                    self._record,
                    functools.partial(self._save_manifest, force=False),
                )
        except KeyboardInterrupt:
            self._interrupted(run)
            raise
        finally:
            run.release()

    def _interrupted(self, run: Run) -> None:
        """Ctrl-C: cancel our tasks; shut down a client this map started."""
        logger.warning("Interrupted: cancelling %s's tasks", self._state.spec.name)
        run.cancel()
        handle = self._state.handle
        if handle is not None and handle.owned:
            cluster_cleanup(handle.client)
            self.config.client = None
            self._state.handle = None

    def _finish(self, outcome: Outcome, submitted: int) -> Any:
        if outcome.errors or len(outcome.values) < self.config.n_calls:
            error = _failure(
                outcome, self.config.n_calls, submitted, self.config.client
            )
            raise error from error.__cause__
        values = [outcome.values[i] for i in range(self.config.n_calls)]
        sink = self._state.sink
        result = sink.finalize(values)
        self.config.results_container = sink.results_container()
        layout = self._state.layout
        if (
            layout is not None
            and isinstance(result, list)
            and len(result) == len(values)
        ):
            for index, path in enumerate(result):
                layout.manifest.mark(index, DONE, os.path.relpath(path, layout.folder))
        return result

    def cleanup(self) -> None:
        """Release the client per ``stop_client``; idempotent."""
        handle = self._state.handle
        client = self.config.client
        stop = self._state.settings.stop_client
        self._state.handle = None
        self.config.client = None
        try:
            if client is not None and client.status == "running":
                owned = handle is not None and handle.owned and handle.client is client
                if stop is StopClient.ALWAYS or (stop is StopClient.OWNED and owned):
                    cluster_cleanup(client)
        finally:
            _logging.flush()


def _failure(
    outcome: Outcome, n_calls: int, submitted: int, client: Client | None
) -> ComputationError:
    """The ``ComputationError`` for a run with failed or stalled calls."""
    failed = sorted(set(range(n_calls)) - set(outcome.values))
    submitted = max(submitted, len(failed))
    errors = outcome.errors
    lines = [
        f"Parallel computation failed: {len(failed)}/{submitted} tasks failed "
        "or stalled"
    ]
    for index in failed[:_MAX_LISTED]:
        error = errors.get(index)
        text = f"{type(error).__name__}: {error}" if error else "stalled (no result)"
        lines.append(f"call {index}: {text}")
    if len(failed) > _MAX_LISTED:
        lines.append(f"... and {len(failed) - _MAX_LISTED} more")
    first = next((i for i in failed if i in errors), None)
    cluster = getattr(client, "cluster", None)
    jobs = {outcome.jobs[i] for i in failed if i in outcome.jobs}
    if outcome.stalled:
        jobs.update(all_jobs(cluster))
    lines.extend(slurm_report(jobs))
    if first is not None and first in outcome.tracebacks:
        lines.append(
            f"Traceback of call {first}:\n{outcome.tracebacks[first].rstrip()}"
        )
    results = [outcome.values.get(i) for i in range(n_calls)]
    error = ComputationError(
        "\n".join(lines), failed=failed, exceptions=errors, results=results
    )
    error.__cause__ = errors[first] if first is not None else None
    return error
