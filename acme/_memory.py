"""Memory estimate for ``partition="auto"``.

A few randomly chosen calls each run in a child Python process on this host; the
resident memory of that process and its children is sampled once per second, and
the process is ended after ``acme.memory-estimate.max-seconds``. It never outlives
the estimate: it is killed with its children when the estimate ends in any way
(Ctrl-C, a Jupyter interrupt, which signals only the kernel), and it exits by
itself when its parent dies.
"""

from __future__ import annotations

import contextlib
import math
import pickle
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import config
from ._logging import get_logger
from .broadcast import CallArgs

__all__ = ["estimate_memory_gb"]

logger = get_logger(__name__)
# the caller's sys.path comes first, so that func's module can be imported; a
# thread ends the child when its parent is gone
_CHILD = (
    "import os, pickle, sys, threading, time\n"
    "def orphaned(parent=os.getppid()):\n"
    "    while os.getppid() == parent:\n"
    "        time.sleep(0.5)\n"
    "    os._exit(1)\n"
    "threading.Thread(target=orphaned, daemon=True).start()\n"
    "with open(sys.argv[1], 'rb') as stream:\n"
    "    sys.path[:] = pickle.load(stream)\n"
    "    import cloudpickle\n"
    "    func, args, kwargs = cloudpickle.load(stream)\n"
    "func(*args, **kwargs)\n"
)


def _peak_rss(process: subprocess.Popen[bytes], max_seconds: float) -> int:
    """Largest resident memory (bytes) of ``process`` and its children.

    The process (and what it started) is killed when it runs past
    ``max_seconds`` and whenever the sampling ends with an exception.
    """
    import psutil  # lazy: guaranteed by distributed, needed only here

    peak, waited = 0, 0.0
    watched = psutil.Process(process.pid)
    members: list[Any] = [watched]
    try:
        while waited < max_seconds:
            try:
                sampled = [watched, *watched.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in sampled))
                members = sampled
            except psutil.Error:
                pass
            try:
                process.wait(timeout=1.0)
                return peak
            except subprocess.TimeoutExpired:
                waited += 1.0
        return peak
    finally:
        _kill(process, members)


def _kill(process: subprocess.Popen[bytes], members: list[Any]) -> None:
    """End ``process`` and the children it had when last sampled."""
    import psutil  # lazy: see _peak_rss

    for member in reversed(members):  # the children first
        with contextlib.suppress(psutil.Error):
            member.kill()
    process.kill()  # a no-op once it exited
    process.wait()


def _profile(
    func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]
) -> int:
    import cloudpickle  # lazy: only the estimate pickles calls

    with tempfile.TemporaryDirectory(prefix="acme-memory-") as folder:
        payload = Path(folder) / "call.pickle"
        with payload.open("wb") as stream:
            pickle.dump(list(sys.path), stream)
            cloudpickle.dump((func, list(args), kwargs), stream)
        process = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(payload)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return _peak_rss(process, float(config.get("memory-estimate.max-seconds")))


def estimate_memory_gb(
    func: Callable[..., Any], name: str, call_args: CallArgs, task_id: bool
) -> int:
    """Whole GiB one call of ``func`` needs: the mean peak of a few calls, >= 1."""
    logger.info("Estimating memory footprint of %s", name)
    runs = min(call_args.n_calls, int(config.get("memory-estimate.max-runs")))
    peaks = []
    for index in random.sample(range(call_args.n_calls), runs):
        args, kwargs = call_args.for_call(index, call_args.shared)
        if task_id:
            kwargs["taskID"] = index
        peaks.append(_profile(func, args, kwargs))
    mean_gb = sum(peaks) / len(peaks) / 1024**3
    logger.info("Estimated memory consumption across %d runs is %.2f GB", runs, mean_gb)
    return max(1, math.ceil(mean_gb))
