"""The callable shipped to the workers: run a batch of calls, store each result.

A batch is a list of ``(index, args, kwargs)``. Each call is run and its value
handed to the sink's ``store(index, value)`` separately; failures are reported
per call, so the batch size never changes what the caller sees.
"""

from __future__ import annotations

import os
import pickle
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..broadcast import TASK_ID

__all__ = ["CallOutcome", "run_batch"]

Call = tuple[int, Sequence[Any], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What one call produced: the stored value, or the error and its traceback."""

    index: int
    value: Any = None
    error: BaseException | None = None
    traceback: str | None = None
    job: str | None = None


def _portable(exc: Exception) -> BaseException:
    """``exc`` itself if it survives pickling, else a RuntimeError describing it."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__qualname__}: {exc}")
    return exc


def run_batch(
    func: Callable[..., Any],
    store: Callable[[int, Any], Any],
    task_id: bool,
    batch: Sequence[Call],
) -> list[CallOutcome]:
    """Run every call of ``batch``; never raises for an exception of ``func``.

    Parameters
    ----------
    func : callable
        The user function.
    store : callable
        ``store(index, value)`` persists a result and returns what goes back
        to the caller (the value, a file name or None).
    task_id : bool
        Pass ``taskID=index`` to ``func``.
    batch : sequence of (index, args, kwargs)
        The calls to run.
    """
    outcomes = []
    for index, args, kwargs in batch:
        call_kwargs = {**kwargs, TASK_ID: index} if task_id else kwargs
        try:
            value = func(*args, **call_kwargs)
            outcomes.append(CallOutcome(index, store(index, value)))
        except Exception as exc:
            outcomes.append(
                CallOutcome(
                    index,
                    error=_portable(exc),
                    traceback=traceback.format_exc(),
                    job=os.environ.get("SLURM_JOB_ID"),
                )
            )
    return outcomes
