"""acme: Asynchronous Computing Made ESI.

Embarrassingly parallel work on dask, from a laptop to a SLURM cluster; a drop-in
compatible reimplementation of ESI's ACME.
"""

from ._version import __version__ as __version__
from .cluster import (
    bic_cluster_setup,
    cluster_cleanup,
    esi_cluster_setup,
    local_cluster_setup,
    slurm_cluster_setup,
)
from .daemon import ACMEdaemon
from .parallel_map import ParallelMap

__all__ = [
    "ACMEdaemon",
    "ParallelMap",
    "bic_cluster_setup",
    "cluster_cleanup",
    "esi_cluster_setup",
    "local_cluster_setup",
    "slurm_cluster_setup",
]
