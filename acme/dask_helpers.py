"""Compatibility shim: the cluster functions importable from ``acme.dask_helpers``."""

from .cluster import (
    bic_cluster_setup,
    cluster_cleanup,
    esi_cluster_setup,
    local_cluster_setup,
    slurm_cluster_setup,
)

__all__ = [
    "bic_cluster_setup",
    "cluster_cleanup",
    "esi_cluster_setup",
    "local_cluster_setup",
    "slurm_cluster_setup",
]
