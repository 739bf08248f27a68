"""Helpers of the results-on-disk tests (``test_pmap_outputs.py``,
``test_pmap_stacking.py``, ``test_pmap_folders.py``): run a map, and what a
folder holds."""

from __future__ import annotations

import re
from pathlib import Path

from acme import ParallelMap


def square(x):
    """Run on the workers (importable by worker processes)."""
    return x * x


def run(func, n_or_args, output_dir, **kwargs):
    """``compute()`` a map; return its value and ``results_container``."""
    args = list(range(n_or_args)) if isinstance(n_or_args, int) else n_or_args
    with ParallelMap(func, args, output_dir=output_dir, **kwargs) as pmap:
        value = pmap.compute()
        container = pmap.results_container
    return value, container


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.name.endswith(".tmp")]


def log_files(folder: Path, name: str) -> list[Path]:
    pattern = re.compile(rf"ACME_{re.escape(name)}_\d{{8}}-\d{{6}}\.log")
    return [p for p in folder.iterdir() if pattern.fullmatch(p.name)]


def payload_paths(folder: Path, name: str, n: int) -> list[str]:
    return [str(folder / f"{name}_payload" / f"{name}_{i}.h5") for i in range(n)]
