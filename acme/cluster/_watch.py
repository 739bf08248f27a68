"""The SLURM jobs behind a running ``compute()``: which ended, how, and their
replacements.

One ``squeue`` for all of the user's jobs, at most once per
``acme.slurm.poll-interval`` seconds. A job of the cluster that SLURM no longer
lists, or lists in a final state, has ended: it is looked up once
(``scontrol show job`` and its output file), reported at INFO and, within the
budget ``acme.slurm.replacements-per-worker``, replaced by a new job, so the
number of workers asked for is kept while calls remain. A job killed for its
memory is not replaced: a job with the same memory would share its fate. Once
every job has ended and none is coming, no worker can come back, and
``compute()`` need not wait for the stall time-out.
"""

from __future__ import annotations

import re
import time
from typing import Any

from .. import config
from .._logging import get_logger
from ._jobs import JobEnd, job_end, job_names, job_number
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
    replacements_left : int
        Jobs that may still be submitted in place of ended ones.
    """

    def __init__(self, cluster: Any) -> None:
        self.cluster = cluster
        self.interval = float(config.get("slurm.poll-interval"))
        self.jobs: set[str] = set(job_names(cluster))
        self.ended: dict[str, str] = {}
        self.waiting = False
        self.target = len(getattr(cluster, "worker_spec", None) or {})
        per_worker = int(config.get("slurm.replacements-per-worker"))
        self.replacements_left = per_worker * self.target
        self._names = job_names(cluster)  # job id -> the cluster's worker name
        self._coming = 0  # replacements asked for that have no job id yet
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
        ended = bool(self.jobs) and self.jobs <= set(self.ended)
        return ended and not self._coming and not adaptive

    def poll(self) -> None:
        """Ask SLURM if the interval has passed; report and replace ended jobs."""
        now = time.monotonic()
        if self._polled is not None and now - self._polled < self.interval:
            return
        self._polled = now
        self._learn_jobs()
        states = job_states()
        if states is None:  # SLURM did not answer: nothing is concluded
            return
        live = {
            job: states[job]
            for job in self.jobs
            if job in states and states[job] not in _FINAL
        }
        self.waiting = self._coming > 0 or any(
            state in _WAITING for state in live.values()
        )
        for job in sorted(self.jobs - set(live) - set(self.ended), key=job_number):
            try:
                end = job_end(job)
            except Exception:  # the run goes on without the details
                end = JobEnd(f"SLURM job {job}", None)
            self.ended[job] = end.line
            logger.info("Worker job ended: %s", end.line)
            self._replace(job, end)

    def _learn_jobs(self) -> None:
        """Add the jobs the cluster submitted since the last poll."""
        names = job_names(self.cluster)
        new = set(names) - self.jobs
        self._coming = max(0, self._coming - len(new))
        self._names.update(names)
        self.jobs.update(names)

    def _replace(self, job: str, end: JobEnd) -> None:
        """Submit a job in place of the ended ``job`` if it may be replaced."""
        name = self._names.get(job)
        worker_spec = getattr(self.cluster, "worker_spec", None)
        if name is None or worker_spec is None or name not in worker_spec:
            return  # not one of the jobs asked for (or retired by the cluster)
        if end.end == "OUT_OF_MEMORY":
            logger.warning(
                "Not replacing SLURM job %s: it was killed for exceeding its memory, "
                "and a job with the same memory would be too; run again with more "
                "memory per worker (mem_per_worker, e.g. twice as much)",
                job,
            )
            return
        if self.replacements_left <= 0:
            logger.warning(
                "Not replacing SLURM job %s: the replacements allowed for this run "
                "(acme.slurm.replacements-per-worker = %s per worker) are used up",
                job,
                config.get("slurm.replacements-per-worker"),
            )
            return
        self.replacements_left -= 1
        self._coming += 1
        # under a new name the cluster closes the ended job and submits a new one
        worker_spec[self._new_name(name)] = worker_spec.pop(name)
        self.cluster.scale(jobs=self.target)
        logger.info(
            "Submitted a job in place of SLURM job %s (%d more replacements allowed)",
            job,
            self.replacements_left,
        )

    def _new_name(self, name: Any) -> str:
        """``<name>-r<k>``: replacement k of the job asked for as ``name``."""
        base = re.sub(r"-r\d+$", "", str(name))
        taken = {str(n) for n in (*self.cluster.worker_spec, *self.cluster.workers)}
        number = 1
        while f"{base}-r{number}" in taken:
            number += 1
        return f"{base}-r{number}"
