"""acme's exceptions: each derives from :class:`AcmeError` *and* from the builtin
ACME raised in the same situation, so ``except ValueError`` style code keeps working::

    AcmeError(Exception)                           catch-all
    ├── AcmeTypeError(AcmeError, TypeError)        argument of the wrong type
    ├── AcmeValueError(AcmeError, ValueError)      bad value or combination
    │   └── BroadcastError                         lengths disagree
    ├── SlurmError(AcmeError, OSError)             SLURM unreachable, query failed
    ├── OutputError(AcmeError, OSError)            cannot create or write output
    │   └── OutputExistsError(.., FileExistsError) folder holds a run already
    ├── WorkerStartTimeoutError(.., TimeoutError)  too few workers in time
    ├── SetupAbortedError(.., ConnectionAbortedError)  declined at a prompt
    └── ComputationError(AcmeError, RuntimeError)  calls failed or stalled
        └── NoWorkersError                         no live workers

The exceptions carry what they report (the failed command with its exit status
and stderr, the path, the counts, the failed calls), documented attribute by
attribute: over the 120-line guide of the tree alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "AcmeError",
    "AcmeTypeError",
    "AcmeValueError",
    "BroadcastError",
    "ComputationError",
    "NoWorkersError",
    "OutputError",
    "OutputExistsError",
    "SetupAbortedError",
    "SlurmError",
    "WorkerStartTimeoutError",
]


class AcmeError(Exception):
    """Base class of every exception acme raises."""


class AcmeTypeError(AcmeError, TypeError):
    """An argument has the wrong type."""


class AcmeValueError(AcmeError, ValueError):
    """An argument has a bad value, or options do not go together."""


class BroadcastError(AcmeValueError):
    """Argument lengths disagree or ``n_inputs`` cannot be satisfied."""


class SlurmError(AcmeError, OSError):
    """SLURM is unreachable or one of its commands failed.

    Attributes
    ----------
    argv : list of str or None
        The command that failed, if one did.
    returncode : int or None
        Its exit status.
    stderr : str or None
        What it wrote to stderr.
    """

    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str] | None = None,
        returncode: int | None = None,
        stderr: str | None = None,
    ) -> None:
        super().__init__(message)
        self.argv = list(argv) if argv is not None else None
        self.returncode = returncode
        self.stderr = stderr


class OutputError(AcmeError, OSError):
    """An output folder or file cannot be created or written.

    Attributes
    ----------
    path : str or None
        The folder or file.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class OutputExistsError(OutputError, FileExistsError):
    """The output folder already holds a run of the function and ``resume`` is off."""


class WorkerStartTimeoutError(AcmeError, TimeoutError):
    """No SLURM worker came up within the set-up time-out.

    Attributes
    ----------
    available : int
        Workers that were up when the time-out expired.
    expected : int
        Workers the set-up waited for (``n_workers_startup``).
    timeout : float
        The time-out in seconds.
    """

    def __init__(
        self, message: str, *, available: int, expected: int, timeout: float
    ) -> None:
        super().__init__(message)
        self.available = available
        self.expected = expected
        self.timeout = timeout


class SetupAbortedError(AcmeError, ConnectionAbortedError):
    """A prompt declined or aborted the start of a computing client."""


class ComputationError(AcmeError, RuntimeError):
    """Calls failed or stalled in ``compute()``.

    Attributes
    ----------
    failed : list of int
        Sorted indices of the calls without a result.
    exceptions : dict
        Call index -> the exception the call raised (or its stall).
    results : list
        Per call its result (or its result file), None for the failed ones.
    """

    def __init__(
        self,
        message: str,
        *,
        failed: Sequence[int] = (),
        exceptions: dict[int, BaseException] | None = None,
        results: list[Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.failed = sorted(failed)
        self.exceptions = dict(exceptions or {})
        self.results = list(results or [])


class NoWorkersError(ComputationError):
    """The computing client has no live worker when ``compute()`` starts."""
