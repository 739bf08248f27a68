"""acme's configuration: packaged defaults in ``acme.yaml`` merged into dask.config.

Registering the defaults in memory is the only work done at import. Explicit
keyword arguments win over configuration; :func:`get` implements that precedence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dask.config
import yaml

__all__ = ["get"]

_DEFAULTS_FILE = Path(__file__).with_name("acme.yaml")


def _register() -> None:
    with _DEFAULTS_FILE.open(encoding="utf-8") as stream:
        # libyaml's loader where PyYAML has it: 15 ms less at import, here and
        # in every worker
        defaults = yaml.load(
            stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )
    dask.config.update_defaults(defaults)


def get(key: str, explicit: Any = None) -> Any:
    """Return ``explicit`` unless it is None, else the configured value of ``key``.

    Parameters
    ----------
    key : str
        Key below ``acme``, dotted (``"slurm.probe-timeout"``).
    explicit : object, optional
        Value given by the caller; wins when not None.

    Examples
    --------
    >>> get("slurm.keep-waiting")
    60
    >>> get("slurm.keep-waiting", 10)
    10
    """
    if explicit is not None:
        return explicit
    return dask.config.get(f"acme.{key}")


_register()
