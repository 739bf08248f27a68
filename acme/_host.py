"""Facts about the host: architecture, free ports and network interfaces."""

from __future__ import annotations

import platform
import socket
from pathlib import Path

from . import config

__all__ = ["detect_site", "get_free_port", "get_interface", "is_x86_node"]


def is_x86_node() -> bool:
    """True iff this machine is an x86_64 host."""
    return platform.machine() == "x86_64"


def get_free_port(lo: int, hi: int) -> int:
    """Return the lowest port in ``[lo, hi]`` that can be bound on all interfaces.

    Every port is tried with a fresh socket.

    Raises
    ------
    OSError
        If no port in the range is free.
    """
    for port in range(lo, hi + 1):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("", port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port in the range {lo}-{hi}")


def get_interface(ip: str) -> str:
    """Name of the first network interface with an address containing ``ip``.

    Raises
    ------
    ValueError
        If no interface has such an address.
    """
    import psutil  # lazy: guaranteed by distributed, needed only here

    for name, addresses in psutil.net_if_addrs().items():
        if any(ip in address.address for address in addresses):
            return name
    raise ValueError(f"no network interface has an address containing {ip!r}")


def detect_site() -> str | None:
    """Name of the site profile (``acme.sites.<name>``) this host belongs to, or None.

    A host belongs to a site when its name starts with the profile's
    ``hostname-prefix`` and the profile's ``marker-dir`` exists.
    """
    hostname = socket.gethostname()
    for name, profile in config.get("sites").items():
        if (
            hostname.startswith(profile["hostname-prefix"])
            and Path(profile["marker-dir"]).is_dir()
        ):
            return str(name)
    return None
