"""``slurm_cluster_setup`` and :func:`_start_slurm`, the one start of SLURM workers.

``_start_slurm`` (for the sites' set-up and ParallelMap too) resolves partition and
memory per worker, maps the options onto ``SLURMCluster`` in one function
(``_jobscript._cluster_kwargs``), scales the cluster and waits for the workers.
Once the cluster exists, any failure (Ctrl-C included) closes it, cancelling its jobs.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

from .._logging import ensure_configured, get_logger
from ..errors import AcmeTypeError
from ._jobs import all_jobs
from ._jobscript import _cluster_kwargs
from ._options import SlurmOptions, slurm_options
from ._resources import available_partitions, pick_partition, worker_memory
from ._wait import wait_for_workers

if TYPE_CHECKING:
    from dask_jobqueue.slurm import SLURMCluster
    from distributed import Client

__all__ = ["SlurmStart", "_start_slurm", "slurm_cluster_setup"]

logger = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SlurmStart:
    """A started ``SLURMCluster``, its client (if asked for) and what was resolved."""

    cluster: SLURMCluster
    client: Client | None
    partition: str
    memory_mb: int


def _slurm_cluster_class() -> Any:
    """``SLURMCluster``, imported without letting dask-jobqueue take over Ctrl-C.

    Importing dask_jobqueue replaces the process's SIGINT handler with
    ``sys.exit`` (its ``runner`` module does so at import); acme puts the
    caller's handler back, so Ctrl-C keeps raising KeyboardInterrupt.
    """
    previous = signal.getsignal(signal.SIGINT)
    from dask_jobqueue.slurm import SLURMCluster  # lazy: heavy, and see above

    if previous is not None and signal.getsignal(signal.SIGINT) is not previous:
        signal.signal(signal.SIGINT, previous)
    return SLURMCluster


def _start_slurm(options: SlurmOptions) -> SlurmStart | None:
    """Resolve partition and memory, submit the worker jobs and wait (step 12).

    Returns None when the user aborted at a prompt.
    """
    from distributed import Client  # lazy: import acme must not import distributed

    partition = options.partition or pick_partition(
        options.partitions,
        options.default_partition,
        options.memory.estimated_gb,
        options.n_cores,
    )
    memory_mb = worker_memory(
        partition, options.memory.mb, options.n_cores, options.mem_cushion
    )
    kwargs = _cluster_kwargs(options, partition, memory_mb)
    try:
        cluster = _slurm_cluster_class()(**kwargs)
    except ValueError as exc:
        # dask-jobqueue reports an unknown keyword as ValueError
        if "unexpected keyword" not in str(exc):
            raise
        raise AcmeTypeError(f"<slurm_cluster_setup> {exc}") from exc
    try:  # from here on, whatever fails (Ctrl-C too) cancels the jobs
        cluster.scale(options.n_workers)
        if not wait_for_workers(cluster, options):
            cluster.close()
            return None
        logger.info(
            "Parallel computing client ready, dashboard accessible at %s",
            cluster.dashboard_link,
        )
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


# the overloads differ only in start_client and the return type
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
    n_cores : int
        CPU cores per worker job (``cores_per_worker`` is accepted as an alias).
    n_workers : int
        Number of worker jobs to submit.
    processes_per_worker : int
        Dask worker processes per job.
    mem_per_worker : str, optional
        Memory per worker, ``"<n>MB"``/``"<n>GB"``; None or "auto" derives it from
        the partition.
    n_workers_startup : int
        Workers that must be live before the function returns.
    timeout : int
        Seconds to wait for ``n_workers_startup`` workers.
    interactive : bool
        Ask what to do when the time-out expires (only on a terminal).
    interactive_wait : int
        Seconds the time-out question waits before taking its default.
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
        Passed to ``SLURMCluster`` (e.g. ``walltime``, ``account``, ``job_name``:
        the jobs' name, by default ``acme-worker``).

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
