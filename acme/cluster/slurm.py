"""``slurm_cluster_setup``: SLURM workers through ``dask_jobqueue.SLURMCluster``.

Keywords are validated in the documented order, mapped onto
``SLURMCluster`` in one function (:func:`_cluster_kwargs`), and the set-up waits
until ``n_workers_startup`` workers are live.
"""

from __future__ import annotations

import signal
import socket
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from .. import config
from .._interactive import ask, is_interactive
from .._logging import ensure_configured, get_logger
from ..errors import AcmeTypeError, AcmeValueError, SlurmError, WorkerStartTimeoutError
from . import _slurm_info
from ._options import (
    JobExtra,
    MemoryRequest,
    check_counts,
    check_flags,
    check_job_extra,
    check_memory,
    is_auto,
)

__all__ = ["pick_partition", "slurm_cluster_setup"]

logger = get_logger(__name__)
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


def _available(avail: Sequence[str] | None) -> tuple[list[str], str | None]:
    """Step 1: the partitions, from ``sinfo`` unless given."""
    if avail is not None:
        names = list(avail)
        return names, names[0] if names else None
    try:
        return _slurm_info.partitions()
    except SlurmError as exc:
        raise SlurmError(
            f"Error fetching SLURM partition setup from node {socket.gethostname()}: "
            f"{exc.stderr or exc}",
            argv=exc.argv,
            returncode=exc.returncode,
            stderr=exc.stderr,
        ) from exc


def pick_partition(
    names: Sequence[str], default: str | None, need_gb: int, n_cores: int
) -> str:
    """The partition with the smallest per-worker memory of at least ``need_gb`` GiB.

    Falls back to the default partition when none fits or SLURM gives no data.
    """
    sizes = {}
    for name in names:
        info = _slurm_info.partition_info(name)
        per_cpu = info.def_mem_per_cpu * n_cores if info.def_mem_per_cpu else None
        size = info.max_mem_per_node or info.node_mem or per_cpu
        if size is not None and size >= need_gb * 1024:
            sizes[name] = size
    if sizes:
        chosen = min(sizes, key=lambda name: sizes[name])
        reason = f"smallest partition offering {sizes[chosen]} MB per worker"
    else:
        chosen = default or names[0]
        reason = "no partition is known to offer that much; using the default partition"
    logger.info(
        "Picked partition %s based on estimated memory consumption of %d GB (%s)",
        chosen,
        need_gb,
        reason,
    )
    return chosen


def _check_partition(
    partition: Any,
    names: list[str],
    default: str | None,
    invalid: Sequence[str] | None,
    mem_per_worker: Any,
    n_cores: Any,
) -> str:
    """Step 2."""
    valid = [name for name in names if name not in (invalid or ())]
    if is_auto(partition):
        request = check_memory(mem_per_worker)
        if request.estimated_gb is None:
            return default or valid[0]
        cores = n_cores if isinstance(n_cores, int) else 1
        return pick_partition(valid, default, request.estimated_gb, cores)
    if partition not in valid:
        raise AcmeValueError(
            f"Invalid partition selection {partition}, available SLURM partitions are "
            f"{valid}"
        )
    return str(partition)


def _memory(partition: str, request: MemoryRequest, n_cores: int, cushion: int) -> int:
    """Steps 6-7: the memory per worker in MB, capped by the partition."""
    info = _slurm_info.partition_info(partition)
    cap = info.cap_mb(n_cores)
    cap = cap - cushion if cap is not None else None
    if request.mb is None:
        if cap is not None:
            return cap
        if info.def_mem_per_cpu is not None:
            return info.def_mem_per_cpu * n_cores - cushion
        default = config.get("slurm.default-mem-per-core")
        return int(check_memory(default).mb or 1000) * n_cores
    if cap is not None and request.mb > cap:
        logger.warning(
            "Requested %d MB per worker exceed the %d MB available in partition %s; "
            "using %d MB",
            request.mb,
            cap,
            partition,
            cap,
        )
        return cap
    return request.mb


def _cluster_kwargs(
    partition: str,
    n_cores: int,
    memory_mb: int,
    processes: int,
    job_extra: JobExtra,
    worker_extra_args: Any,
    scheduler_options: Any,
    kwargs: dict[str, Any],
) -> dict[str, Any]:
    """Step 11: acme's options -> ``SLURMCluster`` keywords (the one mapping)."""
    for key in kwargs:
        if key in _MAPPED:
            raise AcmeTypeError(f"`{key}` is set by acme; use `{_MAPPED[key]}` instead")
    options: dict[str, Any] = {
        "cores": n_cores,
        "job_cpu": n_cores,
        "memory": f"{memory_mb}MB",
        # exact --mem in SLURM's MB; dask-jobqueue would round it up to whole GB
        "job_mem": f"{memory_mb}M",
        "processes": processes,
        "queue": partition,
        "python": sys.executable,
        "job_extra_directives": job_extra.options,
    }
    if job_extra.output_dir is not None:
        options["local_directory"] = str(job_extra.output_dir)
    if "walltime" not in kwargs:
        # no time limit unless asked for (dask-jobqueue's default is 30 minutes)
        skip = list(kwargs.pop("job_directives_skip", None) or [])
        options["job_directives_skip"] = [*skip, "#SBATCH -t "]
    if worker_extra_args is not None:
        options["worker_extra_args"] = list(worker_extra_args)
    if scheduler_options is not None:
        options["scheduler_options"] = dict(scheduler_options)
    return {**options, **kwargs}


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
) -> Any:
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
        Passed to ``SLURMCluster`` (e.g. ``walltime``, ``account``).

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
    names, default = _available(avail_partitions)
    partition = _check_partition(
        partition, names, default, invalid_partitions, mem_per_worker, n_cores
    )
    counts = check_counts({"n_workers": (n_workers, 1)})
    request = check_memory(mem_per_worker)
    counts |= check_counts(
        {
            "n_cores": (n_cores, 1),
            "n_workers_startup": (n_workers_startup, 0),
            "mem_cushion": (mem_cushion, 0),
        }
    )
    memory = _memory(partition, request, counts["n_cores"], counts["mem_cushion"])
    counts |= check_counts(
        {"timeout": (timeout, 0), "interactive_wait": (interactive_wait, 0)}
    )
    check_flags(interactive=interactive, start_client=start_client)
    extra = check_job_extra(job_extra)
    counts |= check_counts({"processes_per_worker": (processes_per_worker, 1)})
    options = _cluster_kwargs(
        partition,
        counts["n_cores"],
        memory,
        counts["processes_per_worker"],
        extra,
        worker_extra_args,
        scheduler_options,
        kwargs,
    )
    return _start(options, counts, is_interactive(interactive), start_client)


def _start(
    options: dict[str, Any],
    counts: dict[str, int],
    interactive: bool,
    start_client: bool,
) -> Any:
    from distributed import Client

    try:
        cluster = _slurm_cluster_class()(**options)
    except ValueError as exc:
        # dask-jobqueue reports an unknown keyword as ValueError
        if "unexpected keyword" not in str(exc):
            raise
        raise AcmeTypeError(f"<slurm_cluster_setup> {exc}") from exc
    try:
        cluster.scale(counts["n_workers"])
        ready = _wait(cluster, counts, interactive)
    except BaseException:
        cluster.close()
        raise
    if not ready:
        cluster.close()
        return None
    logger.info(
        "Parallel computing client ready, dashboard accessible at %s",
        cluster.dashboard_link,
    )
    return Client(cluster) if start_client else cluster


def _slurm_cluster_class() -> Any:
    """``SLURMCluster``, imported without letting dask-jobqueue take over Ctrl-C.

    Importing dask_jobqueue replaces the process's SIGINT handler with
    ``sys.exit`` (its ``runner`` module does so at import); acme puts the
    caller's handler back, so Ctrl-C keeps raising KeyboardInterrupt.
    """
    previous = signal.getsignal(signal.SIGINT)
    from dask_jobqueue.slurm import SLURMCluster

    if previous is not None and signal.getsignal(signal.SIGINT) is not previous:
        signal.signal(signal.SIGINT, previous)
    return SLURMCluster


def _live(cluster: Any) -> int:
    return len(cluster.scheduler_info.get("workers", {}))


def _wait(cluster: Any, counts: dict[str, int], interactive: bool) -> bool:
    """Wait for ``n_workers_startup`` workers; False if aborted."""
    from tqdm.auto import tqdm

    wanted, total = counts["n_workers_startup"], counts["n_workers"]
    deadline = time.monotonic() + counts["timeout"]
    with tqdm(
        total=total,
        desc=f"{cluster.name} SLURM workers ready",
        file=sys.stderr,
        bar_format="{desc}: {n}/{total} [{elapsed} elapsed{postfix}]",
    ) as bar:
        while True:
            live = _live(cluster)
            bar.n = live
            expires = datetime.now() + timedelta(seconds=deadline - time.monotonic())
            bar.set_postfix_str(f"time-out at {expires:%H:%M:%S}", refresh=False)
            bar.refresh()
            if live >= wanted:
                return True
            if time.monotonic() < deadline:
                time.sleep(0.25)
                continue
            extra = _timed_out(cluster, live, counts, interactive)
            if extra is None:
                return live > 0
            if extra < 0:
                return False
            deadline = time.monotonic() + extra


def _timed_out(
    cluster: Any, live: int, counts: dict[str, int], interactive: bool
) -> float | None:
    """What to do at the time-out: seconds to keep waiting, -1 abort, None continue."""
    keep = float(config.get("slurm.keep-waiting"))
    if not interactive:
        if live > 0:
            logger.warning(
                "Only %d of %d SLURM workers started within %d seconds; continuing",
                live,
                counts["n_workers"],
                counts["timeout"],
            )
            return None
        cluster.close()
        raise WorkerStartTimeoutError(
            "<slurm_cluster_setup> SLURM workers could not be started within given "
            f"time-out interval of {counts['timeout']} seconds",
            available=0,
            expected=counts["n_workers_startup"],
            timeout=counts["timeout"],
        )
    choices = {"k": keep, "a": -1.0, "c": None}
    answer = ask(
        f"Do you want to [k]eep waiting for {keep:.0f}s, [a]bort or [c]ontinue with "
        f"{live} workers? ",
        lambda a: a if a in choices else None,
        "c",
        wait=counts["interactive_wait"],
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
