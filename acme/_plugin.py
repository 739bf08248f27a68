"""Worker plugins: the caller's ``sys.path``, and no death by the caller's Ctrl-C.

Imported on first use (they need distributed).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["PLUGIN_NAME", "InterruptShield", "SysPathPlugin", "shield_workers"]

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


class InterruptShield(WorkerPlugin):
    """Worker processes in the caller's process group ignore SIGINT.

    A Ctrl-C in a terminal and a Jupyter interrupt signal the whole process
    group, which holds the worker processes of a local cluster started from the
    caller: they would die of an interrupt meant for the caller, leaving its
    client without workers. The caller handles the interrupt (acme cancels the
    run's tasks, and shuts down only a cluster it started). Workers elsewhere
    (SLURM jobs, ``dask worker`` in another terminal) and threads of the caller
    itself keep their handler.
    """

    name = "acme-interrupt-shield"

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.group = os.getpgrp()

    def setup(self, worker: Any) -> None:
        """Runs on every worker, including ones that join later."""
        if os.getpid() == self.pid or os.getpgrp() != self.group:
            return
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def shield_workers(client: Any) -> None:
    """Register :class:`InterruptShield` with ``client``'s workers."""
    client.register_plugin(InterruptShield(), name=InterruptShield.name)
