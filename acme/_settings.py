"""``ParallelMap`` keywords -> a frozen :class:`Settings` object.

The only ParallelMap code that compares against ``"auto"``; every argument error
about ACME's own keywords is raised here, in ACME's order. It exceeds its 250-line
guide because each of the thirteen keywords keeps ACME's own check and message.
"""

from __future__ import annotations

import enum
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._checks import (
    as_flag,
    as_int,
    as_mem_mb,
    is_auto,
    is_integral,
    is_number,
    must_be,
    type_of,
    wrong_type,
)
from ._interactive import is_interactive
from ._logging import get_logger
from .errors import AcmeTypeError, AcmeValueError, OutputError

__all__ = [
    "OutputMode",
    "Settings",
    "Stacking",
    "StopClient",
    "check_n_inputs",
    "check_verbose",
    "from_public",
]

logger = get_logger(__name__)
_ON = "`write_worker_results` is `True`"
_COUNT = "'auto' or an integer >= 1"


class OutputMode(enum.Enum):
    """Where results go."""

    HDF5_PER_CALL = "multi-file"
    HDF5_SINGLE = "single-file"
    PICKLE = "pickle"
    MEMORY = "memory"
    USER_SAVES = "user"

    @property
    def on_disk(self) -> bool:
        """True for the modes in which acme writes result files."""
        return self not in (OutputMode.MEMORY, OutputMode.USER_SAVES)


class StopClient(enum.Enum):
    """What ``cleanup()`` shuts down."""

    OWNED = "auto"
    ALWAYS = True
    NEVER = False


@dataclass(frozen=True, slots=True)
class Stacking:
    """``result_shape`` (with its ``None``) and ``result_dtype``."""

    shape: tuple[float | None, ...]
    axis: int
    dtype: str

    def normalised(self, n_inputs: int) -> tuple[float, ...]:
        """The shape with the stacking axis set to ``n_inputs`` (``inf`` kept)."""
        return tuple(n_inputs if s is None else s for s in self.shape)

    @property
    def slot(self) -> tuple[int, ...]:
        """Shape of one call's slot (the stacking axis removed); ``inf`` as -1."""
        sizes = (s for k, s in enumerate(self.shape) if k != self.axis)
        return tuple(-1 if s == math.inf else int(s or 0) for s in sizes)


@dataclass(frozen=True, slots=True)
class Settings:
    """Validated ``ParallelMap`` options."""

    output: OutputMode
    stacking: Stacking | None
    output_dir: Path | None
    cleanup_threshold_days: int | None
    logfile: Path | bool | None
    n_workers: int | None
    setup_timeout: float
    interactive: bool
    stop_client: StopClient
    partition: str | None
    mem_per_worker_mb: int | None
    dryrun: bool
    resume: bool


def _whole(value: Any, name: str, allowed: str, lo: int, shown: Any) -> int:
    """``value`` as an int >= ``lo``; a non-number is a type error showing ``shown``."""
    if not is_number(value):
        raise AcmeTypeError(must_be(f"`{name}`", allowed, shown))
    if not is_integral(value) or value < lo:
        raise AcmeValueError(must_be(f"`{name}`", allowed, value))
    return int(value)


def _auto_or_count(value: Any, name: str, quote_type: bool) -> int | None:
    """``"auto"`` -> None, else an int >= 1; a non-number shown by its type or value."""
    if is_auto(value):
        return None
    if isinstance(value, str):
        raise AcmeValueError(must_be(f"`{name}`", _COUNT, value))
    return _whole(value, name, _COUNT, 1, type_of(value) if quote_type else value)


def check_verbose(verbose: Any) -> bool | None:
    """Step 1: ``verbose`` is None, True or False."""
    if verbose is None or isinstance(verbose, bool):
        return verbose
    raise wrong_type("verbose", "`True`, `False` or `None`", verbose)


def check_n_inputs(n_inputs: Any) -> int | None:
    """Step 2: ``"auto"`` -> None, else an integral number >= 1."""
    return _auto_or_count(n_inputs, "n_inputs", quote_type=True)


def _output_mode(kw: dict[str, Any], has_task_id: bool) -> OutputMode:
    """Step 5: the three output flags, their combination and ignored options."""
    to_disk = as_flag(kw["write_worker_results"], "write_worker_results")
    single = as_flag(kw["single_file"], "single_file")
    pickle = as_flag(kw["write_pickle"], "write_pickle")
    if not to_disk:
        if single:
            logger.warning("Generating a single output file only possible if %s.", _ON)
        if pickle:
            logger.warning("Pickling of results only possible if %s", _ON)
        return OutputMode.USER_SAVES if has_task_id else OutputMode.MEMORY
    if single and pickle:
        raise AcmeValueError(
            "Pickling of results does not support single output file creation."
        )
    if not pickle:
        return OutputMode.HDF5_SINGLE if single else OutputMode.HDF5_PER_CALL
    if kw["result_shape"] is not None:
        logger.warning(
            "Pickling of results does not support output array shape specification."
        )
    return OutputMode.PICKLE


def _resume(value: Any, output: OutputMode, output_dir: Any) -> bool:
    resume = as_flag(value, "resume")
    if resume and not output.on_disk:
        raise AcmeValueError(f"`resume` is only valid if {_ON}")
    if resume and output_dir is None:
        raise AcmeValueError("`resume=True` requires an explicit `output_dir`")
    return resume


def _path(value: Any, name: str, allowed: str) -> Path:
    if not isinstance(value, str | os.PathLike):
        raise wrong_type(name, allowed, value)
    return Path(os.fspath(value)).expanduser().absolute()


def _output_dir(value: Any, output: OutputMode) -> Path | None:
    path = None if value is None else _path(value, "output_dir", "either `None` or str")
    if path is not None and not output.on_disk:
        logger.warning(
            "Output directory specification has no effect if "
            "`write_worker_results` is `False`."
        )
        return None
    return path


def _threshold(value: Any) -> int | None:
    if value is None:
        return None
    allowed = "`None` or an integer >= 0"
    return _whole(value, "cleanup_threshold_days", allowed, 0, type_of(value))


def _logfile(value: Any) -> Path | bool | None:
    allowed = "`None`, `True`, `False` or a valid file-name"
    if value is None or isinstance(value, bool):
        return value
    path = _path(value, "logfile", allowed)
    if path.is_dir():
        # the one message that names what the value is instead of showing it
        message = f"`logfile` has to be {allowed}, not a directory"
        raise OutputError(message, path=str(path))
    return path


def _stacking(shape: Any, dtype: Any, output: OutputMode) -> Stacking | None:
    """Step 9: ``result_shape`` (one None, at most one ``inf``), ``result_dtype``."""
    if shape is None:
        return None
    if not isinstance(shape, tuple | list):
        raise wrong_type("result_shape", "either `None` or tuple", shape)
    if not isinstance(dtype, str):
        raise wrong_type("result_dtype", "a string", dtype)
    if sum(entry is None for entry in shape) != 1:
        raise AcmeValueError("`result_shape` must contain exactly one `None` entry")
    infinite = [e for e in shape if is_number(e) and e == math.inf]
    if infinite and not output.on_disk:
        raise AcmeValueError(f"using `np.inf` in `result_shape` is only valid if {_ON}")
    if len(infinite) > 1:
        raise AcmeValueError("cannot use more than one `np.inf` in `result_shape`")
    sizes = [e for e in shape if e is not None]
    if not all(is_number(e) for e in sizes):
        raise AcmeValueError("`result_shape` must only contain numerical values")
    if not all(is_integral(e) and e >= 0 for e in sizes if e != math.inf):
        raise AcmeValueError("`result_shape` must only contain non-negative integers")
    try:
        np.dtype(dtype)
    except (TypeError, SyntaxError, ValueError) as exc:
        raise AcmeTypeError(
            f"`result_dtype` has to be a valid NumPy datatype specification. {exc}"
        ) from exc
    if output is OutputMode.PICKLE:  # pickles are not stacked
        return None
    normal = tuple(e if e is None or e == math.inf else int(e) for e in shape)
    return Stacking(normal, shape.index(None), dtype)


def _stop_client(value: Any) -> StopClient:
    if is_auto(value):
        return StopClient.OWNED
    if isinstance(value, str):
        raise AcmeValueError(must_be("`stop_client`", "'auto' or Boolean", value))
    return StopClient(as_flag(value, "stop_client"))


def _partition(value: Any) -> str | None:
    if not isinstance(value, str):
        raise wrong_type("partition", "'auto' or a valid SLURM partition name", value)
    return None if is_auto(value) else value


def _mem_per_worker(value: Any) -> int | None:
    return None if is_auto(value) else math.ceil(as_mem_mb(value, "mem_per_worker"))


def from_public(kw: dict[str, Any], has_task_id: bool) -> Settings:
    """Validate ``ParallelMap``'s own keywords (by public name) in ACME's order.

    ``has_task_id`` tells whether ``func`` has a ``taskID`` parameter.
    """
    dryrun = as_flag(kw["dryrun"], "dryrun")
    setup_interactive = as_flag(kw["setup_interactive"], "setup_interactive")
    output = _output_mode(kw, has_task_id)
    return Settings(  # keyword arguments are evaluated, so validated, in this order
        dryrun=dryrun,
        interactive=is_interactive(setup_interactive),
        output=output,
        resume=_resume(kw["resume"], output, kw["output_dir"]),
        output_dir=_output_dir(kw["output_dir"], output),
        cleanup_threshold_days=_threshold(kw["cleanup_threshold_days"]),
        logfile=_logfile(kw["logfile"]),
        stacking=_stacking(kw["result_shape"], kw["result_dtype"], output),
        n_workers=_auto_or_count(kw["n_workers"], "n_workers", quote_type=False),
        setup_timeout=float(as_int(kw["setup_timeout"], "setup_timeout", 0)),
        stop_client=_stop_client(kw["stop_client"]),
        partition=_partition(kw["partition"]),
        mem_per_worker_mb=_mem_per_worker(kw["mem_per_worker"]),
    )
