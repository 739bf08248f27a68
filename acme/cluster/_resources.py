"""What SLURM offers a worker: the partitions, ``partition="auto"``, memory per worker.

Decisions on the facts :mod:`~acme.cluster._slurm_info` reads (the partitions
there are, the one asked for, the memory a worker gets); a module of its own,
as ``slurm.py`` and ``_options.py`` would exceed their size limits with it.
"""

from __future__ import annotations

import math
import re
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import config
from .._checks import as_mem_mb, wrong_type
from .._logging import get_logger
from ..errors import AcmeValueError, SlurmError
from . import _slurm_info

if TYPE_CHECKING:  # _options imports this module
    from ._options import MemoryRequest

__all__ = [
    "available_partitions",
    "check_partition",
    "pick_partition",
    "walltime_seconds",
    "worker_args",
    "worker_memory",
]

logger = get_logger(__name__)


def available_partitions(
    avail: Sequence[str] | None = None, invalid: Sequence[str] | None = None
) -> tuple[list[str], str | None]:
    """Step 1: the usable partitions and the default, from ``sinfo`` unless given."""
    for name, names in (("avail_partitions", avail), ("invalid_partitions", invalid)):
        if names is not None and not _names(names):
            raise wrong_type(name, "`None` or a list of partition names", names)
    if avail is not None:
        names, default = list(avail), avail[0] if avail else None
    else:
        try:
            names, default = _slurm_info.partitions()
        except SlurmError as exc:
            host = socket.gethostname()
            message = f"Error fetching SLURM partition setup from node {host}"
            raise _slurm_info.reworded(exc, f"{message}: {exc.stderr or exc}") from exc
    return [name for name in names if name not in (invalid or ())], default


def _names(value: Any) -> bool:
    """Whether ``value`` is a list or tuple of strings."""
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


def check_partition(partition: Any, valid: Sequence[str]) -> str | None:
    """Step 2: one of the ``valid`` partitions (None: pick one later)."""
    if partition is None:
        return None
    if not isinstance(partition, str) or partition not in valid:
        raise AcmeValueError(
            f"Invalid partition selection {partition}, available SLURM partitions are "
            f"{list(valid)}"
        )
    return str(partition)


def pick_partition(
    names: Sequence[str], default: str | None, memory: MemoryRequest, n_cores: int
) -> str:
    """``partition="auto"``: the smallest partition offering the requested MB.

    The default partition without an estimate (``memory.estimated_gb``), or
    when none fits or SLURM gives no data.
    """
    need_gb, need_mb = memory.estimated_gb, memory.mb
    if need_gb is None or need_mb is None:
        return default or names[0]
    sizes = {}
    for name in names:
        info = _slurm_info.partition_info(name)
        per_cpu = info.def_mem_per_cpu * n_cores if info.def_mem_per_cpu else None
        size = info.max_mem_per_node or info.node_mem or per_cpu
        if size is not None and size >= need_mb:
            sizes[name] = size
    if sizes:
        chosen = min(sizes, key=lambda name: sizes[name])
        reason = f"smallest partition offering {sizes[chosen]} MB per worker"
    else:
        chosen = default or names[0]
        reason = "no partition is known to offer that much; using the default partition"
    logger.info(
        "Picked partition %s based on estimated memory consumption of %d GB (%s)",
        chosen,
        need_gb,
        reason,
    )
    return chosen


def worker_memory(
    partition: str, wanted: int | None, n_cores: int, cushion: int
) -> int:
    """Steps 6-7: the memory per worker in MB (``wanted``), capped by the partition."""
    info = _slurm_info.partition_info(partition)
    cap = info.cap_mb(n_cores)
    cap = cap - cushion if cap is not None else None
    if wanted is None:
        if cap is not None:
            return cap
        if info.def_mem_per_cpu is not None:
            return info.def_mem_per_cpu * n_cores - cushion
        default = config.get("slurm.default-mem-per-core")
        return (
            math.ceil(as_mem_mb(default, "acme.slurm.default-mem-per-core")) * n_cores
        )
    if cap is not None and wanted > cap:
        logger.warning(
            "Requested %d MB per worker exceed the %d MB available in partition %s; "
            "using %d MB",
            wanted,
            cap,
            partition,
            cap,
        )
        return cap
    return wanted


_WALLTIME = re.compile(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?")


def walltime_seconds(walltime: Any) -> int | None:
    """A SLURM time limit in seconds; None for no limit.

    >>> walltime_seconds("01:30:00"), walltime_seconds("2-12"), walltime_seconds(45)
    (5400, 216000, 2700)
    """
    text = str(walltime).strip()
    if text.upper() in ("UNLIMITED", "INFINITE"):
        return None
    match = _WALLTIME.fullmatch(text)
    if match is None:
        raise AcmeValueError(
            f"`walltime` has to be a SLURM time limit such as '30' (minutes), "
            f"'01:30:00' or '2-12:00:00', not {walltime!r}"
        )
    days, first, second, third = (int(part) if part else 0 for part in match.groups())
    if match[1] is not None:  # days-hours[:minutes[:seconds]]
        return ((days * 24 + first) * 60 + second) * 60 + third
    if match[4] is not None:  # hours:minutes:seconds
        return (first * 60 + second) * 60 + third
    return first * 60 + second  # minutes[:seconds]


def worker_args(given: Sequence[str] | None, walltime: Any) -> list[str] | None:
    """The dask worker options: ``given`` and, with a ``walltime``, a ``--lifetime``.

    Workers retire gracefully before SLURM ends their jobs: a tenth of the
    walltime early (30 s to 10 min, at most half of it), a third of that margin
    apart at random, not all at once. A ``--lifetime`` of the user's is kept.

    >>> worker_args(None, "01:00:00")
    ['--lifetime=3240s', '--lifetime-stagger=120s']
    """
    args = list(given) if given is not None else None
    seconds = walltime_seconds(walltime) if walltime is not None else None
    if seconds is None or any(a.startswith("--lifetime") for a in args or []):
        return args
    margin = min(max(seconds // 10, 30), 600, seconds // 2)
    lifetime = [f"--lifetime={seconds - margin}s", f"--lifetime-stagger={margin // 3}s"]
    return [*(args or []), *lifetime]
