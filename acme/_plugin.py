"""The worker plugin acme registers: the caller's ``sys.path``, and no death by
the caller's Ctrl-C. Imported on first use (it needs distributed)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["PLUGIN_NAME", "WorkerSetup", "prepare_workers"]

PLUGIN_NAME = "acme-worker-setup"
# client -> the sys.path its workers got, so an unchanged one costs no round trip
_registered: weakref.WeakKeyDictionary[Any, tuple[str, ...]] = (
    weakref.WeakKeyDictionary()
)


class WorkerSetup(WorkerPlugin):
    """Prepares every worker, including ones that join later.

    * The caller's ``sys.path`` entries a worker lacks are appended, so the
      worker imports what the caller imports.
    * Worker processes in the caller's process group ignore SIGINT. A Ctrl-C
      in a terminal and a Jupyter interrupt signal the whole group, which
      holds the worker processes of a local cluster started from the caller:
      they would die of an interrupt meant for the caller, leaving its client
      without workers. The caller handles the interrupt (acme cancels the
      run's tasks, and shuts down only a cluster it started). Workers
      elsewhere (SLURM jobs, ``dask worker`` in another terminal) and threads
      of the caller itself keep their handler.
    """

    name = PLUGIN_NAME

    def __init__(self, paths: Sequence[str]) -> None:
        self.paths = list(paths)
        self.pid = os.getpid()
        self.group = os.getpgrp()

    def setup(self, worker: Any) -> None:
        """Runs on every worker, including ones that join later."""
        for path in self.paths:
            if path not in sys.path:
                sys.path.append(path)
        if os.getpid() == self.pid or os.getpgrp() != self.group:
            return
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def prepare_workers(client: Any) -> None:
    """Register :class:`WorkerSetup` with ``client``'s workers, unless done
    already for the same ``sys.path``."""
    paths = tuple(sys.path)
    if _registered.get(client) == paths:
        return
    client.register_plugin(WorkerSetup(paths), name=PLUGIN_NAME)
    _registered[client] = paths
