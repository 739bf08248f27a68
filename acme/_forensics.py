"""What happened to the SLURM jobs behind failed calls (for ``ComputationError``).

Building the report never raises: every lookup that fails is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .cluster._slurm_info import job_state

__all__ = ["dead_worker_job", "slurm_report"]

_MEMORY_MARKERS = ("exceeded memory limit", "oom-kill", "out of memory")


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


def all_jobs(cluster: Any) -> list[str]:
    """Job ids of every worker job the cluster submitted."""
    try:
        ids = (getattr(job, "job_id", None) for job in cluster.workers.values())
        return [str(i) for i in ids if i]
    except Exception:  # a report must never fail
        return []


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


def slurm_report(jobs: Iterable[str]) -> list[str]:
    """One line per job: its state and output file, plus ``*.err`` files beside it."""
    lines = []
    for job_id in sorted(set(jobs), key=lambda j: int(j) if j.isdigit() else 0):
        try:
            fields = job_state(job_id)
            output = _output_file(fields, job_id)
            line = f"SLURM job {job_id}: {_verdict(fields, output)}"
            if output is not None:
                line += f"; output file {output}"
                errors = (
                    sorted(output.parent.glob("*.err"))
                    if output.parent.is_dir()
                    else []
                )
                line += "".join(
                    f"; {err}" for err in errors if re.search(job_id, err.name)
                )
            lines.append(line)
        except Exception:  # a report must never fail
            continue
    return lines
