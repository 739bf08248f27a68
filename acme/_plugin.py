"""Worker plugin giving workers the caller's ``sys.path`` (imported on first use)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["PLUGIN_NAME", "SysPathPlugin"]

PLUGIN_NAME = "acme-sys-path"


class SysPathPlugin(WorkerPlugin):
    """Append the caller's ``sys.path`` entries that a worker lacks."""

    name = PLUGIN_NAME

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = list(paths)

    def setup(self, worker: Any) -> None:
        """Runs on every worker, including ones that join later."""
        for path in self.paths:
            if path not in sys.path:
                sys.path.append(path)
