"""What one ``compute()`` learnt of its calls, and the error that reports failures.

:class:`Outcome` collects every call's value or exception as the tasks settle;
:func:`failure` turns one with failed or stalled calls into the
:class:`~acme.errors.ComputationError` the user sees: the calls that failed
(the first ten), the SLURM jobs involved, the first traceback and that call's
output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .cluster._jobs import all_jobs, slurm_report
from .errors import ComputationError
from .results._batch import BatchDone, CallOutcome
from .results._record import Measurements

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["Outcome", "failure"]

_MAX_LISTED = 10  # failed calls named in a ComputationError
_OUTPUT_SHOWN = 2000  # characters of the first failed call's output in it


@dataclass(slots=True)
class Outcome:
    """Per-call results and failures of one ``compute()``."""

    values: dict[int, Any] = field(default_factory=dict)
    errors: dict[int, BaseException] = field(default_factory=dict)
    tracebacks: dict[int, str] = field(default_factory=dict)
    jobs: dict[int, str] = field(default_factory=dict)
    stalled: bool = False
    cluster_jobs: set[str] = field(default_factory=set)  # SLURM jobs while it ran
    measured: list[Measurements] = field(default_factory=list)  # per batch
    attempts: dict[int, int] = field(default_factory=dict)

    def add(self, outcome: CallOutcome) -> None:
        """Record one call."""
        self.attempts[outcome.index] = outcome.attempt
        if outcome.error is None:
            self.values[outcome.index] = outcome.value
        else:
            self._failed(outcome)

    def add_batch(self, done: BatchDone, attempts: Mapping[int, int]) -> None:
        """Record the calls of a settled task, without an object per success."""
        self.values.update(zip(done.done, done.stored(), strict=True))
        self.attempts.update((index, attempts[index]) for index in done.done)
        for call in done.failed:
            self.attempts[call.index] = attempts[call.index]
            self._failed(call)

    def _failed(self, call: CallOutcome) -> None:
        assert call.error is not None
        self.errors[call.index] = call.error
        if call.traceback:
            self.tracebacks[call.index] = call.traceback
        if call.job:
            self.jobs[call.index] = call.job


def failure(
    outcome: Outcome,
    values: dict[int, Any],
    n_calls: int,
    submitted: int,
    client: Client | None,
) -> ComputationError:
    """The ``ComputationError`` for a run with failed or stalled calls."""
    failed = sorted(set(range(n_calls)) - set(values))
    submitted = max(submitted, len(failed))
    errors = outcome.errors
    lines = [
        f"Parallel computation failed: {len(failed)}/{submitted} tasks failed "
        "or stalled"
    ]
    for index in failed[:_MAX_LISTED]:
        error = errors.get(index)
        text = f"{type(error).__name__}: {error}" if error else "stalled (no result)"
        job = outcome.jobs.get(index)
        lines.append(f"call {index}: {text}" + (f" (SLURM job {job})" if job else ""))
    if len(failed) > _MAX_LISTED:
        lines.append(f"... and {len(failed) - _MAX_LISTED} more")
    first = next((i for i in failed if i in errors), None)
    cluster = getattr(client, "cluster", None)
    jobs = {outcome.jobs[i] for i in failed if i in outcome.jobs}
    if outcome.stalled:
        jobs.update(all_jobs(cluster), outcome.cluster_jobs)
    lines.extend(slurm_report(jobs))
    if first is not None and first in outcome.tracebacks:
        lines.append(
            f"Traceback of call {first}:\n{outcome.tracebacks[first].rstrip()}"
        )
    output = next(
        (b.outputs[first] for b in outcome.measured if first in b.outputs), ""
    )
    if output:
        tail = output[-_OUTPUT_SHOWN:]
        cut = "its last lines" if len(tail) < len(output) else "all of it"
        lines.append(f"Output of call {first} ({cut}):\n{tail.rstrip()}")
    results = [values.get(i) for i in range(n_calls)]
    error = ComputationError(
        "\n".join(lines), failed=failed, exceptions=errors, results=results
    )
    error.__cause__ = errors[first] if first is not None else None
    return error
