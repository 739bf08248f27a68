"""The SLURM jobs behind a cluster's workers: waiting for them to start, and
what became of them.

At the start-up time-out a terminal user chooses to keep waiting, abort or
continue; without a terminal the set-up continues with the live workers, or
fails with none. The report for a ``ComputationError`` never raises: every
lookup that fails is left out.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .. import config
from .._interactive import ask, is_interactive
from .._logging import get_logger
from ..errors import WorkerStartTimeoutError
from ._options import SlurmOptions
from ._slurm_info import parse_key_values, query

__all__ = [
    "JobEnd",
    "all_jobs",
    "dead_worker_job",
    "job_end",
    "job_names",
    "job_number",
    "slurm_report",
    "wait_for_workers",
]

logger = get_logger(__name__)
_MEMORY_MARKERS = ("exceeded memory limit", "oom-kill", "out of memory")
_ABORT = -1.0


def job_names(cluster: Any) -> dict[str, Any]:
    """Job id -> the cluster's name of its worker; {} for clusters without jobs."""
    try:
        workers = dict(getattr(cluster, "workers", None) or {})
        ids = {name: getattr(job, "job_id", None) for name, job in workers.items()}
        return {str(job_id): name for name, job_id in ids.items() if job_id}
    except Exception:  # a report must never fail
        return {}


def all_jobs(cluster: Any) -> list[str]:
    """Job ids of every worker job the cluster submitted (none for other clusters)."""
    return list(job_names(cluster))


def dead_worker_job(error: BaseException, cluster: Any) -> str | None:
    """SLURM job id of the worker a ``KilledWorker`` names, if known."""
    try:
        worker = getattr(error, "last_worker", None)
        name = getattr(worker, "name", None)
        job = cluster.workers.get(name) if cluster is not None else None
        job_id = getattr(job, "job_id", None)
        return str(job_id) if job_id else None
    except Exception:  # a report must never fail
        return None


def _job_state(job_id: str) -> dict[str, str]:
    """``scontrol show job`` fields of a job; empty when SLURM forgot it."""
    return parse_key_values(query(["scontrol", "-o", "show", "job", job_id]))


def _output_file(fields: dict[str, str], job_id: str) -> Path | None:
    path = fields.get("StdOut")
    if not path:
        return None
    return Path(path.replace("%j", job_id).replace("%A", job_id))


_MEANINGS = {
    "OUT_OF_MEMORY": "killed for exceeding its memory limit (--mem)",
    "CANCELLED": "cancelled (scancel or an administrator)",
    "TIMEOUT": "reached its time limit (walltime)",
    "NODE_FAIL": "its node failed",
    "PREEMPTED": "preempted by a job of higher priority",
    "COMPLETED": "its worker exited (as it does before the walltime)",
}


def _end(state: str, text: str) -> str | None:
    """How a job ended, from its SLURM state and its output file's slurmstepd lines.

    The output file comes first: a job killed for its memory or its time limit
    can be listed as CANCELLED, and SLURM forgets ended jobs.
    """
    if state == "OUT_OF_MEMORY" or any(marker in text for marker in _MEMORY_MARKERS):
        return "OUT_OF_MEMORY"
    if state == "COMPLETED":  # its worker exited; dask may have logged cancellations
        return state
    if state == "TIMEOUT" or "due to time limit" in text:
        return "TIMEOUT"
    if state == "PREEMPTED" or "due to preemption" in text:
        return "PREEMPTED"
    if state == "CANCELLED" or "cancelled" in text:
        return "CANCELLED"
    return state if state in _MEANINGS else None


@dataclass(frozen=True, slots=True)
class JobEnd:
    """What became of a job: ``end`` is its kind of end (e.g. ``OUT_OF_MEMORY``)."""

    line: str
    end: str | None


def _verdict(fields: dict[str, str], output: Path | None) -> tuple[str, str | None]:
    text = ""
    if output is not None and output.is_file():
        text = output.read_text(errors="replace")[-20000:].lower()
    state = fields.get("JobState", "")
    end = _end(state, text)
    shown = state or end or "unknown (SLURM no longer lists it)"
    exit_code = fields.get("ExitCode", "")
    if end is not None:
        code = f" (exit code {exit_code})" if exit_code else ""
        return f"{shown}: {_MEANINGS[end]}{code}", end
    reason = fields.get("Reason", "")
    return f"{shown} (reason {reason}, exit code {exit_code})", None


def job_end(job_id: str) -> JobEnd:
    """``SLURM job <id>: <state and meaning>; output file <path>`` (may raise)."""
    fields = _job_state(job_id)
    output = _output_file(fields, job_id)
    verdict, end = _verdict(fields, output)
    line = f"SLURM job {job_id}: {verdict}"
    if output is None:
        return JobEnd(line, end)
    errors = sorted(output.parent.glob("*.err")) if output.parent.is_dir() else []
    line += f"; output file {output}" + "".join(
        f"; {err}" for err in errors if re.search(job_id, err.name)
    )
    return JobEnd(line, end)


def job_number(job_id: str) -> int:
    """Sort key of job ids: numerically (0 for an id that is not a number)."""
    return int(job_id) if job_id.isdigit() else 0


def slurm_report(jobs: Iterable[str]) -> list[str]:
    """One line per job: its state and output file, plus ``*.err`` files beside it."""
    lines = []
    for job_id in sorted(set(jobs), key=job_number):
        try:
            lines.append(job_end(job_id).line)
        except Exception:  # a report must never fail
            continue
    return lines


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
            live = len(cluster.scheduler_info.get("workers", {}))
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
