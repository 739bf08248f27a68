"""``esi_cluster_setup`` / ``bic_cluster_setup`` and the site detection helpers.

The set-up functions are not implemented yet (tracked by the SLURM issue);
site detection reads the profiles in ``acme.yaml``.
"""

from __future__ import annotations

from typing import Any

from .._host import detect_site

__all__ = ["bic_cluster_setup", "esi_cluster_setup", "is_bic_node", "is_esi_node"]


def is_esi_node() -> bool:
    """True iff this host matches the ESI site profile (hostname, marker folder)."""
    return detect_site() == "esi"


def is_bic_node() -> bool:
    """True iff this host matches the CoBIC site profile (hostname, marker folder)."""
    return detect_site() == "bic"


def esi_cluster_setup(*args: Any, **kwargs: Any) -> Any:
    """Start SLURM workers on ESI's cluster (not implemented yet).

    Raises
    ------
    NotImplementedError
        Always, until SLURM support lands.
    """
    raise NotImplementedError("esi_cluster_setup is not implemented yet")


def bic_cluster_setup(*args: Any, **kwargs: Any) -> Any:
    """Start SLURM workers on CoBIC's cluster (not implemented yet).

    Raises
    ------
    NotImplementedError
        Always, until SLURM support lands.
    """
    raise NotImplementedError("bic_cluster_setup is not implemented yet")
