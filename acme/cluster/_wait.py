"""Waiting for SLURM workers to start: a progress line, then the time-out rules.

At the time-out a terminal user chooses to keep waiting, abort or continue; without
a terminal the set-up continues with the live workers, or fails with none.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from typing import Any

from .. import config
from .._interactive import ask, is_interactive
from .._logging import get_logger
from ..errors import WorkerStartTimeoutError
from ._options import SlurmOptions

__all__ = ["wait_for_workers"]

logger = get_logger(__name__)
_ABORT = -1.0


def _live(cluster: Any) -> int:
    return len(cluster.scheduler_info.get("workers", {}))


def wait_for_workers(cluster: Any, options: SlurmOptions) -> bool:
    """Wait for ``n_workers_startup`` workers; False if the user aborted."""
    from tqdm.auto import tqdm  # lazy: only a set-up draws this bar

    deadline = time.monotonic() + options.timeout
    with tqdm(
        total=options.n_workers,
        desc=f"{cluster.name} SLURM workers ready",
        file=sys.stderr,
        bar_format="{desc}: {n}/{total} [{elapsed} elapsed{postfix}]",
    ) as bar:
        while True:
            live = _live(cluster)
            bar.n = live
            expires = datetime.now() + timedelta(seconds=deadline - time.monotonic())
            bar.set_postfix_str(f"time-out at {expires:%H:%M:%S}", refresh=False)
            bar.refresh()
            if live >= options.n_workers_startup:
                return True
            if time.monotonic() < deadline:
                time.sleep(0.25)
                continue
            extra = _timed_out(cluster, live, options)
            if extra is None:
                return live > 0
            if extra == _ABORT:
                return False
            deadline = time.monotonic() + extra


def _timed_out(cluster: Any, live: int, options: SlurmOptions) -> float | None:
    """What to do at the time-out: seconds to keep waiting, _ABORT, None continue."""
    if not is_interactive(options.interactive):
        if live > 0:
            logger.warning(
                "Only %d of %d SLURM workers started within %d seconds; continuing",
                live,
                options.n_workers,
                options.timeout,
            )
            return None
        cluster.close()
        raise WorkerStartTimeoutError(
            "<slurm_cluster_setup> SLURM workers could not be started within given "
            f"time-out interval of {options.timeout} seconds",
            available=0,
            expected=options.n_workers_startup,
            timeout=options.timeout,
        )
    keep = float(config.get("slurm.keep-waiting"))
    choices = {"k": keep, "a": _ABORT, "c": None}
    answer = ask(
        f"Do you want to [k]eep waiting for {keep:.0f}s, [a]bort or [c]ontinue with "
        f"{live} workers? ",
        lambda a: a if a in choices else None,
        "c",
        wait=options.interactive_wait,
    )
    if answer != "c" or live > 0:
        return choices[answer]
    answer = ask(
        "Cannot continue with 0 workers. "
        f"Do you want to [k]eep waiting for {keep:.0f}s or [a]bort? ",
        lambda a: a if a in ("k", "a") else None,
        "a",
        wait=keep,
    )
    return choices[answer]
