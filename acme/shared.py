"""Compatibility shim: helper functions importable from ``acme.shared`` as in ACME."""

from ._host import get_free_port, get_interface, is_x86_node
from ._sizes import size_of as sizeOf  # noqa: N812  ACME name
from .cluster._slurm_info import is_slurm_node
from .cluster.sites import is_bic_node, is_esi_node

__all__ = [
    "get_free_port",
    "get_interface",
    "is_bic_node",
    "is_esi_node",
    "is_slurm_node",
    "is_x86_node",
    "sizeOf",
]
