"""``ParallelMap`` keywords -> a frozen :class:`Settings` object.

The only ParallelMap code that compares against ``"auto"``. Every argument error
of the constructor's steps 3-14 is raised here, in order.
"""

from __future__ import annotations

import enum
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import _checks
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
_BOOL = "`{name}` has to be `True` or `False`, not {{type}}"


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
        return self in (
            OutputMode.HDF5_PER_CALL,
            OutputMode.HDF5_SINGLE,
            OutputMode.PICKLE,
        )


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


def check_verbose(verbose: Any) -> bool | None:
    """Step 1: ``verbose`` is None, True or False."""
    if verbose is None or isinstance(verbose, bool):
        return verbose
    raise AcmeTypeError(
        f"`verbose` has to be `True`, `False` or `None`, not {_checks.type_of(verbose)}"
    )


def check_n_inputs(n_inputs: Any) -> int | None:
    """Step 2: ``"auto"`` -> None, else an integral number >= 1."""
    message = "`n_inputs` has to be 'auto' or an integer >= 1, not {!r}"
    if isinstance(n_inputs, str):
        if n_inputs == "auto":
            return None
        raise AcmeValueError(message.format(n_inputs))
    if not _checks.is_number(n_inputs):
        raise AcmeTypeError(message.format(_checks.type_of(n_inputs)))
    if not _checks.is_integral(n_inputs) or n_inputs < 1:
        raise AcmeValueError(message.format(n_inputs))
    return int(n_inputs)


def _flag(value: Any, name: str) -> bool:
    return _checks.as_bool(value, _BOOL.format(name=name))


def _output_mode(kw: dict[str, Any], has_task_id: bool) -> OutputMode:
    """Step 5: the three output flags, their combination and ignored options."""
    to_disk = _flag(kw["write_worker_results"], "write_worker_results")
    single = _flag(kw["single_file"], "single_file")
    pickle = _flag(kw["write_pickle"], "write_pickle")
    if not to_disk:
        if single:
            logger.warning(
                "Generating a single output file only possible if "
                "`write_worker_results` is `True`."
            )
        if pickle:
            logger.warning(
                "Pickling of results only possible if `write_worker_results` is `True`"
            )
        return OutputMode.USER_SAVES if has_task_id else OutputMode.MEMORY
    if single and pickle:
        raise AcmeValueError(
            "Pickling of results does not support single output file creation."
        )
    if pickle and kw["result_shape"] is not None:
        logger.warning(
            "Pickling of results does not support output array shape specification."
        )
    if pickle:
        return OutputMode.PICKLE
    return OutputMode.HDF5_SINGLE if single else OutputMode.HDF5_PER_CALL


def _resume(value: Any, output: OutputMode, output_dir: Any) -> bool:
    """Step 6."""
    resume = _flag(value, "resume")
    if resume and not output.on_disk:
        raise AcmeValueError(
            "`resume` is only valid if `write_worker_results` is `True`"
        )
    if resume and output_dir is None:
        raise AcmeValueError("`resume=True` requires an explicit `output_dir`")
    return resume


def _output_dir(value: Any, output: OutputMode) -> Path | None:
    """Step 7, first half."""
    if value is None:
        return None
    if not isinstance(value, str | os.PathLike):
        raise AcmeTypeError(
            f"`output_dir` has to be either `None` or str, not {_checks.type_of(value)}"
        )
    if not output.on_disk:
        logger.warning(
            "Output directory specification has no effect if "
            "`write_worker_results` is `False`."
        )
        return None
    return Path(os.fspath(value)).expanduser().absolute()


def _threshold(value: Any) -> int | None:
    """Step 7, second half."""
    message = "`cleanup_threshold_days` has to be `None` or an integer >= 0, not {!r}"
    if value is None:
        return None
    if not _checks.is_number(value):
        raise AcmeTypeError(message.format(_checks.type_of(value)))
    if not _checks.is_integral(value) or value < 0:
        raise AcmeValueError(message.format(value))
    return int(value)


def _logfile(value: Any) -> Path | bool | None:
    """Step 8."""
    message = "`logfile` has to be `None`, `True`, `False` or a valid file-name, not "
    if value is None or isinstance(value, bool):
        return value
    if not isinstance(value, str | os.PathLike):
        raise AcmeTypeError(message + _checks.type_of(value))
    path = Path(os.fspath(value)).expanduser().absolute()
    if path.is_dir():
        raise OutputError(message + "a directory", path=str(path))
    return path


def _stacking(shape: Any, dtype: Any, output: OutputMode) -> Stacking | None:
    """Step 9: ``result_shape``, then ``result_dtype``."""
    if shape is None:
        return None
    if not isinstance(shape, tuple | list):
        raise AcmeTypeError(
            "`result_shape` has to be either `None` or tuple, "
            f"not {_checks.type_of(shape)}"
        )
    if not isinstance(dtype, str):
        raise AcmeTypeError(
            f"`result_dtype` has to be a string, not {_checks.type_of(dtype)}"
        )
    if sum(entry is None for entry in shape) != 1:
        raise AcmeValueError("`result_shape` must contain exactly one `None` entry")
    infinite = [e for e in shape if _checks.is_number(e) and e == math.inf]
    if infinite and not output.on_disk:
        raise AcmeValueError(
            "using `np.inf` in `result_shape` is only valid if "
            "`write_worker_results` is `True`"
        )
    if len(infinite) > 1:
        raise AcmeValueError("cannot use more than one `np.inf` in `result_shape`")
    sizes = [e for e in shape if e is not None]
    if not all(_checks.is_number(e) for e in sizes):
        raise AcmeValueError("`result_shape` must only contain numerical values")
    finite = [e for e in sizes if e != math.inf]
    if not all(_checks.is_integral(e) and e >= 0 for e in finite):
        raise AcmeValueError("`result_shape` must only contain non-negative integers")
    try:
        np.dtype(dtype)
    except (TypeError, SyntaxError, ValueError) as exc:
        raise AcmeTypeError(
            f"`result_dtype` has to be a valid NumPy datatype specification. {exc}"
        ) from exc
    normal = tuple(e if e is None or e == math.inf else int(e) for e in shape)
    return Stacking(normal, shape.index(None), dtype)


def _n_workers(value: Any) -> int | None:
    """Step 10."""
    message = "`n_workers` has to be 'auto' or an integer >= 1, not {!r}"
    if value == "auto" and isinstance(value, str):
        return None
    if isinstance(value, str):
        raise AcmeValueError(message.format(value))
    if not _checks.is_number(value):
        raise AcmeTypeError(message.format(value))
    if not _checks.is_integral(value) or value < 1:
        raise AcmeValueError(message.format(value))
    return int(value)


def _setup_timeout(value: Any) -> float:
    """Step 11."""
    if not _checks.is_number(value):
        raise AcmeTypeError(
            f"`setup_timeout` has to be a scalar, not {_checks.type_of(value)}"
        )
    if not _checks.is_integral(value) or value < 0:
        raise AcmeValueError(
            f"`setup_timeout` has to be an integer between 0 and inf, not {value!r}"
        )
    return float(value)


def _stop_client(value: Any) -> StopClient:
    """Step 12."""
    if isinstance(value, str):
        if value == "auto":
            return StopClient.OWNED
        raise AcmeValueError(
            f"`stop_client` has to be 'auto' or Boolean, not {value!r}"
        )
    return StopClient(_flag(value, "stop_client"))


def _partition(value: Any) -> str | None:
    """Step 13."""
    if not isinstance(value, str):
        raise AcmeTypeError(
            "`partition` has to be 'auto' or a valid SLURM partition name, "
            f"not {_checks.type_of(value)}"
        )
    return None if value == "auto" else value


def _mem_per_worker(value: Any) -> int | None:
    """Step 14."""
    if isinstance(value, str) and value == "auto":
        return None
    return math.ceil(_checks.as_mem_mb(value, "mem_per_worker"))


def from_public(kw: dict[str, Any], has_task_id: bool) -> Settings:
    """Validate the keywords of steps 3-14 in order.

    Parameters
    ----------
    kw : dict
        ``ParallelMap``'s own keywords by public name.
    has_task_id : bool
        Whether ``func`` has a ``taskID`` parameter.
    """
    dryrun = _flag(kw["dryrun"], "dryrun")
    interactive = is_interactive(_flag(kw["setup_interactive"], "setup_interactive"))
    output = _output_mode(kw, has_task_id)
    resume = _resume(kw["resume"], output, kw["output_dir"])
    output_dir = _output_dir(kw["output_dir"], output)
    threshold = _threshold(kw["cleanup_threshold_days"])
    logfile = _logfile(kw["logfile"])
    stacking = _stacking(kw["result_shape"], kw["result_dtype"], output)
    if output is OutputMode.PICKLE:
        stacking = None
    return Settings(
        output=output,
        stacking=stacking,
        output_dir=output_dir,
        cleanup_threshold_days=threshold,
        logfile=logfile,
        n_workers=_n_workers(kw["n_workers"]),
        setup_timeout=_setup_timeout(kw["setup_timeout"]),
        interactive=interactive,
        stop_client=_stop_client(kw["stop_client"]),
        partition=_partition(kw["partition"]),
        mem_per_worker_mb=_mem_per_worker(kw["mem_per_worker"]),
        dryrun=dryrun,
        resume=resume,
    )
