"""Where a run's files go: the output folder and every path inside it.

:class:`OutputLayout` is the only place that builds result, container,
manifest, lock and log file names; sinks, the dry run and resume ask it.
Being that one place (eleven kinds of path, and the default folder's name)
takes it over its 150-line guide.
"""

from __future__ import annotations

import getpass
import inspect
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import config
from .._host import detect_site
from .._settings import OutputMode
from ..broadcast import func_name

__all__ = ["OutputLayout", "default_base", "log_file_name", "new_run_folder"]

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
    """A new ``<folder>/ACME_<f>_<YYYYmmdd-HHMMSS>.log`` (``-<n>`` added if taken)."""
    stem = f"ACME_{safe_name(func)}_{datetime.now():%Y%m%d-%H%M%S}"
    path, number = folder / f"{stem}.log", 1
    while path.exists():
        path, number = folder / f"{stem}-{number}.log", number + 1
    return path


@dataclass(frozen=True, slots=True)
class OutputLayout:
    """The output folder of a run of ``name`` in ``mode`` and every path in it."""

    folder: Path
    name: str
    mode: OutputMode

    @classmethod
    def for_func(
        cls, func: Callable[..., Any], mode: OutputMode, output_dir: Path | None
    ) -> OutputLayout:
        """The layout of a run of ``func``: ``output_dir`` or a new default folder."""
        folder = output_dir or new_run_folder(default_base(func))
        return cls(folder, safe_name(func), mode)

    @property
    def container(self) -> Path:
        """``<dir>/<f>.h5``: the container, or the single result file."""
        return self.folder / f"{self.name}.h5"

    @property
    def payload(self) -> Path:
        """``<dir>/<f>_payload``: the per-call HDF5 files (default mode)."""
        return self.folder / f"{self.name}_payload"

    @property
    def manifest(self) -> Path:
        """``<dir>/.acme_<f>.json``."""
        return self.folder / f".acme_{self.name}.json"

    @property
    def journal(self) -> Path:
        """``<dir>/.acme_<f>.journal``: manifest updates while ``compute()`` runs."""
        return self.folder / f".acme_{self.name}.journal"

    @property
    def output(self) -> Path:
        """``<dir>/.acme_<f>.output``: what the calls printed, a JSON line each."""
        return self.folder / f".acme_{self.name}.output"

    @property
    def lock(self) -> Path:
        """``<dir>/.acme_<f>.lock``: held while a process uses the folder."""
        return self.folder / f".acme_{self.name}.lock"

    def result_file(self, index: int) -> Path:
        """Where call ``index``'s result is written in this layout's mode."""
        return self.folder / self.relative_file(index)

    def relative_file(self, index: int) -> str:
        """:meth:`result_file` relative to the folder (and to the container)."""
        if self.mode is OutputMode.HDF5_SINGLE:
            return f"{self.name}.h5"
        if self.mode is OutputMode.PICKLE:
            return f"{self.name}_{index}.pickle"
        return f"{self.name}_payload/{self.name}_{index}.h5"

    def emergency_pickle(self, index: int) -> Path:
        """The pickle of a per-call result HDF5 cannot hold."""
        return self.payload / f"{self.name}_{index}.pickle"

    def moved_up(self, path: Path) -> Path:
        """Where a per-call file goes when the payload is moved up."""
        return self.folder / path.name

    def files_of(self, index: int) -> tuple[Path, ...]:
        """Every file call ``index``'s result may have (before and after moving up)."""
        if self.mode is not OutputMode.HDF5_PER_CALL:
            return (self.result_file(index),)
        inner = (self.result_file(index), self.emergency_pickle(index))
        return inner + tuple(self.moved_up(path) for path in inner)

    def holds_run(self) -> bool:
        """Whether the folder holds artefacts of a run of ``name``."""
        if not self.folder.is_dir():
            return False
        fixed = (self.manifest, self.payload, self.container)
        if any(path.exists() for path in fixed):
            return True
        pattern = re.compile(rf"{re.escape(self.name)}_[0-9]+\.(pickle|h5)")
        return any(pattern.fullmatch(entry.name) for entry in self.folder.iterdir())

    def temporaries(self) -> Iterator[Path]:
        """Hidden temporary files of interrupted writes of this run's files."""
        name = re.escape(self.name)
        own = rf"\.acme_{name}\.json|{name}\.h5|{name}_[0-9]+\.(?:h5|pickle)"
        pattern = re.compile(rf"\.(?:{own})\.[0-9a-f]{{12}}\.tmp")
        for folder in (self.folder, self.payload):
            if folder.is_dir():
                yield from (p for p in folder.iterdir() if pattern.fullmatch(p.name))
