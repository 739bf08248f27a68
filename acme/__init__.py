"""acme: Asynchronous Computing Made ESI.

Embarrassingly parallel work on dask, from a laptop to a SLURM cluster; a drop-in
compatible reimplementation of ESI's ACME. The public names are imported on first
use, so ``import acme`` does not import dask, numpy or h5py; that lazy loading
(``__getattr__``, ``__dir__``) is what takes it over its 40-line guide.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

if TYPE_CHECKING:  # the names, for type checkers and IDEs
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
_HOMES = {"ACMEdaemon": ".daemon", "ParallelMap": ".parallel_map"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'acme' has no attribute {name!r}")
    home = _HOMES.get(name, ".cluster")
    try:
        value = getattr(importlib.import_module(home, __name__), name)
    except AttributeError as exc:  # else Python reports "cannot import name"
        raise ImportError(f"importing acme{home} failed: {exc}") from exc
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
