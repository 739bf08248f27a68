"""``slurm_cluster_setup``: SLURM workers through dask-jobqueue.

Not implemented yet (tracked by the SLURM issue); the name exists so that the
public surface of ACME is complete.
"""

from __future__ import annotations

from typing import Any

__all__ = ["slurm_cluster_setup"]


def slurm_cluster_setup(*args: Any, **kwargs: Any) -> Any:
    """Start SLURM workers (not implemented yet).

    Raises
    ------
    NotImplementedError
        Always, until SLURM support lands.
    """
    raise NotImplementedError("slurm_cluster_setup is not implemented yet")
