"""Keywords of ``slurm_cluster_setup`` -> validated values.

The only cluster code that compares against ``"auto"``.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._checks import as_bool, as_int, as_mem_mb, type_of
from ..errors import AcmeTypeError, AcmeValueError

__all__ = ["JobExtra", "MemoryRequest", "check_job_extra", "check_memory", "is_auto"]

_ESTIMATE = re.compile(r"^estimate_memuse:(\d+(?:\.\d+)?)$")


@dataclass(frozen=True, slots=True)
class MemoryRequest:
    """Requested memory per worker in MB (None: derive it) and the estimate in GB."""

    mb: int | None
    estimated_gb: int | None = None


@dataclass(frozen=True, slots=True)
class JobExtra:
    """Validated ``job_extra`` (a copy) and the ``--output`` folder, if any."""

    options: list[str]
    output_dir: Path | None


def is_auto(value: Any) -> bool:
    """Whether a keyword has ACME's ``"auto"`` value.

    >>> is_auto("auto"), is_auto("8GBS")
    (True, False)
    """
    return isinstance(value, str) and value == "auto"


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
        raise AcmeTypeError(
            "`mem_per_worker` has to be a valid memory specifier (e.g., '8GB', "
            f"'12000MB'), not {type_of(value)}"
        )
    return MemoryRequest(math.ceil(as_mem_mb(value, "mem_per_worker")))


def check_flags(**flags: Any) -> None:
    """Step 8: Boolean keywords."""
    for name, value in flags.items():
        as_bool(value, f"`{name}` has to be Boolean, not {{type}}")


def check_counts(lower_bounds: dict[str, tuple[Any, int]]) -> dict[str, int]:
    """Integer keywords with their lower bounds."""
    return {name: as_int(value, name, lo) for name, (value, lo) in lower_bounds.items()}


def check_job_extra(job_extra: Any) -> JobExtra:
    """Step 9: a list of sbatch options; ``--output=<path>`` in an existing folder."""
    if job_extra is None:
        return JobExtra([], None)
    if not isinstance(job_extra, list):
        raise AcmeTypeError(f"`job_extra` has to be a list, not {type_of(job_extra)}")
    output_dir = None
    for option in job_extra:
        if not isinstance(option, str):
            raise AcmeTypeError(
                f"`job_extra` has to be a valid sbatch option, not {type_of(option)}"
            )
        if not option.startswith("-"):
            raise AcmeValueError("`job_extra` options must be flagged with - or --")
        if option.split("=")[0].split()[0] in ("-o", "--output"):
            output_dir = _output_folder(option)
    return JobExtra(list(job_extra), output_dir)


def _output_folder(option: str) -> Path:
    if not option.startswith("--output="):
        raise AcmeValueError(
            "SLURM output directory must be specified using -o/--output=/path/to/file, "
            f"not {option}"
        )
    folder = Path(os.path.expanduser(option.split("=", 1)[1])).parent
    if not folder.is_dir():
        raise AcmeValueError(
            f"SLURM output location has to be an existing directory, not {folder}"
        )
    return folder
