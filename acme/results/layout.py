"""Output folder resolution, file naming and log file placement."""

from __future__ import annotations

import getpass
import inspect
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import config
from .._host import detect_site
from .._logging import get_logger
from .._settings import OutputMode, Stacking
from ..broadcast import func_name
from ..errors import AcmeValueError, OutputError, OutputExistsError
from .hdf5 import build_container, create_single_file
from .manifest import Manifest

__all__ = [
    "OutputLayout",
    "default_base",
    "holds_run",
    "log_file_name",
    "new_run_folder",
    "prepare",
    "result_files",
    "safe_name",
]

logger = get_logger(__name__)

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


@dataclass(slots=True)
class OutputLayout:
    """The output folder of a run and what the constructor created in it."""

    folder: Path
    name: str
    manifest: Manifest
    resumed: bool = False
    created: list[Path] = field(default_factory=list)

    def remove_created(self) -> None:
        """Delete what this constructor created (newest first), never more."""
        for path in reversed(self.created):
            if path.is_symlink():
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def holds_run(folder: Path, name: str) -> bool:
    """Whether ``folder`` contains artefacts of a run of ``name``."""
    if not folder.is_dir():
        return False
    fixed = (f".acme_{name}.json", f"{name}_payload", f"{name}.h5")
    if any((folder / entry).exists() for entry in fixed):
        return True
    pattern = re.compile(rf"^{re.escape(name)}_\d+\.pickle$")
    return any(pattern.match(entry.name) for entry in folder.iterdir())


def result_files(mode: OutputMode, name: str, n_inputs: int) -> list[str]:
    """Result file of every call, relative to the output folder."""
    if mode is OutputMode.HDF5_SINGLE:
        return [f"{name}.h5"] * n_inputs
    if mode is OutputMode.PICKLE:
        return [f"{name}_{i}.pickle" for i in range(n_inputs)]
    return [f"{name}_payload/{name}_{i}.h5" for i in range(n_inputs)]


def _reuse(
    folder: Path, name: str, identity: dict[str, Any], resume: bool
) -> Manifest | None:
    """The previous run's manifest to resume, or None to start afresh."""
    interval = float(config.get("manifest.write-interval"))
    if not holds_run(folder, name):
        if resume:
            logger.info(
                "No previous run of %s found in %s; starting afresh", name, folder
            )
        return None
    if not resume:
        raise OutputExistsError(
            f"automatic creation of output folder {folder} failed: it holds a previous "
            f"run of {name}. Pass `resume=True` to continue that run, or choose a new "
            "`output_dir`.",
            path=str(folder),
        )
    manifest = Manifest.load(folder / f".acme_{name}.json", interval)
    if manifest is None:
        raise AcmeValueError(
            f"cannot resume the run of {name} in {folder}: it has no manifest to "
            "verify against"
        )
    difference = manifest.difference(identity)
    if difference is not None:
        raise AcmeValueError(
            f"cannot resume the run of {name} in {folder}: {difference}"
        )
    done = len(manifest.finished(folder))
    logger.info(
        "Resuming the run of %s in %s: %d/%d calls finished",
        name,
        folder,
        done,
        identity["n_inputs"],
    )
    return manifest


def prepare(
    folder: Path,
    name: str,
    mode: OutputMode,
    identity: dict[str, Any],
    resume: bool,
    stacking: Stacking | None,
) -> OutputLayout:
    """Check for a previous run, then create folder, payload, container and manifest.

    Raises
    ------
    OutputExistsError
        If ``folder`` holds a run of ``name`` and ``resume`` is False.
    OutputError
        If something cannot be created.
    """
    previous = _reuse(folder, name, identity, resume)
    interval = float(config.get("manifest.write-interval"))
    path = folder / f".acme_{name}.json"
    if previous is not None:
        return OutputLayout(folder, name, previous, resumed=True)
    files = result_files(mode, name, identity["n_inputs"])
    layout = OutputLayout(folder, name, Manifest.new(path, identity, files, interval))
    try:
        for directory in (folder, folder / f"{name}_payload"):
            if (
                directory.name.endswith("_payload")
                and mode is not OutputMode.HDF5_PER_CALL
            ):
                continue
            if not directory.exists():
                directory.mkdir(parents=True)
                layout.created.append(directory)
        container = folder / f"{name}.h5"
        if mode is OutputMode.HDF5_PER_CALL:
            build_container(container, name, identity["n_inputs"], stacking)
            layout.created.append(container)
        elif mode is OutputMode.HDF5_SINGLE:
            create_single_file(container, identity["n_inputs"], stacking)
            layout.created.append(container)
        layout.manifest.save()
        layout.created.append(path)
    except OSError as exc:
        layout.remove_created()
        raise OutputError(
            f"automatic creation of output folder {folder} failed: {exc}",
            path=str(folder),
        ) from exc
    return layout
