"""``slurm_cluster_setup`` and :func:`_start_slurm`, the one start of SLURM workers:
partition and memory, the one mapping onto ``SLURMCluster``, scale, wait. Once the
cluster exists, any failure (Ctrl-C included) closes it, cancelling its jobs.
The typed overloads of ACME's ``slurm_cluster_setup`` signature take it over
its 250-line guide.
"""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

from .._logging import ensure_configured, get_logger
from ..errors import AcmeTypeError
from . import _security
from ._jobs import all_jobs, wait_for_workers
from ._options import SlurmOptions, check_text, slurm_options
from ._resources import available_partitions, pick_partition, worker_args, worker_memory

if TYPE_CHECKING:
    from dask_jobqueue.slurm import SLURMCluster
    from distributed import Client

__all__ = ["JOB_NAME", "SlurmStart", "_start_slurm", "slurm_cluster_setup"]

logger = get_logger(__name__)
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


@dataclass(frozen=True, slots=True)
class SlurmStart:
    """A started ``SLURMCluster``, its client (if asked for) and what was resolved."""

    cluster: SLURMCluster
    client: Client | None
    partition: str
    memory_mb: int


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
    args = worker_args(options.worker_extra_args, extra.get("walltime"))
    if args is not None:
        kwargs["worker_extra_args"] = args
    if options.scheduler_options is not None:
        kwargs["scheduler_options"] = dict(options.scheduler_options)
    kwargs.update(extra)
    for key, value in kwargs.items():  # also what a site profile or ParallelMap set
        check_text(value, _SOURCE.get(key, key))
    return kwargs


def _slurm_cluster_class() -> Any:
    """``SLURMCluster``; the SIGINT handler (sys.exit) its import installs is undone."""
    previous = signal.getsignal(signal.SIGINT)
    from dask_jobqueue.slurm import SLURMCluster  # lazy: heavy, and see above

    if previous is not None and signal.getsignal(signal.SIGINT) is not previous:
        signal.signal(signal.SIGINT, previous)
    return SLURMCluster


def _new_cluster(kwargs: dict[str, Any]) -> SLURMCluster:
    try:
        cluster: SLURMCluster = _slurm_cluster_class()(**kwargs)
    except ValueError as exc:
        # dask-jobqueue reports an unknown keyword as ValueError
        if "unexpected keyword" not in str(exc):
            raise
        raise AcmeTypeError(f"<slurm_cluster_setup> {exc}") from exc
    return cluster


def _start_slurm(options: SlurmOptions) -> SlurmStart | None:
    """Resolve partition and memory, submit the jobs and wait; None: aborted."""
    from distributed import Client  # lazy: import acme must not import distributed

    memory, n_cores = options.memory, options.n_cores
    partition = options.partition or pick_partition(
        options.partitions, options.default_partition, memory, n_cores
    )
    memory_mb = worker_memory(partition, memory.mb, n_cores, options.mem_cushion)
    kwargs = _cluster_kwargs(options, partition, memory_mb)
    folder = None
    if "security" not in kwargs and "protocol" not in kwargs:  # else the user's
        kwargs["security"], folder = _security.cluster_security(on_slurm=True)
    try:
        cluster = _new_cluster(kwargs)
    except BaseException:
        _security.remove_credentials(folder)
        raise
    _security.keep_credentials(cluster, folder)
    try:  # from here on, whatever fails (Ctrl-C too) cancels the jobs
        cluster.scale(options.n_workers)
        if not wait_for_workers(cluster, options):
            cluster.close()
            return None
        logger.info(
            "Parallel computing client ready, dashboard accessible at %s",
            cluster.dashboard_link,
        )
        _security.tunnel_hint(cluster.dashboard_link)
        client = Client(cluster) if options.start_client else None
    except BaseException:
        _close(cluster)
        raise
    return SlurmStart(cluster, client, partition, memory_mb)


def _close(cluster: SLURMCluster) -> None:
    """Close a cluster whose start failed, cancelling its jobs; a failure is logged."""
    jobs = all_jobs(cluster)
    try:
        cluster.close()
    except Exception as exc:  # the error that got us here is the one to raise
        logger.warning(
            "Could not shut down the SLURM workers (%s); cancel them with `scancel %s`",
            exc,
            " ".join(jobs) or f"--user=$USER --name={cluster.job_name}",
        )


# fmt: off
@overload
def slurm_cluster_setup(
    partition: str = ..., n_cores: int = ..., n_workers: int = ...,
    processes_per_worker: int = ..., mem_per_worker: str | None = ...,
    n_workers_startup: int = ..., timeout: int = ..., interactive: bool = ...,
    interactive_wait: int = ..., start_client: Literal[True] = ...,
    job_extra: list[str] | None = ..., worker_extra_args: list[str] | None = ...,
    scheduler_options: dict[str, Any] | None = ...,
    avail_partitions: list[str] | None = ...,
    invalid_partitions: list[str] | None = ..., mem_cushion: int = ..., **kwargs: Any
) -> Client | None: ...
@overload
def slurm_cluster_setup(
    partition: str = ..., n_cores: int = ..., n_workers: int = ...,
    processes_per_worker: int = ..., mem_per_worker: str | None = ...,
    n_workers_startup: int = ..., timeout: int = ..., interactive: bool = ...,
    interactive_wait: int = ..., *, start_client: Literal[False],
    job_extra: list[str] | None = ..., worker_extra_args: list[str] | None = ...,
    scheduler_options: dict[str, Any] | None = ...,
    avail_partitions: list[str] | None = ...,
    invalid_partitions: list[str] | None = ..., mem_cushion: int = ..., **kwargs: Any
) -> SLURMCluster | None: ...
@overload
def slurm_cluster_setup(
    partition: str = ..., *, start_client: bool, **kwargs: Any
) -> Client | SLURMCluster | None: ...
# fmt: on


def slurm_cluster_setup(
    partition: str = "partition_name",
    n_cores: int = 1,
    n_workers: int = 1,
    processes_per_worker: int = 1,
    mem_per_worker: str | None = "1GB",
    n_workers_startup: int = 1,
    timeout: int = 60,
    interactive: bool = True,
    interactive_wait: int = 10,
    start_client: bool = True,
    job_extra: list[str] | None = None,
    worker_extra_args: list[str] | None = None,
    scheduler_options: dict[str, Any] | None = None,
    avail_partitions: list[str] | None = None,
    invalid_partitions: list[str] | None = None,
    mem_cushion: int = 100,
    **kwargs: Any,
) -> Client | SLURMCluster | None:
    """Start dask workers as SLURM jobs and (optionally) a client connected to them.

    Parameters
    ----------
    partition : str
        SLURM partition for the worker jobs, or "auto" (see the SLURM guide).
    n_cores, n_workers, processes_per_worker : int
        CPU cores per worker job (alias ``cores_per_worker``), worker jobs to
        submit, dask worker processes per job.
    mem_per_worker : str, optional
        ``"<n>MB"``/``"<n>GB"``; None or "auto" derives it from the partition.
    n_workers_startup, timeout : int
        Workers that must be live before the function returns, within ``timeout``
        seconds.
    interactive, interactive_wait : bool, int
        Ask what to do when the time-out expires (only on a terminal); seconds
        the question waits before taking its default.
    start_client : bool
        Return a ``Client`` (True) or the ``SLURMCluster`` (False).
    job_extra : list of str, optional
        Extra ``#SBATCH`` options; ``--output=<folder>/<file>`` also sets the
        workers' local directory.
    worker_extra_args, scheduler_options : optional
        Passed to ``SLURMCluster``.
    avail_partitions, invalid_partitions : list of str, optional
        Partitions to choose from instead of asking ``sinfo``; ones to refuse.
    mem_cushion : int
        MB kept free below the partition's memory cap.
    **kwargs
        Passed to ``SLURMCluster`` (``walltime``, ``account``, ...); ``job_name``
        defaults to ``acme-worker``.

    Returns
    -------
    distributed.Client or dask_jobqueue.SLURMCluster or None
        None if the user aborted at a prompt.

    Examples
    --------
    >>> client = slurm_cluster_setup(partition="8GBS", n_workers=4)  # doctest: +SKIP
    """
    ensure_configured()
    if "cores_per_worker" in kwargs:
        n_cores = kwargs.pop("cores_per_worker")
    valid, default = available_partitions(avail_partitions, invalid_partitions)
    options = slurm_options(valid, default, dict(locals()))
    started = _start_slurm(options)
    if started is None:
        return None
    return started.client if started.client is not None else started.cluster
