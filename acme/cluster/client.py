"""Find, attach to and release dask clients; ``cluster_cleanup``.

Ownership is recorded per run in a :class:`ClientHandle`, never in globals.
Stopping a LocalCluster's workers within half a second after a Ctrl-C,
instead of waiting for their running calls, takes it over its 150-line guide.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._checks import must_be
from .._interrupt import interrupts_held
from .._logging import ensure_configured, get_logger, quieted
from ..errors import AcmeTypeError
from ._security import forget_credentials

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "ClientHandle",
    "cluster_cleanup",
    "find_client",
    "live_workers",
    "shut_down",
    "worker_threads",
]

logger = get_logger(__name__)
# how long a LocalCluster's worker may take to stop after a Ctrl-C before it is killed
HURRY_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class ClientHandle:
    """A client and whether this run started it."""

    client: Client
    owned: bool


def find_client() -> Client | None:
    """The default distributed client, or None."""
    if "distributed" not in sys.modules:  # then there is none, and no import needed
        return None
    from distributed import get_client  # lazy: import acme must not import distributed

    try:
        client = get_client()
    except ValueError:
        return None
    return client if client.status == "running" else None


def live_workers(client: Client) -> int:
    """Number of workers currently connected to ``client``'s scheduler."""
    return len(_workers(client))


def worker_threads(client: Client) -> int:
    """Threads of the workers currently connected to ``client``'s scheduler."""
    return sum(int(worker.get("nthreads", 1)) for worker in _workers(client))


def _workers(client: Client) -> list[dict[str, Any]]:
    info = client.scheduler_info(n_workers=-1)
    return list(info.get("workers", {}).values())


def _describe(client: Client) -> str:
    cluster = client.cluster
    kind = type(cluster).__name__ if cluster is not None else "Client"
    return f"{kind} hosted on {client.scheduler_info().get('address', '?')}"


def cluster_cleanup(client: Client | None = None) -> None:
    """Shut down a dask client, its workers and its cluster.

    Parameters
    ----------
    client : distributed.Client, optional
        The client to shut down; None takes the default client, if any.

    Raises
    ------
    acme.errors.AcmeTypeError
        If ``client`` is not a distributed client.

    Examples
    --------
    >>> cluster_cleanup()  # doctest: +SKIP
    """
    from distributed import Client  # lazy: import acme must not import distributed

    ensure_configured()
    client = client if client is not None else find_client()
    if client is None:
        logger.warning("No dangling clients or clusters found.")
        return
    if not isinstance(client, Client):
        allowed = "a dask client object"
        raise AcmeTypeError(must_be("`client`", allowed, client, show_type=True))
    shut_down(client)


def shut_down(client: Client, hurry: bool = False) -> None:
    """Close ``client`` and its cluster; one Ctrl-C meanwhile waits until it is done.

    With ``hurry`` (after a Ctrl-C), the workers of a ``LocalCluster`` get
    ``HURRY_SECONDS`` to stop before they are killed, instead of the 4 s a running
    call would otherwise hold each of them up.
    """
    description = _describe(client)
    n_workers = _safe_worker_count(client)
    with interrupts_held(f"shutting down {description}"):
        logger.info("Shutting down %s", description)
        # connections closing now are expected: distributed logs each at INFO
        # with a traceback, which would read as a failure
        with quieted("distributed.batched"):
            _close(client, description, hurry)
        logger.info(
            "Successfully shut down %s containing %d workers", description, n_workers
        )


def _close(client: Client, description: str, hurry: bool) -> None:
    """Close ``client``, then its cluster (if it has one); a failure is logged."""
    cluster = client.cluster
    if cluster is None:
        client.shutdown()
        return
    client.close()
    try:
        if hurry:
            _stop_local_workers(cluster)
        cluster.close()
    except (OSError, RuntimeError, TimeoutError) as exc:
        logger.warning("Closing %s failed: %s", description, exc)
    finally:
        forget_credentials(cluster)


def _stop_local_workers(cluster: Any) -> None:
    """Stop a LocalCluster's workers within ``HURRY_SECONDS``, running calls or not."""
    # lazy: import acme must import neither
    import asyncio

    from distributed import LocalCluster

    if not isinstance(cluster, LocalCluster):
        return  # SLURM workers end with their jobs, which closing cancels

    async def stop_all() -> None:
        workers = list(cluster.workers.values())
        await asyncio.gather(*(w.close(timeout=HURRY_SECONDS) for w in workers))

    cluster.sync(stop_all)


def _safe_worker_count(client: Client) -> int:
    try:
        return live_workers(client)
    except (OSError, RuntimeError, TimeoutError):
        return 0
