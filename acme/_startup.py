"""The client of a ``ParallelMap``: attach to the default client or start one.

The client is attached (a default client exists) or started: a LocalCluster, or
SLURM workers through the site's or the vanilla set-up, with the memory estimate
first for ``partition="auto"``.
"""

from __future__ import annotations

import math
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _logging
from ._host import detect_site
from ._settings import Settings
from .cluster._slurm_info import use_slurm
from .cluster.client import ClientHandle, cluster_cleanup, find_client, live_workers
from .cluster.local import local_cluster_setup
from .cluster.sites import bic_cluster_setup, esi_cluster_setup
from .cluster.slurm import slurm_cluster_setup
from .errors import SetupAbortedError

if TYPE_CHECKING:
    from distributed import Client

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
    on_slurm = use_slurm()
    if on_slurm:
        client = _start_slurm(settings, n_calls, estimate_gb)
    else:
        client = local_cluster_setup(n_workers=settings.n_workers, interactive=False)
    if client is None:
        raise SetupAbortedError("Could not start distributed computing client.")
    try:
        cluster = client.cluster
        n_workers = len(cluster.workers) if cluster else None
        options = cluster.new_spec["options"] if on_slurm and cluster else {}
    except BaseException:
        cluster_cleanup(client)
        raise
    return ClientSetup(
        ClientHandle(client, owned=True),
        n_workers,
        on_slurm,
        options.get("queue"),
        _as_mb(options.get("memory")),
    )


def _as_mb(memory: Any) -> str | None:
    from dask.utils import parse_bytes

    return f"{parse_bytes(memory) // 10**6}MB" if memory else None


def _start_slurm(
    settings: Settings, n_calls: int, estimate_gb: Callable[[], int]
) -> Client | None:
    """Memory estimate if needed, then the site's or the vanilla SLURM set-up."""
    memory: str = (
        f"{settings.mem_per_worker_mb}MB" if settings.mem_per_worker_mb else "auto"
    )
    partition = settings.partition or "auto"
    if settings.partition is None:
        if settings.mem_per_worker_mb is not None:
            need = math.ceil(settings.mem_per_worker_mb / 1000)
        else:
            need = estimate_gb()
        memory = f"estimate_memuse:{need}"
    common: dict[str, Any] = {
        "partition": partition,
        "n_workers": settings.n_workers or n_calls,
        "mem_per_worker": memory,
        "n_workers_startup": 1,
        "timeout": settings.setup_timeout,
        "interactive": settings.interactive,
        "start_client": True,
    }
    site = detect_site()
    client: Client | None
    if site == "esi":
        client = esi_cluster_setup(**common)
    elif site == "bic":
        client = bic_cluster_setup(**common)
    else:
        logger.warning(
            "Cluster node %s not recognized. Falling back to vanilla SLURM setup",
            socket.getfqdn(),
        )
        client = slurm_cluster_setup(
            **common, n_cores=1, processes_per_worker=1, interactive_wait=120
        )
    return client
