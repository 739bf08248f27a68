"""Constructor steps 16 and 17 of ``ParallelMap``: the dry run and the client.

The client is attached (a default client exists) or started: a LocalCluster, or
SLURM workers through the site's or the vanilla set-up, with the memory estimate
first for ``partition="auto"``.
"""

from __future__ import annotations

import math
import socket
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _logging
from ._host import detect_site
from ._interactive import ask_yes_no
from ._memory import estimate_memory_gb
from ._settings import OutputMode, StopClient
from ._state import RunState
from .broadcast import call_arguments
from .cluster._slurm_info import use_slurm
from .cluster.client import ClientHandle, cluster_cleanup, find_client, live_workers
from .cluster.local import local_cluster_setup
from .cluster.sites import bic_cluster_setup, esi_cluster_setup
from .cluster.slurm import slurm_cluster_setup
from .errors import SetupAbortedError
from .results.hdf5 import PerCallSink
from .results.layout import OutputLayout
from .results.pickles import PickleSink

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["acquire_client", "dry_run"]

logger = _logging.get_logger(__name__)


def dry_run(state: RunState) -> bool:
    """Step 16: run one random call here; False if the user declines to go on."""
    import random

    import psutil

    config = state.config
    index = random.randrange(config.n_calls)
    logger.info(
        "Performing a single dry-run of %s simulating randomly picked worker #%d "
        "with automatically distributed arguments",
        state.spec.name,
        index,
    )
    shared = call_arguments(config.argv, config.kwargv, config.n_calls)
    args, kwargs = shared.for_call(index, shared.values)
    if state.spec.has_task_id:
        kwargs["taskID"] = index
    process = psutil.Process()
    memory, start = process.memory_info().rss, time.perf_counter()
    value = config.func(*args, **kwargs)
    if state.layout is not None:
        _scratch_store(state, state.layout, index, value)
    elapsed = time.perf_counter() - start
    used = max(0, process.memory_info().rss - memory) / 1e6
    amount = f"{used / 1000:.2f} GB" if used >= 1000 else f"{used:.2f} MB"
    logger.info(
        "Dry-run completed. Elapsed time is %f seconds, estimated memory "
        "consumption was %s.",
        elapsed,
        amount,
    )
    if not state.settings.interactive:
        return True
    prompt = (
        f"Do you want to continue executing {state.spec.name} with the provided "
        "arguments? [Y/n] "
    )
    if ask_yes_no(prompt, default=True):
        return True
    _logging.configure(_logging.level_for(config.verbose))
    if state.layout is not None:
        state.layout.remove_created()
    config.logfile = None
    return False


def _scratch_store(
    state: RunState, layout: OutputLayout, index: int, value: Any
) -> None:
    """Dry run: write a result as the real run would, into a scratch folder."""
    with tempfile.TemporaryDirectory(dir=layout.folder, prefix=".acme-dry-") as tmp:
        if state.settings.output is OutputMode.PICKLE:
            PickleSink(tmp, layout.name).store(index, value)
            return
        Path(tmp, f"{layout.name}_payload").mkdir()
        sink = PerCallSink(
            tmp, layout.name, state.config.n_calls, state.settings.stacking
        )
        sink.store(index, value)


def acquire_client(state: RunState) -> None:
    """Step 17: attach to the default client or start one."""
    config = state.config
    client = find_client()
    if client is not None:
        logger.info("Attaching to parallel computing client %s", client)
        if state.settings.n_workers is not None:
            logger.debug("`n_workers` is ignored when attaching to a client")
        state.handle = ClientHandle(client, owned=False)
        config.n_workers = live_workers(client)
    else:
        state.handle = ClientHandle(_start_client(state), owned=True)
        try:
            cluster = state.handle.client.cluster
            config.n_workers = len(cluster.workers) if cluster else None
        except BaseException:
            cluster_cleanup(state.handle.client)
            raise
    config.client = state.handle.client
    stop = state.settings.stop_client
    config.stop_client = state.handle.owned if stop is StopClient.OWNED else stop.value


def _start_client(state: RunState) -> Client:
    """Start a local or SLURM cluster for this map."""
    config = state.config
    config.has_slurm = use_slurm()
    if config.has_slurm:
        client = _start_slurm(state)
    else:
        workers = state.settings.n_workers
        client = local_cluster_setup(n_workers=workers, interactive=False)
    if client is None:
        raise SetupAbortedError("Could not start distributed computing client.")
    if config.has_slurm and client.cluster is not None:
        options = client.cluster.new_spec["options"]
        config.partition = options.get("queue")
        config.mem_per_worker = _as_mb(options.get("memory"))
    return client


def _as_mb(memory: Any) -> str | None:
    from dask.utils import parse_bytes

    return f"{parse_bytes(memory) // 10**6}MB" if memory else None


def _start_slurm(state: RunState) -> Client | None:
    """Memory estimate if needed, then the site's or the vanilla SLURM set-up."""
    settings, config = state.settings, state.config
    memory: str = (
        f"{settings.mem_per_worker_mb}MB" if settings.mem_per_worker_mb else "auto"
    )
    partition = settings.partition or "auto"
    if settings.partition is None:
        if settings.mem_per_worker_mb is not None:
            need = math.ceil(settings.mem_per_worker_mb / 1000)
        else:
            shared = call_arguments(config.argv, config.kwargv, config.n_calls)
            need = estimate_memory_gb(
                config.func, state.spec.name, shared, state.spec.has_task_id
            )
        memory = f"estimate_memuse:{need}"
    common: dict[str, Any] = {
        "partition": partition,
        "n_workers": settings.n_workers or config.n_calls,
        "mem_per_worker": memory,
        "n_workers_startup": 1,
        "timeout": settings.setup_timeout,
        "interactive": settings.interactive,
        "start_client": True,
    }
    site = detect_site()
    client: Client | None
    if site == "esi":
        client = esi_cluster_setup(**common)
    elif site == "bic":
        client = bic_cluster_setup(**common)
    else:
        logger.warning(
            "Cluster node %s not recognized. Falling back to vanilla SLURM setup",
            socket.getfqdn(),
        )
        client = slurm_cluster_setup(
            **common, n_cores=1, processes_per_worker=1, interactive_wait=120
        )
    return client
