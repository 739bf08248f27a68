"""Cluster helpers: start, find and shut down dask clients."""

from .client import cluster_cleanup
from .local import local_cluster_setup
from .sites import bic_cluster_setup, esi_cluster_setup
from .slurm import slurm_cluster_setup

__all__ = [
    "bic_cluster_setup",
    "cluster_cleanup",
    "esi_cluster_setup",
    "local_cluster_setup",
    "slurm_cluster_setup",
]
