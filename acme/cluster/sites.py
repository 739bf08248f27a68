"""``esi_cluster_setup`` / ``bic_cluster_setup``: site profiles over SLURM.

Both load their profile (``acme.sites.<name>`` in ``acme.yaml``) and call one
shared function, :func:`~acme.cluster._site.site_setup`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

from .._host import detect_site
from ._site import site_setup

if TYPE_CHECKING:
    from distributed import Client
    from distributed.deploy.cluster import Cluster

__all__ = ["bic_cluster_setup", "esi_cluster_setup", "is_bic_node", "is_esi_node"]


def is_esi_node() -> bool:
    """True iff this host matches the ESI site profile (hostname, marker folder)."""
    return detect_site() == "esi"


def is_bic_node() -> bool:
    """True iff this host matches the CoBIC site profile (hostname, marker folder)."""
    return detect_site() == "bic"


# the overloads differ only in start_client and the return type
# fmt: off
@overload
def esi_cluster_setup(
    partition: str, n_workers: int = ..., mem_per_worker: str = ...,
    cores_per_worker: int | None = ..., n_workers_startup: int = ...,
    timeout: int = ..., interactive: bool = ..., interactive_wait: int = ...,
    start_client: Literal[True] = ..., job_extra: list[str] | None = ...,
    mem_cushion: int = ..., **kwargs: Any
) -> Client | None: ...
@overload
def esi_cluster_setup(
    partition: str, n_workers: int = ..., mem_per_worker: str = ...,
    cores_per_worker: int | None = ..., n_workers_startup: int = ...,
    timeout: int = ..., interactive: bool = ..., interactive_wait: int = ...,
    *, start_client: Literal[False], job_extra: list[str] | None = ...,
    mem_cushion: int = ..., **kwargs: Any
) -> Cluster | Client | None: ...
@overload
def esi_cluster_setup(
    partition: str, *, start_client: bool, **kwargs: Any
) -> Cluster | Client | None: ...
# fmt: on


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
) -> Cluster | Client | None:
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
        Without SLURM, the local client the user agreed to.

    Examples
    --------
    >>> client = esi_cluster_setup(partition="8GBXS", n_workers=10)  # doctest: +SKIP
    """
    return site_setup("esi", dict(locals()))


# fmt: off
@overload
def bic_cluster_setup(
    partition: str, n_workers: int = ..., mem_per_worker: str = ...,
    cores_per_worker: int | None = ..., n_workers_startup: int = ...,
    timeout: int = ..., interactive: bool = ..., interactive_wait: int = ...,
    start_client: Literal[True] = ..., job_extra: list[str] | None = ...,
    mem_cushion: int = ..., **kwargs: Any
) -> Client | None: ...
@overload
def bic_cluster_setup(
    partition: str, n_workers: int = ..., mem_per_worker: str = ...,
    cores_per_worker: int | None = ..., n_workers_startup: int = ...,
    timeout: int = ..., interactive: bool = ..., interactive_wait: int = ...,
    *, start_client: Literal[False], job_extra: list[str] | None = ...,
    mem_cushion: int = ..., **kwargs: Any
) -> Cluster | Client | None: ...
@overload
def bic_cluster_setup(
    partition: str, *, start_client: bool, **kwargs: Any
) -> Cluster | Client | None: ...
# fmt: on


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
) -> Cluster | Client | None:
    """Start SLURM workers on CoBIC's HPC cluster (or reuse a running client).

    Parameters are those of :func:`esi_cluster_setup`, with CoBIC's defaults.

    Returns
    -------
    distributed.Client or dask_jobqueue.SLURMCluster or None

    Examples
    --------
    >>> client = bic_cluster_setup(partition="8GBSx86", n_workers=10)  # doctest: +SKIP
    """
    return site_setup("bic", dict(locals()))
