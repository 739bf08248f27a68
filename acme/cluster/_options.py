"""Set-up keywords -> frozen, typed :class:`SlurmOptions` / :class:`LocalOptions`.

The only cluster code that compares against ``"auto"``. What needs SLURM's facts
(the memory cap, ``partition="auto"``) is resolved when the cluster starts.
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

from .._checks import as_int, as_mem_mb, must_be
from ..errors import AcmeTypeError, AcmeValueError
from ._jobscript import check_script_keywords, check_text
from ._resources import check_partition

__all__ = [
    "JobExtra",
    "LocalOptions",
    "MemoryRequest",
    "SlurmOptions",
    "check_memory",
    "is_auto",
    "local_options",
    "slurm_options",
]

_ESTIMATE = re.compile(r"^estimate_memuse:(\d+(?:\.\d+)?)$")
_MEMORY = "a valid memory specifier (e.g., '8GB', '12000MB')"


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


def is_auto(value: Any) -> bool:
    """Whether a keyword has ACME's ``"auto"`` value."""
    return isinstance(value, str) and value == "auto"


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise AcmeTypeError(must_be(f"`{name}`", "Boolean", value, show_type=True))
    return value


def _arguments(value: Any) -> tuple[str, ...] | None:
    """``worker_extra_args``: None or a list of strings."""
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, str) for v in value
    ):
        allowed = "`None` or a list of strings"
        raise AcmeTypeError(
            must_be("`worker_extra_args`", allowed, value, show_type=True)
        )
    return tuple(value)


def _options_dict(value: Any) -> dict[str, Any] | None:
    """``scheduler_options``: None or a dict."""
    if value is None or isinstance(value, dict):
        return None if value is None else dict(value)
    allowed = "`None` or a dict of scheduler options"
    raise AcmeTypeError(must_be("`scheduler_options`", allowed, value, show_type=True))


def _count(kw: Mapping[str, Any], name: str, lo: int) -> int:
    return as_int(kw[name], name, lo)


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
        raise AcmeTypeError(must_be("`mem_per_worker`", _MEMORY, value, show_type=True))
    return MemoryRequest(math.ceil(as_mem_mb(value, "mem_per_worker")))


def check_job_extra(job_extra: Any) -> JobExtra:
    """Step 9: sbatch options (printable); ``--output=<path>`` in an existing folder."""
    if job_extra is None:
        return JobExtra()
    if not isinstance(job_extra, list):
        raise AcmeTypeError(must_be("`job_extra`", "a list", job_extra, show_type=True))
    output_dir = None
    for option in job_extra:
        if not isinstance(option, str):
            allowed = "a valid sbatch option"
            raise AcmeTypeError(must_be("`job_extra`", allowed, option, show_type=True))
        check_text(option, "job_extra")
        if not option.startswith("-"):
            raise AcmeValueError("`job_extra` options must be flagged with - or --")
        if option.split("=")[0].split()[0] in ("-o", "--output"):
            output_dir = _output_folder(option)
    return JobExtra(tuple(job_extra), output_dir)


def _output_folder(option: str) -> Path:
    if not option.startswith("--output="):
        raise AcmeValueError(
            "SLURM output directory must be specified using -o/--output=/path/to/file, "
            f"not {option}"
        )
    folder = Path(os.path.expanduser(option.split("=", 1)[1])).parent
    if not folder.is_dir():
        # not must_be: it would quote the path; users copy it as written
        raise AcmeValueError(
            f"SLURM output location has to be an existing directory, not {folder}"
        )
    return folder


def slurm_options(
    valid: Sequence[str], default: str | None, kw: Mapping[str, Any]
) -> SlurmOptions:
    """Steps 2-5 and 8-10 of ``slurm_cluster_setup`` on its keywords ``kw`` as given.

    ``kw["kwargs"]`` goes on to ``SLURMCluster``. The checks run in the order of
    the steps: Python evaluates keyword arguments from left to right.
    """
    check_script_keywords(kw)  # no control character in what reaches the job script
    worker_args, scheduler = kw["worker_extra_args"], kw["scheduler_options"]
    return SlurmOptions(
        partition=check_partition(None if is_auto(p := kw["partition"]) else p, valid),
        partitions=tuple(valid),
        default_partition=default,
        n_workers=_count(kw, "n_workers", 1),
        memory=check_memory(kw["mem_per_worker"]),
        n_cores=_count(kw, "n_cores", 1),
        n_workers_startup=_count(kw, "n_workers_startup", 0),
        mem_cushion=_count(kw, "mem_cushion", 0),
        timeout=_count(kw, "timeout", 0),
        interactive_wait=_count(kw, "interactive_wait", 0),
        interactive=_flag(kw["interactive"], "interactive"),
        start_client=_flag(kw["start_client"], "start_client"),
        job_extra=check_job_extra(kw["job_extra"]),
        processes_per_worker=_count(kw, "processes_per_worker", 1),
        worker_extra_args=_arguments(worker_args),
        scheduler_options=_options_dict(scheduler),
        extra=dict(kw["kwargs"]),
    )


def local_options(
    n_workers: Any, mem_per_worker: Any, interactive: Any
) -> LocalOptions:
    """``local_cluster_setup``'s step 1."""
    interactive = _flag(interactive, "interactive")
    if n_workers is not None:
        n_workers = as_int(n_workers, "n_workers", 1)
    if mem_per_worker is not None:
        allowed = "`None` or a memory string such as '2GB'"
        if not isinstance(mem_per_worker, str):
            shown = must_be("`mem_per_worker`", allowed, mem_per_worker, show_type=True)
            raise AcmeTypeError(shown)
        try:
            parse_bytes(mem_per_worker)
        except ValueError as exc:
            shown = must_be("`mem_per_worker`", allowed, mem_per_worker)
            raise AcmeValueError(shown) from exc
    return LocalOptions(n_workers, mem_per_worker, interactive)
