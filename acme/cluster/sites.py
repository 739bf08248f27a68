"""``esi_cluster_setup`` / ``bic_cluster_setup``: site profiles over SLURM.

Both load their profile (``acme.sites.<name>`` in ``acme.yaml``: hostnames,
partition rules, log folders, ports) and call one shared function, which then
calls :func:`~acme.cluster.slurm.slurm_cluster_setup`.
"""

from __future__ import annotations

import getpass
import math
import platform
import re
import socket
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import config
from .._host import detect_site, get_free_port, get_interface
from .._interactive import ask_yes_no, is_interactive
from .._logging import ensure_configured, get_logger
from ..errors import AcmeValueError, SlurmError
from . import _slurm_info
from ._options import check_memory, is_auto
from .client import cluster_cleanup, find_client, live_workers
from .local import local_cluster_setup
from .slurm import slurm_cluster_setup

__all__ = ["bic_cluster_setup", "esi_cluster_setup", "is_bic_node", "is_esi_node"]

logger = get_logger(__name__)
_LEGACY = {
    "n_jobs": "n_workers",
    "mem_per_job": "mem_per_worker",
    "n_jobs_startup": "n_workers_startup",
    "workers_per_job": "processes_per_worker",
}
_GB_PARTITION = re.compile(r"^(\d+)GB")


def is_esi_node() -> bool:
    """True iff this host matches the ESI site profile (hostname, marker folder)."""
    return detect_site() == "esi"


def is_bic_node() -> bool:
    """True iff this host matches the CoBIC site profile (hostname, marker folder)."""
    return detect_site() == "bic"


def _existing(start_client: bool) -> Any:
    """Step 1: a default client with live workers, or None."""
    client = find_client()
    if client is None:
        return None
    if live_workers(client) == 0:
        cluster_cleanup(client)
        return None
    logger.info(
        "Found existing parallel computing client %s. Not starting new cluster.", client
    )
    return client if start_client else client.cluster


def _legacy(options: dict[str, Any], kwargs: dict[str, Any]) -> None:
    """Step 3: ACME's old keyword names, with a FutureWarning."""
    for old, new in _LEGACY.items():
        if old in kwargs:
            warnings.warn(
                f"`{old}` is deprecated, use `{new}` instead",
                FutureWarning,
                stacklevel=4,
            )
            target = options if new in options else kwargs
            target[new] = kwargs.pop(old)


def _auto_partition(profile: dict[str, Any], names: list[str], need_gb: int) -> str:
    """Step 4: the site's rule for ``partition="auto"``."""
    sizes = sorted({int(m.group(1)) for n in names if (m := _GB_PARTITION.match(n))})
    if not sizes:
        raise SlurmError("no <k>GB partitions found for automatic partition selection")
    best = min(sizes, key=lambda k: (abs(k - need_gb), -k))
    chosen = str(profile["auto-partition"][platform.machine()]).format(k=best)
    logger.warning("Automatic SLURM partition selection is experimental")
    logger.info(
        "Picked partition %s based on estimated memory consumption of %d GB",
        chosen,
        need_gb,
    )
    return chosen


def _check_architecture(profile: dict[str, Any], partition: str) -> None:
    """Step 5: the partition's architecture must match the submitting host's."""
    host = platform.machine()
    rules = profile["arch-rules"]
    needed = next(
        (r["arch"] for r in rules if r["match"] in partition), profile["default-arch"]
    )
    if needed is not None and needed != host:
        raise AcmeValueError(
            f"Cannot start SLURM workers in partition {partition} with architecture "
            f"{needed} from submitting host with architecture {host}. "
            f"{profile['arch-hint']}"
        )


def _cores(profile: dict[str, Any], memory_mb: int, def_mem: int | None) -> int:
    """Step 6: cores per worker derived from its memory."""
    if profile["cores-rule"] == "floor":
        return max(1, math.floor(memory_mb / max(1000, def_mem or 0)))
    return max(1, round(memory_mb / def_mem)) if def_mem else 1


def _log_option(profile: dict[str, Any], job_extra: list[str] | None) -> list[str]:
    """Step 7: ``--output`` into the site's SLURM log folder unless given."""
    options = list(job_extra or [])
    if any(o.split("=")[0].split()[0] in ("-o", "--output") for o in options):
        return options
    if not Path(profile["marker-dir"]).is_dir():
        # not on this site's file system: never create its folders here
        logger.warning(
            "%s does not exist on this host; SLURM writes the workers' output to "
            "its default location",
            profile["marker-dir"],
        )
        return options
    user, stamp = getpass.getuser(), f"{datetime.now():%Y%m%d-%H%M%S}"
    folder = Path(profile["slurm-log-dir"].format(user=user, timestamp=stamp))
    folder.mkdir(parents=True, exist_ok=True)
    return [*options, f"--output={folder}/slurm-%j.out"]


def _ports(profile: dict[str, Any], kwargs: dict[str, Any]) -> int | None:
    """Step 8: pin scheduler and worker ports where the site needs it."""
    marker = profile.get("port-marker")
    if not profile.get("port-range") or not marker or not Path(marker).exists():
        return None
    lo, hi = profile["port-range"]
    port = get_free_port(lo, hi)
    interface = get_interface(profile["interface-address"])
    kwargs.setdefault("scheduler_options", {"port": port, "interface": interface})
    kwargs.setdefault(
        "worker_extra_args", [f"--worker-port={lo}:{hi}", f"--nanny-port={lo}:{hi}"]
    )
    return port


def _memory_and_cores(
    profile: dict[str, Any], partition: str, options: dict[str, Any], cushion: int
) -> tuple[str | None, int]:
    """Step 6: memory per worker and cores per worker by the site rules."""
    mem = options["mem_per_worker"]
    info = _slurm_info.partition_info(partition)
    request = check_memory(mem)
    if request.estimated_gb is not None:
        from_partition = profile["auto-memory-from-partition"][platform.machine()]
        mem = None if from_partition else f"{request.estimated_gb}GB"
    elif request.mb is None:
        mem = profile.get(f"default-memory-{platform.machine()}")
    memory_mb = check_memory(mem).mb
    if memory_mb is None:
        cap = info.cap_mb(1)
        memory_mb = cap - cushion if cap else int(check_memory("1GB").mb or 1000)
    cores = options.get("cores_per_worker")
    if cores is None:
        cores = _cores(profile, memory_mb, info.def_mem_per_cpu)
    return mem, cores


def _site_setup(site: str, options: dict[str, Any], kwargs: dict[str, Any]) -> Any:
    """The set-up steps shared by both sites."""
    ensure_configured()
    profile = config.get(f"sites.{site}")
    existing = _existing(options["start_client"])
    if existing is not None:
        return existing
    host = socket.gethostname()
    if not _slurm_info.is_slurm_node():
        prompt = (
            f"SLURM does not seem to be installed on this machine ({host}). Do you "
            "want to start a local multi-processing computing client instead? [y/N] "
        )
        if not is_interactive(options["interactive"]):
            return local_cluster_setup(interactive=False)
        if ask_yes_no(prompt, default=False):
            return local_cluster_setup(interactive=False)
        raise SlurmError(f"Cannot access SLURM queuing system from node {host}")
    _legacy(options, kwargs)
    processes = kwargs.pop("processes_per_worker", 1)
    partition = options["partition"]
    if is_auto(partition):
        estimate = check_memory(options["mem_per_worker"]).estimated_gb
        if estimate is None:
            raise SlurmError(
                "Cannot auto-select partition without first invoking memory "
                "estimation in `ParallelMap`."
            )
        partition = _auto_partition(profile, _slurm_info.partitions()[0], estimate)
    _check_architecture(profile, partition)
    memory, cores = _memory_and_cores(
        profile, partition, options, options["mem_cushion"]
    )
    job_extra = _log_option(profile, options["job_extra"])
    port = _ports(profile, kwargs)
    result = slurm_cluster_setup(
        partition=partition,
        n_cores=cores,
        n_workers=options["n_workers"],
        processes_per_worker=processes,
        mem_per_worker=memory,
        n_workers_startup=options["n_workers_startup"],
        timeout=options["timeout"],
        interactive=options["interactive"],
        interactive_wait=options["interactive_wait"],
        start_client=options["start_client"],
        job_extra=job_extra,
        invalid_partitions=profile["invalid-partitions"],
        mem_cushion=options["mem_cushion"],
        **kwargs,
    )
    if result is not None and port is not None:
        logger.info(
            "Tunnel the dashboard with `ssh -L %d:%s:%d <user>@<login node>`. "
            "Open your browser and go to http://localhost:%d",
            port,
            host,
            port,
            port,
        )
    return result


def esi_cluster_setup(
    partition: str,
    n_workers: int = 2,
    mem_per_worker: str = "auto",
    cores_per_worker: int | None = None,
    n_workers_startup: int = 1,
    timeout: int = 60,
    interactive: bool = True,
    interactive_wait: int = 120,
    start_client: bool = True,
    job_extra: list[str] | None = None,
    mem_cushion: int = 100,
    **kwargs: Any,
) -> Any:
    """Start SLURM workers on ESI's HPC cluster (or reuse a running client).

    Parameters
    ----------
    partition : str
        SLURM partition, or "auto" after a memory estimate
        (``mem_per_worker="estimate_memuse:<N>"``).
    n_workers, mem_per_worker, cores_per_worker, n_workers_startup, timeout
        As for :func:`slurm_cluster_setup`; ``cores_per_worker`` None derives the
        cores from the memory, ``mem_per_worker="auto"`` takes the partition's.
    interactive, interactive_wait, start_client, job_extra, mem_cushion
        As for :func:`slurm_cluster_setup`; without ``--output`` in ``job_extra``
        the workers log to the site's SLURM log folder.
    **kwargs
        ``processes_per_worker``, the legacy names ``n_jobs``, ``mem_per_job``,
        ``n_jobs_startup``, ``workers_per_job`` (FutureWarning), and anything
        ``slurm_cluster_setup`` accepts.

    Returns
    -------
    distributed.Client or dask_jobqueue.SLURMCluster or None

    Examples
    --------
    >>> client = esi_cluster_setup(partition="8GBXS", n_workers=10)  # doctest: +SKIP
    """
    options = dict(locals())
    return _site_setup("esi", options, options.pop("kwargs"))


def bic_cluster_setup(
    partition: str,
    n_workers: int = 2,
    mem_per_worker: str = "auto",
    cores_per_worker: int | None = None,
    n_workers_startup: int = 1,
    timeout: int = 120,
    interactive: bool = True,
    interactive_wait: int = 120,
    start_client: bool = True,
    job_extra: list[str] | None = None,
    mem_cushion: int = 500,
    **kwargs: Any,
) -> Any:
    """Start SLURM workers on CoBIC's HPC cluster (or reuse a running client).

    Parameters are those of :func:`esi_cluster_setup`, with CoBIC's defaults.

    Returns
    -------
    distributed.Client or dask_jobqueue.SLURMCluster or None

    Examples
    --------
    >>> client = bic_cluster_setup(partition="8GBSx86", n_workers=10)  # doctest: +SKIP
    """
    options = dict(locals())
    return _site_setup("bic", options, options.pop("kwargs"))
