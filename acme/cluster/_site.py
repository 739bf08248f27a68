"""The set-up shared by the site profiles (``acme.sites.<name>`` in ``acme.yaml``).

:func:`site_setup` runs the steps of ``esi_cluster_setup``/``bic_cluster_setup``
on a profile; :func:`site_partition` and :func:`start_site` apply the profile's
rules to validated options, for those functions and for ParallelMap alike. A
module of its own: with these rules ``sites.py`` would exceed its size limit.
"""

from __future__ import annotations

import getpass
import math
import platform
import re
import socket
import warnings
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import config
from .._checks import as_int, is_auto
from .._host import get_free_port, get_interface
from .._interactive import ask_yes_no, is_interactive
from .._logging import ensure_configured, get_logger
from ..errors import AcmeValueError, SlurmError
from . import _slurm_info
from ._options import (
    JobExtra,
    MemoryRequest,
    SlurmOptions,
    check_job_extra,
    check_memory,
    slurm_options,
)
from ._resources import available_partitions
from .client import cluster_cleanup, find_client, live_workers
from .local import local_cluster_setup
from .slurm import SlurmStart, _start_slurm

if TYPE_CHECKING:
    from distributed import Client
    from distributed.deploy.cluster import Cluster

__all__ = ["Profile", "site_partition", "site_setup", "start_site"]

logger = get_logger(__name__)
Profile = dict[str, Any]
_LEGACY = {
    "n_jobs": "n_workers",
    "mem_per_job": "mem_per_worker",
    "n_jobs_startup": "n_workers_startup",
    "workers_per_job": "processes_per_worker",
}
_GB_PARTITION = re.compile(r"^(\d+)GB")


def _auto_partition(profile: Profile, names: list[str], need_gb: int) -> str:
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


def site_partition(
    profile: Profile, partition: Any, estimate_gb: int | None, names: list[str]
) -> Any:
    """Steps 4-5: the site's ``partition="auto"`` rule, then its architecture guard."""
    if partition is None or is_auto(partition):
        if estimate_gb is None:
            raise SlurmError(
                "Cannot auto-select partition without first invoking memory "
                "estimation in `ParallelMap`."
            )
        partition = _auto_partition(profile, names, estimate_gb)
    host = platform.machine()
    rules = profile["arch-rules"]
    needed = next(
        (r["arch"] for r in rules if r["match"] in str(partition)),
        profile["default-arch"],
    )
    if needed is not None and needed != host:
        raise AcmeValueError(
            f"Cannot start SLURM workers in partition {partition} with architecture "
            f"{needed} from submitting host with architecture {host}. "
            f"{profile['arch-hint']}"
        )
    return partition


def _cores(profile: Profile, memory_mb: int, def_mem: int | None) -> int:
    """Step 6: cores per worker derived from its memory."""
    if profile["cores-rule"] == "floor":
        return max(1, math.floor(memory_mb / max(1000, def_mem or 0)))
    return max(1, round(memory_mb / def_mem)) if def_mem else 1


def _memory(profile: Profile, request: MemoryRequest) -> MemoryRequest:
    """Step 6: the site's memory rules (an estimate, "auto" on this architecture)."""
    arch = platform.machine()
    if request.estimated_gb is not None:
        from_partition = profile["auto-memory-from-partition"][arch]
        return MemoryRequest(None if from_partition else request.estimated_gb * 1000)
    if request.mb is None:
        return check_memory(profile.get(f"default-memory-{arch}"))
    return request


def _log_option(profile: Profile, job_extra: JobExtra) -> JobExtra:
    """Step 7: ``--output`` into the site's SLURM log folder unless given."""
    if job_extra.output_dir is not None:
        return job_extra
    if not Path(profile["marker-dir"]).is_dir():
        # not on this site's file system: never create its folders here
        logger.warning(
            "%s does not exist on this host; SLURM writes the workers' output to "
            "its default location",
            profile["marker-dir"],
        )
        return job_extra
    user, stamp = getpass.getuser(), f"{datetime.now():%Y%m%d-%H%M%S}"
    folder = Path(profile["slurm-log-dir"].format(user=user, timestamp=stamp))
    folder.mkdir(parents=True, exist_ok=True)
    return JobExtra((*job_extra.options, f"--output={folder}/slurm-%j.out"), folder)


def _ports(profile: Profile, options: SlurmOptions) -> tuple[SlurmOptions, int | None]:
    """Step 8: pin scheduler and worker ports where the site needs it."""
    marker = profile.get("port-marker")
    if not profile.get("port-range") or not marker or not Path(marker).exists():
        return options, None
    lo, hi = profile["port-range"]
    port = get_free_port(lo, hi)
    interface = get_interface(profile["interface-address"])
    scheduler = options.scheduler_options or {"port": port, "interface": interface}
    workers = options.worker_extra_args or (
        f"--worker-port={lo}:{hi}",
        f"--nanny-port={lo}:{hi}",
    )
    pinned = replace(options, scheduler_options=scheduler, worker_extra_args=workers)
    return pinned, port


def start_site(
    profile: Profile, options: SlurmOptions, derive_cores: bool
) -> SlurmStart | None:
    """Steps 6-8 on validated options, then start the workers and log the hint."""
    partition = str(options.partition)
    info = _slurm_info.partition_info(partition)
    memory = _memory(profile, options.memory)
    cores = options.n_cores
    if derive_cores:
        cap = info.cap_mb(1)
        memory_mb = memory.mb or (cap - options.mem_cushion if cap else 1000)
        cores = _cores(profile, memory_mb, info.def_mem_per_cpu)
    job_extra = _log_option(profile, options.job_extra)
    options = replace(options, memory=memory, n_cores=cores, job_extra=job_extra)
    options, port = _ports(profile, options)
    started = _start_slurm(options)
    if started is not None and port is not None:
        logger.info(
            "Tunnel the dashboard with `ssh -L %d:%s:%d <user>@<login node>`. "
            "Open your browser and go to http://localhost:%d",
            port,
            socket.gethostname(),
            port,
            port,
        )
    return started


def _existing(start_client: bool) -> Client | Cluster | None:
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


def _no_slurm(interactive: bool) -> Client | None:
    """Step 2: SLURM does not answer; a local client if the user agrees."""
    host = socket.gethostname()
    prompt = (
        f"SLURM does not seem to be installed on this machine ({host}). Do you "
        "want to start a local multi-processing computing client instead? [y/N] "
    )
    if not is_interactive(interactive) or ask_yes_no(prompt, default=False):
        return local_cluster_setup(interactive=False)
    raise SlurmError(f"Cannot access SLURM queuing system from node {host}")


def _legacy(keywords: dict[str, Any], kwargs: dict[str, Any]) -> None:
    """Step 3: ACME's old keyword names, with a FutureWarning."""
    for old, new in _LEGACY.items():
        if old in kwargs:
            warnings.warn(
                f"`{old}` is deprecated, use `{new}` instead",
                FutureWarning,
                stacklevel=4,
            )
            target = keywords if new in keywords else kwargs
            target[new] = kwargs.pop(old)


def site_setup(site: str, kw: dict[str, Any]) -> Client | Cluster | None:
    """The set-up shared by both sites: ``kw`` holds the public keywords as given."""
    ensure_configured()
    check_job_extra(kw["job_extra"])  # before anything uses it or is started
    profile = config.get(f"sites.{site}")
    kwargs = kw["kwargs"]
    existing = _existing(kw["start_client"])
    if existing is not None:
        return existing
    if not _slurm_info.is_slurm_node():
        return _no_slurm(kw["interactive"])
    _legacy(kw, kwargs)
    valid, default = available_partitions(None, profile["invalid-partitions"])
    estimate = check_memory(kw["mem_per_worker"]).estimated_gb
    partition = site_partition(profile, kw["partition"], estimate, valid)
    cores = kw["cores_per_worker"]
    kw["n_cores"] = 1 if cores is None else as_int(cores, "cores_per_worker", 1)
    kw["processes_per_worker"] = kwargs.pop("processes_per_worker", 1)
    for name in ("worker_extra_args", "scheduler_options"):
        kw[name] = kwargs.pop(name, None)
    options = slurm_options(valid, default, {**kw, "partition": partition})
    started = start_site(profile, options, kw["cores_per_worker"] is None)
    if started is None:
        return None
    return started.client if started.client is not None else started.cluster
