"""How many calls go into each dask task: fixed, or sized from measured call times.

With ``acme.batch-size: auto`` the first task of each worker thread is a probe:
it gets an even share of the calls (at most :data:`PROBE_BYTES` of arguments),
runs them for :data:`PROBE_SECONDS` and hands the rest back unstarted, so
cheap calls may all finish in one round trip and a long call still runs alone.
Once calls have been timed on the workers, a task gets as many calls as fill about
:data:`TARGET_SECONDS`, but never so many that fewer than :data:`SPREAD` tasks
per worker thread remain for the calls still to submit, so long calls keep their
load balance; that spread stops where a task would carry less than
:data:`MIN_SECONDS` of work, which costs more to send than to balance. Pure
bookkeeping: no dask here.
"""

from __future__ import annotations

import math
from typing import Any

from ._checks import must_be
from .errors import AcmeValueError

__all__ = [
    "MAX_BYTES",
    "MIN_SECONDS",
    "PROBE_BYTES",
    "PROBE_SECONDS",
    "TARGET_SECONDS",
    "BatchSizer",
    "batch_size",
]

TARGET_SECONDS = 0.3  # work per task once calls have been timed
SPREAD = 4  # tasks per worker thread, at least, while calls remain
MIN_SECONDS = 0.05  # work per task below which spreading costs more than it balances
IN_FLIGHT = 2  # tasks in flight per worker thread in auto mode, once calls were timed
MAX_BYTES = 64 * 2**20  # arguments per task, and results before a task returns
PROBE_SECONDS = MIN_SECONDS  # a probe's calls run this long, the rest go back
PROBE_BYTES = 2**20  # arguments per probe


def batch_size(value: Any) -> int | None:
    """The ``acme.batch-size`` setting: None for ``auto``, else calls per task.

    Raises
    ------
    AcmeValueError
        If ``value`` is neither ``"auto"`` nor a positive integer.
    """
    if value == "auto":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise AcmeValueError(
        must_be("config `acme.batch-size`", '"auto" or a positive integer', value)
    )


class BatchSizer:
    """Sizes of successive tasks, learning the mean call time as batches finish.

    Parameters
    ----------
    fixed : int or None
        Calls per task; None sizes them from measured call times.
    slots : int
        Worker threads available (at least 1).
    """

    def __init__(self, fixed: int | None, slots: int) -> None:
        self.fixed = fixed
        self.slots = max(1, slots)
        self._calls = 0
        self._seconds = 0.0
        self._input_calls = 0
        self._input_bytes = 0
        self._most = 0  # the most calls ever left: the run's calls, at its start

    @property
    def in_flight(self) -> float:
        """How many tasks may be pending at once (unlimited for a fixed size).

        One per worker thread (its probe) until a call has been timed, so the
        batches sized from the first timing go out at once instead of each
        waiting for another probe to return.
        """
        if self.fixed is not None:
            return math.inf
        return self.slots if self._calls == 0 else IN_FLIGHT * self.slots

    @property
    def probing(self) -> bool:
        """Whether the next task is a probe: auto sizes and no call timed yet."""
        return self.fixed is None and self._calls == 0

    def observe(self, calls: int, seconds: float) -> None:
        """Account for ``calls`` calls that took ``seconds`` on a worker in all."""
        self._calls += calls
        self._seconds += max(seconds, 0.0)

    def observe_input(self, calls: int, nbytes: int) -> None:
        """Account for ``calls`` calls whose own arguments took ``nbytes``."""
        self._input_calls += calls
        self._input_bytes += nbytes

    def next(self, remaining: int, call_bytes: float = 0.0) -> int:
        """Calls for the next task, with ``remaining`` calls left to submit.

        ``call_bytes``: the arguments of one call, for the size of a probe.
        """
        if self.fixed is not None:
            return min(self.fixed, remaining)
        self._most = max(self._most, remaining)
        if self._calls == 0:  # a probe: a thread's share, as far as it fits
            fits = max(1, int(PROBE_BYTES / max(call_bytes, 1.0)))
            return min(math.ceil(self._most / self.slots), fits, remaining)
        per_call = max(self._seconds / self._calls, 1e-7)
        wanted = max(1, int(TARGET_SECONDS / per_call))
        spread = max(1, math.ceil(remaining / (SPREAD * self.slots)))
        # no task so small that sending it costs more than it balances, but
        # the run's calls still shared by every worker thread (without halving
        # the tasks as they run out)
        worth = min(
            max(1, int(MIN_SECONDS / per_call)), math.ceil(self._most / self.slots)
        )
        per_call_bytes = self._input_bytes / max(self._input_calls, 1)
        fits = max(1, int(MAX_BYTES / max(per_call_bytes, 1.0)))
        return min(wanted, max(spread, worth), fits, remaining)
