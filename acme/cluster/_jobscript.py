"""What goes into the SLURM job script: acme's options -> ``SLURMCluster`` keywords.

Every string that reaches the script (an ``#SBATCH`` line or the worker's command
line) is refused when it holds a control character (anything that
``str.isprintable`` rejects, newline and carriage return included): dask-jobqueue
writes the values into the script verbatim, so a newline would start a shell line.
The worker jobs are named :data:`JOB_NAME` unless ``job_name`` is passed.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._checks import must_be
from ..errors import AcmeTypeError, AcmeValueError

if TYPE_CHECKING:
    from ._options import SlurmOptions

__all__ = ["JOB_NAME", "check_script_keywords", "check_text"]

#: SLURM job name of the worker jobs acme submits (``squeue --me --name=...``)
JOB_NAME = "acme-worker"
# SLURMCluster keywords acme sets itself -> the acme keyword to use instead
_MAPPED = {
    "cores": "n_cores",
    "job_cpu": "n_cores",
    "memory": "mem_per_worker",
    "job_mem": "mem_per_worker",
    "processes": "processes_per_worker",
    "queue": "partition",
    "job_extra_directives": "job_extra",
    "job_extra": "job_extra",
    "local_directory": "job_extra (--output=...)",
    "python": "(the running Python)",
    "n_workers": "n_workers",
}
# SLURMCluster keyword -> the acme keyword its value came from (for the messages)
_SOURCE = {
    "queue": "partition",
    "job_extra_directives": "job_extra",
    "local_directory": "job_extra",
}
_NO_CONTROL = "free of control characters (they are not allowed in a SLURM job script)"


def check_text(value: Any, name: str) -> None:
    """Refuse a string, or a string in a list or tuple, with a control character.

    >>> check_text(["--comment=x", "--begin=now"], "job_extra")
    >>> check_text("debug\\necho hi", "partition")
    Traceback (most recent call last):
    ...
    acme.errors.AcmeValueError: `partition` has to be free of control characters ...
    """
    items = value if isinstance(value, list | tuple) else (value,)
    for item in items:
        if isinstance(item, str) and not item.isprintable():
            raise AcmeValueError(must_be(f"`{name}`", _NO_CONTROL, item))


def check_script_keywords(kw: Mapping[str, Any]) -> None:
    """The strings of ``slurm_cluster_setup``'s keywords ``kw`` that reach the script.

    ``job_extra`` is checked with its other rules (``check_job_extra``).
    """
    check_text(kw["partition"], "partition")
    check_text(kw["worker_extra_args"], "worker_extra_args")
    for key, value in kw["kwargs"].items():
        check_text(value, key)


def _cluster_kwargs(
    options: SlurmOptions, partition: str, memory_mb: int
) -> dict[str, Any]:
    """Step 11: acme's options -> ``SLURMCluster`` keywords (the one mapping)."""
    extra = dict(options.extra)
    for key in extra:
        if key in _MAPPED:
            raise AcmeTypeError(f"`{key}` is set by acme; use `{_MAPPED[key]}` instead")
    kwargs: dict[str, Any] = {
        "job_name": JOB_NAME,
        "cores": options.n_cores,
        "job_cpu": options.n_cores,
        "memory": f"{memory_mb}MB",
        # exact --mem in SLURM's MB; dask-jobqueue would round it up to whole GB
        "job_mem": f"{memory_mb}M",
        "processes": options.processes_per_worker,
        "queue": partition,
        "python": sys.executable,
        "job_extra_directives": list(options.job_extra.options),
    }
    if options.job_extra.output_dir is not None:
        kwargs["local_directory"] = str(options.job_extra.output_dir)
    if "walltime" not in extra:
        # no time limit unless asked for (dask-jobqueue's default is 30 minutes)
        skip = list(extra.pop("job_directives_skip", None) or [])
        kwargs["job_directives_skip"] = [*skip, "#SBATCH -t "]
    if options.worker_extra_args is not None:
        kwargs["worker_extra_args"] = list(options.worker_extra_args)
    if options.scheduler_options is not None:
        kwargs["scheduler_options"] = dict(options.scheduler_options)
    kwargs.update(extra)
    for key, value in kwargs.items():  # also what a site profile or ParallelMap set
        check_text(value, _SOURCE.get(key, key))
    return kwargs
