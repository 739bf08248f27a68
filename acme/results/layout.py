"""Output folder resolution, file naming and log file placement (API.md section 5.1)."""

from __future__ import annotations

import getpass
import inspect
import os
import re
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import config
from .._host import detect_site
from ..broadcast import func_name

__all__ = ["default_base", "log_file_name", "new_run_folder", "safe_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_LIBRARY_DIRS = ("site-packages", "dist-packages")


def safe_name(func: Callable[..., Any]) -> str:
    """``func``'s name with every character outside ``[A-Za-z0-9_.-]`` replaced.

    >>> safe_name(lambda x: x)
    '_lambda_'
    """
    return _UNSAFE.sub("_", func_name(func))


def _source_folder(func: Callable[..., Any]) -> Path | None:
    """Folder of ``func``'s source file if results may be written beside it."""
    target = inspect.unwrap(func)
    while hasattr(target, "func"):  # functools.partial
        target = target.func
    try:
        source = inspect.getsourcefile(target)
    except TypeError:
        return None
    if source is None or source.startswith("<"):
        return None
    path = Path(source).resolve()
    folder = path.parent
    if not path.is_file() or any(part in _LIBRARY_DIRS for part in path.parts):
        return None
    temp = Path(tempfile.gettempdir()).resolve()
    if folder.is_relative_to(temp) and any(
        part.startswith("ipykernel_") for part in folder.relative_to(temp).parts
    ):
        return None
    return folder if os.access(folder, os.W_OK | os.X_OK) else None


def default_base(func: Callable[..., Any]) -> Path:
    """The folder that holds new ``ACME_<timestamp>`` folders for ``func``."""
    configured = config.get("output-base")
    if configured:
        return Path(configured).expanduser().absolute()
    site = detect_site()
    if site is not None:
        base = config.get(f"sites.{site}.output-base")
        return Path(base.format(user=getpass.getuser()))
    return _source_folder(func) or Path.cwd()


def new_run_folder(base: Path) -> Path:
    """A not yet existing ``<base>/ACME_YYYYMMDD-hhmmss-ffffff`` path."""
    while True:
        folder = base / f"ACME_{datetime.now():%Y%m%d-%H%M%S-%f}"
        if not folder.exists():
            return folder


def log_file_name(folder: Path, func: Callable[..., Any]) -> Path:
    """``<folder>/ACME_<f>_<YYYYmmdd-HHMMSS>.log``."""
    return folder / f"ACME_{safe_name(func)}_{datetime.now():%Y%m%d-%H%M%S}.log"
