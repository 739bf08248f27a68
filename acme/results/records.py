"""The records of a run's calls: from what the workers measured, and on disk.

A ``compute()`` tallies what its workers measured (:class:`Tally`); the records
and the end-of-run summary are built from it when asked for.

Each call's manifest entry carries a ``record``: its attempt, start, run and CPU
time, peak memory, host, worker, pid, SLURM job and the worker's memory limit.
What a call printed, when anything, goes to ``<dir>/.acme_<f>.output``, one
JSON line per attempt, ``{"call": i, "attempt": k, "output": "..."}``, appended
as calls settle, so the manifest stays small however much the calls print. A
record is read back with the output line of its own attempt. Records are never
trusted for a decision: a malformed one is read as absent, never refused.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._settings import OutputMode
from ..errors import AcmeValueError
from ._files import append_lines
from ._record import CallRecord, Measured, Measurements, Where
from .journal import replay
from .layout import OutputLayout

__all__ = [
    "RECORD",
    "Tally",
    "append_outputs",
    "call_entry",
    "call_records",
    "load_records",
    "make_record",
    "prior_attempts",
    "read_outputs",
    "saved",
    "summary",
    "to_entry",
]

RECORD = "record"  # the key of a call's record in its manifest entry
_NUMBERS = ("start", "seconds", "cpu_seconds", "peak_mb", "memory_limit_mb")
_TEXTS = ("host", "worker", "job")
_STATUS = {"done": "done", "failed": "failed", "pending": "not run"}


def make_record(
    index: int, status: str, measured: Measured, where: Where, attempt: int = 1
) -> CallRecord:
    """A call's record from what its worker measured and where the batch ran."""
    start, seconds, *_, output = measured
    fields = to_entry(measured, where, attempt)
    return CallRecord(index, status, end=start + seconds, output=output, **fields)


@dataclass(slots=True)
class Tally:
    """What one ``compute()`` learnt of its calls, for their records and summary.

    Attributes
    ----------
    n_calls : int
        Calls of the map.
    measured : sequence of Measurements
        What the workers measured, a batch each.
    attempts : dict
        Call -> its attempt number, for the calls handed to a worker.
    done, failed : set of int
        Calls that have a result, and calls that failed, in this ``compute()``.
    reused : dict
        Call -> the record the manifest keeps of the run that computed it
        (``resume=True``; empty where that run kept none).
    output_file : Path or None
        Where the runs of the folder keep the calls' output.
    """

    n_calls: int = 0
    measured: Sequence[Measurements] = ()
    attempts: Mapping[int, int] = field(default_factory=dict)
    done: Collection[int] = ()
    failed: Collection[int] = ()
    reused: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    output_file: Path | None = None

    def status(self, index: int) -> str:
        """``"done"``, ``"failed"``, ``"reused"`` or ``"not run"``."""
        if index in self.done:
            return "done"
        if index in self.failed:
            return "failed"
        return "reused" if index in self.reused else "not run"


def call_records(tally: Tally) -> list[CallRecord]:
    """One record per call, in call order (a reused call's output read back)."""
    file = tally.output_file
    outputs = read_outputs(file) if tally.reused and file is not None else {}
    measured = {
        index: (numbers, batch.where)
        for batch in tally.measured
        if batch.where is not None
        for index, numbers in batch.items()
    }
    records = []
    for index in range(tally.n_calls):
        attempt = tally.attempts.get(index, 0)
        status = tally.status(index)
        if index in measured:
            record = make_record(index, status, *measured[index], attempt=attempt)
        elif index in tally.reused:
            entry = tally.reused[index]
            output = outputs.get((index, entry.get("attempt", 0)), "")
            record = saved(index, "reused", entry, output)
        else:
            record = CallRecord(index, status, attempt=attempt)
        records.append(record)
    return records


def summary(tally: Tally) -> str:
    """One line: calls by status, median and longest run time, peak memory."""
    counts = Counter(tally.status(i) for i in range(tally.n_calls))
    order = ("done", "failed", "reused", "not run")
    text = ", ".join(f"{counts[s]} {s}" for s in order if counts[s])
    batches = [batch for batch in tally.measured if batch.calls]
    if batches:
        seconds = [t for batch in batches for t in batch.seconds()]
        longest, index = max(
            max(zip(batch.seconds(), batch.calls, strict=True)) for batch in batches
        )
        text += (
            f"; run time median {_duration(statistics.median(seconds))}, "
            f"longest {_duration(longest)} (call {index})"
        )
        peak, limit = max(
            (max(batch.peaks()) / 1e6, (batch.where and batch.where[4]) or 0.0)
            for batch in batches
        )
        text += f"; peak memory {peak / 1000:.2g} GB"
        if limit:
            text += f" of {limit / 1000:.2g} GB per worker"
            fits = math.ceil(1.5 * peak / 1000)  # in GB, with 50 % headroom
            if peak < limit / 4 and fits * 1000 <= limit / 2:  # far more than needed
                text += f": mem_per_worker='{fits}GB' would fit"
    return f"Calls: {text}"


def _duration(seconds: float) -> str:
    """``seconds`` for reading: ``"21 us"``, ``"301 ms"``, ``"2.5 s"``.

    >>> _duration(2.26e-05), _duration(0.3012), _duration(2.5)
    ('23 us', '301 ms', '2.5 s')
    """
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.3g} s"


def prior_attempts(
    records: Mapping[int, Mapping[str, Any]], calls: Iterable[int]
) -> dict[int, int]:
    """How often earlier runs handed out each of ``calls``, from their records."""
    if not records:  # a first run
        return {}
    found = ((i, records.get(i, {}).get("attempt")) for i in calls)
    return {i: n for i, n in found if type(n) is int and n > 0}


def to_entry(measured: Measured, where: Where, attempt: int) -> dict[str, Any]:
    """A call's record as its manifest entry holds it (the output goes apart)."""
    start, seconds, cpu, peak, _ = measured
    host, worker, pid, job, limit = where
    entry = {
        "attempt": attempt,
        "start": start,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mb": peak / 1e6,
        "memory_limit_mb": limit,
        "host": host,
        "worker": worker,
        "pid": pid,
        "job": job,
    }
    return {name: value for name, value in entry.items() if value is not None}


def call_entry(
    batch: Measurements | None, index: int, attempt: int
) -> tuple[dict[str, Any], str]:
    """The manifest record of call ``index`` of ``batch``, and its output.

    Only the attempt where nothing was measured (a failure without a result
    from the worker, or a call run in the caller).
    """
    measured = batch.of(index) if batch is not None else None
    if batch is None or measured is None or batch.where is None:
        return {"attempt": attempt}, ""
    return to_entry(measured, batch.where, attempt), measured[4]


def saved(
    index: int, status: str, entry: Mapping[str, Any], output: str = ""
) -> CallRecord:
    """The record of call ``index`` from its manifest entry's ``record``."""
    fields: dict[str, Any] = {"output": output}
    for name in _NUMBERS:
        value = entry.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            fields[name] = float(value)
    for name in _TEXTS:
        if isinstance(entry.get(name), str):
            fields[name] = entry[name]
    for name in ("pid", "attempt"):
        value = entry.get(name)
        if type(value) is int and value >= 0:
            fields[name] = value
    if "start" in fields and "seconds" in fields:
        fields["end"] = fields["start"] + fields["seconds"]
    return CallRecord(index, status, **fields)


def append_outputs(path: Path, outputs: Iterable[tuple[int, int, str]]) -> None:
    """Append the ``(call, attempt, output)`` lines in one write.

    Raises
    ------
    OSError
        If the file cannot be written.
    """
    lines = [
        json.dumps({"call": i, "attempt": k, "output": text}) for i, k, text in outputs
    ]
    if lines:
        append_lines(path, lines)


def read_outputs(path: Path) -> dict[tuple[int, int], str]:
    """``(call, attempt) -> output`` of the file; unreadable lines are skipped."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    outputs: dict[tuple[int, int], str] = {}
    for line in text.split("\n"):
        try:
            item = json.loads(line)
            key = (item["call"], item["attempt"])
            output = item["output"]
        except (ValueError, TypeError, KeyError):
            continue  # a line cut short by a killed process, or not ours
        if all(type(n) is int for n in key) and isinstance(output, str):
            outputs[key] = output
    return outputs


def load_records(
    folder: str | os.PathLike[str], name: str | None = None
) -> list[CallRecord]:
    """The records of the run in ``folder``, one per call, from its manifest.

    Parameters
    ----------
    folder : str or path
        A run's output folder (``pmap.results_container``'s folder, or the
        ``output_dir`` it was given).
    name : str, optional
        The function's name, when the folder holds the runs of several.

    Raises
    ------
    AcmeValueError
        If the folder holds no run, runs of several functions and ``name`` is
        not given, or a manifest that cannot be read.
    """
    path = Path(folder)
    names = sorted(p.name[6:-5] for p in path.glob(".acme_*.json"))  # .acme_<f>.json
    if not names:
        raise AcmeValueError(
            f"`folder` {str(path)!r} holds no run of acme (no manifest .acme_<f>.json)"
        )
    if name is None and len(names) > 1:
        raise AcmeValueError(
            f"`name` is needed: {path} holds the runs of {', '.join(names)}"
        )
    if name is not None and name not in names:
        raise AcmeValueError(
            f"`name` {name!r} names no run in {path}; it holds the runs of "
            f"{', '.join(names)}"
        )
    layout = OutputLayout(path, name or names[0], OutputMode.HDF5_PER_CALL)
    try:
        data = json.loads(layout.manifest.read_text(encoding="utf-8"))
        problem = replay(layout.journal, data)
        calls = data["calls"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AcmeValueError(
            f"cannot read the manifest {layout.manifest}: {exc}"
        ) from exc
    if problem is not None or not isinstance(calls, list):
        raise AcmeValueError(
            f"cannot read the manifest {layout.manifest}: {problem or 'no calls'}"
        )
    outputs = read_outputs(layout.output)
    records = []
    for index, call in enumerate(calls):
        call = call if isinstance(call, dict) else {}
        status = _STATUS.get(str(call.get("status")), "not run")
        entry = call.get(RECORD)
        entry = entry if isinstance(entry, dict) else {}
        output = outputs.get((index, entry.get("attempt", 0)), "")
        records.append(saved(index, status, entry, output))
    return records
