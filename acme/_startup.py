"""The client of a ``ParallelMap``: attach to the default client or start one.

Started: a LocalCluster, or SLURM workers with the profile of the site this host
belongs to (or none), after the memory estimate for ``partition="auto"``. Not in
``cluster/``, which must not know :class:`~acme._settings.Settings`.
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import _logging, config
from ._checks import is_integral, must_be
from ._host import detect_site
from ._settings import Settings
from .cluster._options import LocalOptions, MemoryRequest, SlurmOptions
from .cluster._resources import available_partitions, check_partition
from .cluster._security import prepare_credentials
from .cluster._site import site_partition, start_site
from .cluster._slurm_info import is_slurm_node, job_limit, slurm_probe
from .cluster.client import ClientHandle, find_client, live_workers
from .cluster.local import start_local
from .cluster.slurm import SlurmStart, _start_slurm
from .errors import AcmeValueError, SetupAbortedError, SlurmError

__all__ = ["ClientSetup", "acquire_client"]

logger = _logging.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ClientSetup:
    """The client a map runs on and what was resolved while starting it."""

    handle: ClientHandle
    n_workers: int | None
    on_slurm: bool = False
    partition: str | None = None
    mem_per_worker: str | None = None


def use_slurm() -> bool:
    """Whether acme starts SLURM workers, by ``acme.cluster`` (SlurmError: none)."""
    kind = config.get("cluster")
    if kind == "local":
        return False
    if kind == "slurm":
        if not is_slurm_node():
            raise SlurmError(
                "acme.cluster is 'slurm' but SLURM does not answer `sinfo`"
            )
        return True
    if kind != "auto":
        raise SlurmError(must_be("acme.cluster", "'auto', 'local' or 'slurm'", kind))
    return _probe_answers()


_unanswered_at: float | None = None  # when an installed sinfo last did not answer
PROBE_MEMORY = 300.0  # seconds a probe that got no answer is not repeated


def _probe_answers() -> bool:
    """The probe for ``acme.cluster: auto``; an installed ``sinfo`` that gave no
    answer is reported, and not asked again for :data:`PROBE_MEMORY` seconds."""
    global _unanswered_at
    now = time.monotonic()
    if _unanswered_at is not None and now - _unanswered_at < PROBE_MEMORY:
        logger.info(
            "SLURM's `sinfo` did not answer %.0f s ago: starting a local cluster "
            "(it is asked again %.0f s after that)",
            now - _unanswered_at,
            PROBE_MEMORY,
        )
        return False
    failure = slurm_probe()
    if failure is not None and not isinstance(failure.__cause__, FileNotFoundError):
        _unanswered_at = time.monotonic()
        logger.warning(
            "SLURM's `sinfo` is installed but did not answer (%s): starting a local "
            "cluster instead (acme.cluster 'local' skips this probe, 'slurm' insists)",
            failure,
        )
    return failure is None


def acquire_client(
    settings: Settings, n_calls: int, estimate_gb: Callable[[], int]
) -> ClientSetup:
    """Attach to the default client or start one for ``n_calls`` calls.

    ``estimate_gb`` measures the memory one call needs; it runs only when SLURM
    workers are started with ``partition="auto"`` and no ``mem_per_worker``.
    """
    client = find_client()
    if client is not None:
        logger.info("Attaching to parallel computing client %s", client)
        if settings.n_workers is not None:
            logger.debug("`n_workers` is ignored when attaching to a client")
        return ClientSetup(ClientHandle(client, owned=False), live_workers(client))
    prepare_credentials()  # made by a child during the probe and the imports
    if not use_slurm():
        client = start_local(LocalOptions(settings.n_workers, None, False))
        if client is None:
            raise SetupAbortedError("Could not start distributed computing client.")
        cluster = client.cluster
        n_workers = len(cluster.workers) if cluster is not None else None
        return ClientSetup(ClientHandle(client, owned=True), n_workers)
    started = _start_on_slurm(settings, n_calls, estimate_gb)
    if started is None or started.client is None:
        raise SetupAbortedError("Could not start distributed computing client.")
    return ClientSetup(
        ClientHandle(started.client, owned=True),
        len(started.cluster.workers),
        on_slurm=True,
        partition=started.partition,
        mem_per_worker=f"{started.memory_mb}MB",
    )


def _memory(settings: Settings, estimate_gb: Callable[[], int]) -> MemoryRequest:
    """The memory request; for ``partition="auto"`` with N, the need in whole GB.

    A ``mem_per_worker`` given is used as given (1 GB = 1000 MB) and N is it
    rounded up; without one, N is the estimate and N GiB are requested.
    """
    mb = settings.mem_per_worker_mb
    if settings.partition is not None:
        return MemoryRequest(mb)
    if mb is not None:
        return MemoryRequest(mb, math.ceil(mb / 1000))
    need = estimate_gb()
    return MemoryRequest(need * 1024, need)


def _worker_jobs(n_calls: int) -> int:
    """``n_workers="auto"``: a job per call, capped by config and SLURM's limits."""
    setting = config.get("slurm.max-jobs")
    if setting is not None and not (is_integral(setting) and int(setting) >= 1):
        allowed = "null or an integer >= 1"
        raise AcmeValueError(must_be("config `acme.slurm.max-jobs`", allowed, setting))
    caps = {"acme.slurm.max-jobs": setting, "your SLURM job limits": job_limit()}
    known = {name: int(cap) for name, cap in caps.items() if cap is not None}
    name, cap = min(known.items(), key=lambda item: item[1], default=("", n_calls))
    if cap >= n_calls:
        return n_calls
    logger.info(
        "Starting %d SLURM worker jobs for %d calls (capped by %s); "
        "each worker runs several calls",
        max(1, cap),
        n_calls,
        name,
    )
    return max(1, cap)


def _start_on_slurm(
    settings: Settings, n_calls: int, estimate_gb: Callable[[], int]
) -> SlurmStart | None:
    """Memory estimate if needed, then SLURM workers with the site's profile."""
    memory = _memory(settings, estimate_gb)
    site = detect_site()
    profile = config.get(f"sites.{site}") if site is not None else None
    invalid = profile["invalid-partitions"] if profile is not None else None
    valid, default = available_partitions(None, invalid)
    partition = settings.partition
    if profile is not None:
        partition = site_partition(profile, partition, memory.estimated_gb, valid)
    options = SlurmOptions(
        partition=check_partition(partition, valid),
        partitions=tuple(valid),
        default_partition=default,
        n_workers=settings.n_workers or _worker_jobs(n_calls),
        memory=memory,
        timeout=int(settings.setup_timeout),
        interactive=settings.interactive,
        mem_cushion=profile["mem-cushion"] if profile is not None else 100,
    )
    if profile is not None:
        return start_site(profile, options, derive_cores=True)
    logger.warning(
        "Cluster node %s not recognized. Falling back to vanilla SLURM setup",
        socket.getfqdn(),
    )
    return _start_slurm(options)
