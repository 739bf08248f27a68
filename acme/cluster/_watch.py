"""The SLURM jobs behind a running ``compute()``: which ended, and how.

One ``squeue`` for all of the user's jobs, at most once per
``acme.slurm.poll-interval`` seconds. A job of the cluster that SLURM no longer
lists, or lists in a final state, has ended: it is looked up once
(``scontrol show job`` and its output file) and reported at INFO. Once every
job has ended, no worker can come back, and ``compute()`` need not wait for
the stall time-out.
"""

from __future__ import annotations

import time
from typing import Any

from .. import config
from .._logging import get_logger
from ._jobs import all_jobs, job_line, job_number
from ._slurm_info import job_states

__all__ = ["JobWatch"]

logger = get_logger(__name__)
_WAITING = {"PENDING", "CONFIGURING", "REQUEUED", "RESIZING", "SUSPENDED"}
_FINAL = {
    "BOOT_FAIL",
    "CANCELLED",
    "COMPLETED",
    "DEADLINE",
    "FAILED",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "TIMEOUT",
}


class JobWatch:
    """Throttled view of a SLURM cluster's worker jobs while calls run.

    Attributes
    ----------
    jobs : set of str
        Every job id the cluster has had since the watch began.
    ended : dict
        Job id -> report line (state, exit code, output file) of the ended ones.
    waiting : bool
        Whether a job was queued or starting at the last answer of SLURM.
    """

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.interval = float(config.get("slurm.poll-interval"))
        self.jobs: set[str] = set(all_jobs(cluster))
        self.ended: dict[str, str] = {}
        self.waiting = False
        self._polled: float | None = None

    @classmethod
    def of(cls, client: Any) -> JobWatch | None:
        """A watch of ``client``'s cluster if it runs SLURM jobs, else None."""
        watch = cls(getattr(client, "cluster", None))
        return watch if watch.jobs else None

    @property
    def all_ended(self) -> bool:
        """Whether every job has ended and none can follow (no adaptive scaling)."""
        adaptive = getattr(self.cluster, "_adaptive", None) is not None
        return bool(self.jobs) and self.jobs <= set(self.ended) and not adaptive

    def poll(self) -> None:
        """Ask SLURM if the interval has passed; report the jobs that ended."""
        now = time.monotonic()
        if self._polled is not None and now - self._polled < self.interval:
            return
        self._polled = now
        self.jobs.update(all_jobs(self.cluster))
        states = job_states()
        if states is None:  # SLURM did not answer: nothing is concluded
            return
        live = {
            job: states[job]
            for job in self.jobs
            if job in states and states[job] not in _FINAL
        }
        self.waiting = any(state in _WAITING for state in live.values())
        for job in sorted(self.jobs - set(live) - set(self.ended), key=job_number):
            try:
                line = job_line(job)
            except Exception:  # the run goes on without the details
                line = f"SLURM job {job}"
            self.ended[job] = line
            logger.info("Worker job ended: %s", line)
