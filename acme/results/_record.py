"""What one call did: its printed output, run time, CPU time and where it ran.

On a worker, a batch's :class:`Recorder` records each of its calls. While one
runs, text the call's thread writes to ``sys.stdout`` or ``sys.stderr``, and
records of the root logger it emits, also go to that call's buffer (they still
reach the worker's streams), so the output of calls running side by side in
one worker never mixes in the records. The first capturing batch of a process
puts a dispatching stand-in in front of both streams and a handler on the root
logger; without capture nothing is replaced. Only the tail of a call's output
is kept (``max_chars``). The caller builds records from what is measured here
(:mod:`acme.results.records`).
"""

from __future__ import annotations

import functools
import logging
import os
import resource
import socket
import sys
import threading
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from .. import config
from .._checks import is_integral, must_be
from ..errors import AcmeValueError

__all__ = [
    "CallRecord",
    "Measured",
    "Measurements",
    "Recorder",
    "Where",
    "capture_limit",
    "where",
]

_local = threading.local()  # .buffer: the _Tail of the call this thread runs
_install_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class CallRecord:
    """What one call of a ``compute()`` did (``ParallelMap.records``).

    Attributes
    ----------
    index : int
        The call.
    status : str
        ``"done"``, ``"failed"``, ``"reused"`` (a result of an earlier run,
        with ``resume=True``; its record is that run's) or ``"not run"``.
    attempt : int
        How many times acme has handed the call to a worker, across resumed
        runs: 1 for a call that ran once; more after a resumed failure or a
        task lost with its worker; 0 for a call never handed out.
    start, end : float or None
        When the call began and ended (seconds since the epoch).
    seconds, cpu_seconds : float or None
        Its wall-clock time, and the CPU time of the thread that ran it.
    host, worker : str or None
        The host name, and the dask worker's address.
    pid : int or None
        The worker's process id.
    job : str or None
        The SLURM job the worker ran in.
    peak_mb : float or None
        Peak resident memory of the worker process while the call ran, in MB:
        exact if the call raised the process's peak, else sampled (every 10 ms
        once a call runs for long; a short call gets the last sample). Calls
        running beside it in the same worker share it.
    memory_limit_mb : float or None
        The worker's memory limit in MB, if it has one.
    output : str
        What the call printed to stdout and stderr, and the root logger's
        records it emitted, in order (its tail only, beyond the cap).
    """

    index: int
    status: str
    attempt: int = 0
    start: float | None = None
    end: float | None = None
    seconds: float | None = None
    cpu_seconds: float | None = None
    host: str | None = None
    worker: str | None = None
    pid: int | None = None
    job: str | None = None
    peak_mb: float | None = None
    memory_limit_mb: float | None = None
    output: str = ""


class _Tail:
    """The last ``limit`` characters written to it, and how many came before."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.cut = 0

    def clear(self) -> None:
        """Forget everything written (for the next call)."""
        if self.size or self.cut:
            self.parts, self.size, self.cut = [], 0, 0

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size > 2 * self.limit:  # trimmed now and then, not per write
            self._trim()

    def _trim(self) -> None:
        text = "".join(self.parts)
        keep = text[-self.limit :] if self.limit else ""
        self.cut += len(text) - len(keep)
        self.parts, self.size = [keep], len(keep)

    def text(self) -> str:
        if self.size > self.limit:
            self._trim()
        text = "".join(self.parts)
        return f"[... {self.cut} characters cut ...]\n{text}" if self.cut else text


class _Dispatch:
    """Stands in for ``sys.stdout``/``sys.stderr``: everything goes on to the
    stream it replaced, and a capturing thread's text to its call's buffer too."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        tail: _Tail | None = getattr(_local, "buffer", None)
        if tail is not None:
            tail.add(text)
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, isatty, ...
        return getattr(self._stream, name)


class _ToCall(logging.Handler):
    """Root logger records emitted inside a capturing call go to its buffer."""

    def emit(self, record: logging.LogRecord) -> None:
        tail: _Tail | None = getattr(_local, "buffer", None)
        if tail is not None:
            tail.add(self.format(record) + "\n")


def _install() -> None:
    """Put the stand-ins in place once per process."""
    if isinstance(sys.stdout, _Dispatch) and isinstance(sys.stderr, _Dispatch):
        return  # the root logger's handler came with them
    with _install_lock:
        if not isinstance(sys.stdout, _Dispatch):
            sys.stdout = _Dispatch(sys.stdout)
        if not isinstance(sys.stderr, _Dispatch):
            sys.stderr = _Dispatch(sys.stderr)
        root = logging.getLogger()
        if not any(isinstance(h, _ToCall) for h in root.handlers):
            handler = _ToCall()
            handler.setFormatter(
                logging.Formatter("%(levelname)s:%(name)s:%(message)s")
            )
            root.addHandler(handler)


def _usage() -> tuple[float, float]:
    """CPU seconds of this thread, and the process's peak resident bytes so far.

    One system call (Linux), as cheap as ``time.thread_time()`` alone.
    """
    usage = resource.getrusage(resource.RUSAGE_THREAD)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024.0  # KiB


class _Sampler:
    """The process's resident memory, sampled while a call runs for long.

    Every tick, the calls that were already running at the previous tick get a
    sample (every :data:`_FAST` seconds while one runs). While calls are short,
    the ticks slow down to :data:`_SLOW` seconds: a thread waking often steals
    the interpreter lock from the calls. Recorders join ``active`` for their
    batch without a lock (set operations are atomic); the sampler works on a
    copy.
    """

    def __init__(self) -> None:
        import psutil  # lazy: only recording workers sample

        self._process = psutil.Process()
        self.latest = self.rss()
        self.active: set[Recorder] = set()
        threading.Thread(target=self._run, daemon=True, name="acme-rss").start()

    def rss(self) -> float:
        """The resident memory now, in bytes."""
        return float(self._process.memory_info().rss)

    def _run(self) -> None:
        interval = _FAST
        seen: dict[Recorder, int] = {}  # recorder -> its serial at the last tick
        while True:
            time.sleep(interval)
            active = self.active.copy()
            # an odd serial: a call runs; the same as at the last tick: for long
            running = [r for r in active if r.serial % 2 and seen.get(r) == r.serial]
            seen = {recorder: recorder.serial for recorder in active}
            if running:
                self.latest = rss = self.rss()
                for recorder in running:
                    recorder.peak = max(recorder.peak, rss)
            interval = _FAST if running else min(2 * interval, _SLOW)


_FAST, _SLOW = 0.01, 0.2  # seconds between samples: during a long call, otherwise


@functools.lru_cache(maxsize=4)
def _sampler(pid: int) -> _Sampler:
    """The sampler of process ``pid`` (this one; a forked child gets its own)."""
    return _Sampler()


#: what a worker measured of one call: start, seconds, CPU seconds, peak bytes,
#: output (the rest of a record is the same for a whole batch: :func:`where`)
Measured = tuple[float, float, float, float, str]
#: host, worker address, pid, SLURM job, worker memory limit in MB
Where = tuple[str, str | None, int, str | None, float | None]
_NUMBERS = 4  # numbers per call in Measurements.numbers


@dataclass(slots=True)
class Measurements:
    """What a worker measured of the calls of one batch, in columns.

    A few numbers per call in one array, so that recording thousands of short
    calls creates almost no objects to build, send and keep.

    Attributes
    ----------
    calls : list of int
        The calls, in the order they ran.
    numbers : array of float
        Per call: start, seconds, CPU seconds and peak resident bytes.
    outputs : dict
        Call -> its output, for the calls that printed.
    where : Where or None
        Where the batch ran (:func:`where`).
    """

    calls: list[int] = field(default_factory=list)
    numbers: array[float] = field(default_factory=lambda: array("d"))
    outputs: dict[int, str] = field(default_factory=dict)
    where: Where | None = None
    _positions: dict[int, int] | None = field(default=None, repr=False)

    def seconds(self) -> array[float]:
        """The run time of each call, in the order of :attr:`calls`."""
        return self.numbers[1::_NUMBERS]

    def peaks(self) -> array[float]:
        """The peak resident bytes of each call, in the order of :attr:`calls`."""
        return self.numbers[3::_NUMBERS]

    def items(self) -> Iterator[tuple[int, Measured]]:
        """``(call, what was measured)`` pairs."""
        numbers, outputs = self.numbers, self.outputs
        for position, index in enumerate(self.calls):
            start, seconds, cpu, peak = numbers[
                _NUMBERS * position : _NUMBERS * (position + 1)
            ]
            yield index, (start, seconds, cpu, peak, outputs.get(index, ""))

    def of(self, index: int) -> Measured | None:
        """What was measured of call ``index``, or None if it did not run here."""
        if self._positions is None:  # built in the caller, once per batch
            self._positions = {call: n for n, call in enumerate(self.calls)}
        position = self._positions.get(index)
        if position is None:
            return None
        start, seconds, cpu, peak = self.numbers[
            _NUMBERS * position : _NUMBERS * (position + 1)
        ]
        return start, seconds, cpu, peak, self.outputs.get(index, "")


class Recorder:
    """Records the calls a batch runs, one after another on one thread.

    Used as a context manager around the batch; :meth:`start` before each
    call, :meth:`finish` after it (also after an exception). One recorder
    serves every call of its batch, so recording a call allocates nothing but
    what it measured: one ``getrusage`` at each end gives the thread's CPU time
    and the process's peak resident memory so far.

    A call's peak is that peak if the call raised it (exact), else the highest
    sample taken while it ran, else (a short call) the last sample before it.

    Parameters
    ----------
    max_chars : int or None
        Characters of each call's output to keep; None captures nothing (the
        streams are then never replaced).
    """

    __slots__ = (
        "_stale",
        "cpu",
        "high",
        "measured",
        "peak",
        "previous",
        "sampler",
        "serial",
        "start_time",
        "tail",
        "wall",
    )

    def __init__(self, max_chars: int | None) -> None:
        self.sampler = _sampler(os.getpid())
        self.tail = None if max_chars is None else _Tail(max_chars)
        if self.tail is not None:
            _install()
        self.previous: _Tail | None = None
        self.peak = self.start_time = self.cpu = self.wall = self.high = 0.0
        self.serial = 0  # calls started and ended: odd while one runs
        self._stale = False  # the sampler's latest may be of a call that ended
        self.measured = Measurements()

    def __enter__(self) -> Recorder:
        self.sampler.latest = self.sampler.rss()  # fresh for the batch's first calls
        self.sampler.active.add(self)
        if self.tail is not None:
            self.previous = getattr(_local, "buffer", None)
            _local.buffer = self.tail
        return self

    def __exit__(self, *exc: object) -> None:
        self.sampler.active.discard(self)
        if self.tail is not None:
            _local.buffer = self.previous

    def start(self) -> None:
        """Begin recording a call (inside ``with``, on the batch's thread)."""
        if self.tail is not None:
            self.tail.clear()
        if self._stale:  # memory the last call held may be free again now
            self.sampler.latest = self.sampler.rss()
            self._stale = False
        self.peak = self.sampler.latest
        self.serial += 1
        self.cpu, self.high = _usage()
        self.start_time = time.time()
        self.wall = time.perf_counter()

    def finish(self, index: int) -> None:
        """End the recording of call ``index``; add it to :attr:`measured`."""
        seconds = time.perf_counter() - self.wall
        cpu, high = _usage()
        self.serial += 1
        measured, tail = self.measured, self.tail
        if tail is not None and (tail.size or tail.cut):
            measured.outputs[index] = tail.text()
        peak = high if high > self.high else self.peak
        self._stale = seconds >= _FAST  # long enough to have been sampled
        measured.calls.append(index)
        measured.numbers.extend((self.start_time, seconds, cpu - self.cpu, peak))


def where() -> Where:
    """Host, dask worker address, pid, SLURM job and worker memory limit (MB)."""
    worker: str | None = None
    limit: float | None = None
    try:
        from distributed import get_worker

        this = get_worker()
        worker = str(this.address)
        bytes_ = this.memory_manager.memory_limit
        limit = bytes_ / 1e6 if bytes_ else None
    except ValueError:  # not on a dask worker
        pass
    job = os.environ.get("SLURM_JOB_ID")
    return socket.gethostname(), worker, os.getpid(), job, limit


def capture_limit() -> int | None:
    """Characters of output kept per call (``acme.capture.max-chars``); None: off.

    ``acme.capture: false`` turns capturing off.
    """
    setting = config.get("capture")
    if setting is None or setting is False:
        return None
    value: Any = setting.get("max-chars") if isinstance(setting, dict) else setting
    if isinstance(value, bool) or not is_integral(value) or int(value) < 0:
        allowed = "false or a mapping with `max-chars`, an integer >= 0"
        raise AcmeValueError(must_be("config `acme.capture`", allowed, setting))
    return int(value)
