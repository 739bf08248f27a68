"""Set-up keywords -> frozen :class:`SlurmOptions` / :class:`LocalOptions`; the only
cluster code comparing to ``"auto"``. Strings that reach the job script must be
printable: dask-jobqueue writes them verbatim (a newline would start a shell line).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dask.utils import parse_bytes

from .._checks import as_flag, as_int, as_mem_mb, is_auto, must_be, wrong_type
from ..errors import AcmeValueError
from ._resources import check_partition

__all__ = [
    "JobExtra",
    "LocalOptions",
    "MemoryRequest",
    "SlurmOptions",
    "check_job_extra",
    "check_memory",
    "check_text",
    "local_options",
    "slurm_options",
]

_ESTIMATE = re.compile(r"^estimate_memuse:(\d+(?:\.\d+)?)$")
_NO_CONTROL = "free of control characters (they are not allowed in a SLURM job script)"


@dataclass(frozen=True, slots=True)
class MemoryRequest:
    """Requested memory per worker in MB (None: derive it) and the estimate in GB."""

    mb: int | None
    estimated_gb: int | None = None


@dataclass(frozen=True, slots=True)
class JobExtra:
    """Validated ``job_extra`` (a copy) and the ``--output`` folder, if any."""

    options: tuple[str, ...] = ()
    output_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class SlurmOptions:
    """Validated SLURM set-up; ``partition`` None picks one when the cluster starts."""

    partition: str | None
    partitions: tuple[str, ...]  # the valid ones
    default_partition: str | None
    n_workers: int
    memory: MemoryRequest = MemoryRequest(None)
    n_cores: int = 1
    processes_per_worker: int = 1
    n_workers_startup: int = 1
    timeout: int = 60
    interactive: bool = False
    interactive_wait: int = 120
    start_client: bool = True
    job_extra: JobExtra = JobExtra()
    worker_extra_args: tuple[str, ...] | None = None
    scheduler_options: Mapping[str, Any] | None = None
    mem_cushion: int = 100
    extra: Mapping[str, Any] = field(default_factory=dict)  # more SLURMCluster kwargs


@dataclass(frozen=True, slots=True)
class LocalOptions:
    """Validated ``local_cluster_setup`` keywords."""

    n_workers: int | None
    memory_limit: str | None
    interactive: bool


def check_text(value: Any, name: str) -> None:
    """Refuse a string, or a string in a list or tuple, with a control character."""
    for item in value if isinstance(value, list | tuple) else (value,):
        if isinstance(item, str) and not item.isprintable():
            raise AcmeValueError(must_be(f"`{name}`", _NO_CONTROL, item))


def _strings(value: Any, name: str) -> tuple[str, ...] | None:
    """None, or a list or tuple of strings (as a tuple)."""
    strings = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
    if value is not None and not strings:
        raise wrong_type(name, "`None` or a list of strings", value)
    return None if value is None else tuple(value)


def check_memory(value: Any) -> MemoryRequest:
    """Step 4: None/"auto", ``"estimate_memuse:<N>"`` or ``"<n>MB"``/``"<n>GB"``.

    >>> check_memory("2GB"), check_memory("estimate_memuse:3")
    (MemoryRequest(mb=2000, estimated_gb=None), MemoryRequest(mb=3072, estimated_gb=3))
    """
    if value is None or is_auto(value):
        return MemoryRequest(None)
    if isinstance(value, str) and (match := _ESTIMATE.match(value)):
        gigabytes = max(1, math.ceil(float(match.group(1))))
        return MemoryRequest(gigabytes * 1024, gigabytes)
    if not isinstance(value, str):
        allowed = "a valid memory specifier (e.g., '8GB', '12000MB')"
        raise wrong_type("mem_per_worker", allowed, value)
    return MemoryRequest(math.ceil(as_mem_mb(value, "mem_per_worker")))


def check_job_extra(job_extra: Any) -> JobExtra:
    """Step 9: sbatch options (printable); ``--output=<path>`` in an existing folder."""
    if job_extra is None:
        return JobExtra()
    if not isinstance(job_extra, list):
        raise wrong_type("job_extra", "a list", job_extra)
    folder: Path | None = None
    for option in job_extra:
        if not isinstance(option, str):
            raise wrong_type("job_extra", "a valid sbatch option", option)
        check_text(option, "job_extra")
        if not option.startswith("-"):
            raise AcmeValueError("`job_extra` options must be flagged with - or --")
        if option.split("=")[0].split()[0] not in ("-o", "--output"):
            continue
        if not option.startswith("--output="):
            raise AcmeValueError(
                "SLURM output directory must be specified using "
                f"-o/--output=/path/to/file, not {option}"
            )
        folder = Path(os.path.expanduser(option.split("=", 1)[1])).parent
        if not folder.is_dir():
            # not must_be: it would quote the path; users copy it as written
            raise AcmeValueError(
                f"SLURM output location has to be an existing directory, not {folder}"
            )
    return JobExtra(tuple(job_extra), folder)


def _scheduler_options(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return None if value is None else dict(value)
    allowed = "`None` or a dict of scheduler options"
    raise wrong_type("scheduler_options", allowed, value)


def slurm_options(
    valid: Sequence[str], default: str | None, kw: Mapping[str, Any]
) -> SlurmOptions:
    """Steps 2-5 and 8-10 of ``slurm_cluster_setup`` on its keywords ``kw`` as given,
    in the steps' order (keyword arguments are evaluated from left to right).
    """
    for name in ("partition", "worker_extra_args"):  # what reaches the job script
        check_text(kw[name], name)
    for key, value in kw["kwargs"].items():
        check_text(value, key)
    partition, processes = kw["partition"], "processes_per_worker"
    return SlurmOptions(
        partition=check_partition(None if is_auto(partition) else partition, valid),
        partitions=tuple(valid),
        default_partition=default,
        n_workers=as_int(kw["n_workers"], "n_workers", 1),
        memory=check_memory(kw["mem_per_worker"]),
        n_cores=as_int(kw["n_cores"], "n_cores", 1),
        n_workers_startup=as_int(kw["n_workers_startup"], "n_workers_startup", 0),
        mem_cushion=as_int(kw["mem_cushion"], "mem_cushion", 0),
        timeout=as_int(kw["timeout"], "timeout", 0),
        interactive_wait=as_int(kw["interactive_wait"], "interactive_wait", 0),
        interactive=as_flag(kw["interactive"], "interactive", "Boolean"),
        start_client=as_flag(kw["start_client"], "start_client", "Boolean"),
        job_extra=check_job_extra(kw["job_extra"]),
        processes_per_worker=as_int(kw[processes], processes, 1),
        worker_extra_args=_strings(kw["worker_extra_args"], "worker_extra_args"),
        scheduler_options=_scheduler_options(kw["scheduler_options"]),
        extra=dict(kw["kwargs"]),
    )


def local_options(n_workers: Any, memory: Any, interactive: Any) -> LocalOptions:
    """``local_cluster_setup``'s keywords, checked (``memory``: ``mem_per_worker``)."""
    interactive = as_flag(interactive, "interactive", "Boolean")
    if n_workers is not None:
        n_workers = as_int(n_workers, "n_workers", 1)
    if memory is not None:
        allowed = "`None` or a memory string such as '2GB'"
        if not isinstance(memory, str):
            raise wrong_type("mem_per_worker", allowed, memory)
        try:
            parse_bytes(memory)
        except ValueError as exc:
            shown = must_be("`mem_per_worker`", allowed, memory)
            raise AcmeValueError(shown) from exc
    return LocalOptions(n_workers, memory, interactive)
