"""The SLURM jobs behind a cluster's workers: are any queued, and what became of them.

The report for a ``ComputationError`` never raises: every lookup that fails is
left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SlurmError
from . import _slurm_info
from ._slurm_info import QUERY_TIMEOUT, parse_key_values

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["all_jobs", "dead_worker_job", "jobs_pending", "slurm_report"]

_MEMORY_MARKERS = ("exceeded memory limit", "oom-kill", "out of memory")


def all_jobs(cluster: Any) -> list[str]:
    """Job ids of every worker job the cluster submitted (none for other clusters)."""
    try:
        workers = getattr(cluster, "workers", None) or {}
        ids = (getattr(job, "job_id", None) for job in workers.values())
        return [str(i) for i in ids if i]
    except Exception:  # a report must never fail
        return []


def _pending(job_ids: Sequence[str]) -> bool:
    """True if any of the jobs is still queued or being configured."""
    argv = ["squeue", "-h", "-o", "%T", "-j", ",".join(job_ids)]
    try:
        states = _slurm_info._run(argv, QUERY_TIMEOUT).split()
    except SlurmError:
        return False
    return any(state in ("PENDING", "CONFIGURING") for state in states)


def jobs_pending(client: Client) -> bool:
    """Whether a SLURM job of the client's cluster is queued or starting."""
    jobs = all_jobs(client.cluster)
    return bool(jobs) and _pending(jobs)


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
    argv = ["scontrol", "-o", "show", "job", job_id]
    try:
        return parse_key_values(_slurm_info._run(argv, QUERY_TIMEOUT))
    except SlurmError:
        return {}


def _output_file(fields: dict[str, str], job_id: str) -> Path | None:
    path = fields.get("StdOut")
    if not path:
        return None
    return Path(path.replace("%j", job_id).replace("%A", job_id))


def _verdict(fields: dict[str, str], output: Path | None) -> str:
    state = fields.get("JobState", "unknown (SLURM no longer lists it)")
    text = ""
    if output is not None and output.is_file():
        text = output.read_text(errors="replace")[-20000:].lower()
    if state == "OUT_OF_MEMORY" or any(m in text for m in _MEMORY_MARKERS):
        return f"{state}: killed for exceeding its memory limit (--mem)"
    if state == "CANCELLED" or "cancelled" in text:
        return f"{state}: cancelled (scancel or an administrator)"
    reason = fields.get("Reason", "")
    exit_code = fields.get("ExitCode", "")
    return f"{state} (reason {reason}, exit code {exit_code})"


def _job_line(job_id: str) -> str:
    fields = _job_state(job_id)
    output = _output_file(fields, job_id)
    line = f"SLURM job {job_id}: {_verdict(fields, output)}"
    if output is None:
        return line
    errors = sorted(output.parent.glob("*.err")) if output.parent.is_dir() else []
    return f"{line}; output file {output}" + "".join(
        f"; {err}" for err in errors if re.search(job_id, err.name)
    )


def slurm_report(jobs: Iterable[str]) -> list[str]:
    """One line per job: its state and output file, plus ``*.err`` files beside it."""
    lines = []
    for job_id in sorted(set(jobs), key=lambda j: int(j) if j.isdigit() else 0):
        try:
            lines.append(_job_line(job_id))
        except Exception:  # a report must never fail
            continue
    return lines
