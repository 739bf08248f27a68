"""Client checks shared by the tests."""

from __future__ import annotations

from distributed import get_client


def no_client() -> bool:
    """True when no default dask client is running (``get_client`` raises)."""
    try:
        get_client()
    except ValueError:
        return True
    return False
