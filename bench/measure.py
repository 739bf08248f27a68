"""Measuring one run: wall time, peak RSS of the calling process, CPU of its tree.

Used by the harness process and by every interpreter it starts (including the
one with esi-acme installed), so it imports only the standard library and
psutil (a dependency of distributed).
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil

SLURM_COMMANDS = {"sinfo", "squeue", "sbatch", "scontrol", "srun", "scancel", "sacct"}

MB = 1024 * 1024

#: distributions whose versions are recorded with every result
VERSIONED = ("esi-acme", "dask", "distributed", "numpy", "h5py", "joblib")


@dataclass(frozen=True)
class Sample:
    """One timed run.

    Attributes
    ----------
    time_s : float
        Wall time of the run.
    rss_start_mb : float
        RSS of the calling process right before the run.
    rss_peak_mb : float
        Highest RSS of the calling process seen during the run (sampled).
    cpu_s : float
        User plus system CPU time of the calling process and its descendants
        (dask workers, loky workers) spent during the run.
    """

    time_s: float
    rss_start_mb: float
    rss_peak_mb: float
    cpu_s: float

    def to_json(self) -> dict[str, float]:
        """Return the sample as a JSON-ready dict, rounded."""
        return {key: round(value, 4) for key, value in asdict(self).items()}


class RssSampler:
    """Record the peak RSS of this process while a ``with`` block runs.

    A daemon thread reads the RSS every ``interval`` seconds, so short spikes
    between two readings can be missed; the start and end are always read.

    Parameters
    ----------
    interval : float
        Seconds between two readings.
    """

    def __init__(self, interval: float = 0.005) -> None:
        self._interval = interval
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.start_bytes = 0
        self.peak_bytes = 0

    def _read(self) -> int:
        rss = int(self._process.memory_info().rss)
        self.peak_bytes = max(self.peak_bytes, rss)
        return rss

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._read()

    def __enter__(self) -> RssSampler:
        self.start_bytes = self._read()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._read()


def tree_cpu_seconds(exclude: Collection[int] = ()) -> float:
    """Return the CPU time (user + system) of this process and its descendants.

    Parameters
    ----------
    exclude : collection of int
        Process ids whose whole subtree is left out (another implementation's
        interpreter, which idles meanwhile).

    Returns
    -------
    float
        Seconds; processes that end while they are read are skipped.
    """
    total = 0.0
    pending = [psutil.Process()]
    while pending:
        process = pending.pop()
        if process.pid in exclude:
            continue
        try:
            times = process.cpu_times()
            pending.extend(process.children())
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def measure(
    run: Callable[[], Any], exclude: Collection[int] = ()
) -> tuple[Any, Sample]:
    """Call ``run()`` once and measure it.

    Parameters
    ----------
    run : callable
        The work to time; its return value is passed on.
    exclude : collection of int
        Process ids left out of the CPU time (see `tree_cpu_seconds`).

    Returns
    -------
    tuple
        ``run()``'s return value and the `Sample`.
    """
    cpu_before = tree_cpu_seconds(exclude)
    with RssSampler() as rss:
        start = time.perf_counter()
        value = run()
        elapsed = time.perf_counter() - start
    cpu = tree_cpu_seconds(exclude) - cpu_before
    sample = Sample(elapsed, rss.start_bytes / MB, rss.peak_bytes / MB, cpu)
    return value, sample


def maxrss_mb() -> float:
    """Return the peak RSS of this process over its whole life, in MiB."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes
    return kib / (MB if sys.platform == "darwin" else 1024)


def children_cpu_seconds() -> float:
    """Return the CPU time of all waited-for descendants of this process."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def versions() -> dict[str, str]:
    """Return the versions of Python and the benchmarked packages here.

    ``acme`` is the version of the ``acme`` module this interpreter imports
    (this project or esi-acme, both install as the distribution
    ``esi-acme``); packages that are not installed are left out.
    """
    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found["acme" if name == "esi-acme" else name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def host() -> dict[str, Any]:
    """Describe the machine: CPU count, memory, platform."""
    return {
        "cpus": psutil.cpu_count(logical=True),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }


if __name__ == "__main__":  # the harness asks other interpreters this way
    import json

    print(json.dumps(versions()))


def path_without_slurm(folder: Path) -> str:
    """A ``PATH`` of symlinks to every command on ``PATH`` except SLURM's."""
    folder.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            target = Path(directory, name)
            link = folder / name
            hidden = name in SLURM_COMMANDS or link.exists()
            if hidden or not os.access(target, os.X_OK):
                continue
            link.symlink_to(target)
    return str(folder)
