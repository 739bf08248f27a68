"""A run, assembled once: what ``ParallelMap``'s constructor does after planning.

In this order::

    set_up(func, spec, plan, settings, verbose) -> RunSetup
     ├─ compatibility ``config`` object, output layout, result sink
     ├─ housekeeping, output folder and its record, log file  (_prepare_output)
     ├─ dry run
     └─ client: attach or start  (_acquire_client)

Whatever it created is removed again when a step fails or the dry run is
declined (:class:`_Rollback`).
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import _logging
from ._dryrun import dry_run
from ._memory import estimate_memory_gb
from ._run import RunConfig, RunSetup
from ._settings import OutputMode, Settings, StopClient
from ._sizes import measure
from ._startup import acquire_client
from .broadcast import CallArgs, CallPlan, FuncSpec, call_arguments
from .cluster.client import ClientHandle
from .errors import AcmeValueError, OutputError
from .results import ResultSink, make_sink
from .results.housekeeping import clean_old_folders
from .results.identity import fingerprints, func_identity
from .results.layout import OutputLayout, default_base, log_file_name
from .results.manifest import RunRecord

__all__ = ["check_arguments", "set_up"]

logger = _logging.get_logger(__name__)


def check_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any], plan: CallPlan, max_mb: float
) -> None:
    """Warnings about large (over ``max_mb``) and callable arguments; too deeply
    nested ones fail.

    An argument whose lists, tuples, sets or dicts nest deeper than half the
    interpreter's recursion limit cannot be pickled for the workers: it raises
    AcmeValueError. Arguments of more than a million objects are measured over
    the first million, and the warning shows that lower bound.
    """
    named = [(f"positional argument {j}", v) for j, v in enumerate(args)]
    named += [(f"keyword argument {k!r}", v) for k, v in kwargs.items()]
    for name, value in named:
        found = measure(value)
        if found.depth > (limit := sys.getrecursionlimit() // 2):
            raise AcmeValueError(
                f"<ParallelMap> {name} has to nest lists, tuples, sets and "
                f"dicts at most {limit} levels deep (deeper ones cannot be "
                f"pickled for the workers), not a {type(value).__name__} nested "
                f"{found.depth} levels deep"
            )
        if found.mb > max_mb:
            logger.warning(
                "argument size %.2f MB exceeds recommended limit of %d MB. "
                "Distributing large variables across workers may result in "
                "poor performance.%s",
                found.mb,
                max_mb,
                ""
                if found.complete
                else " (at least: measuring stopped after 1000000 objects)",
            )
    for position, entry in enumerate(plan.argv):
        if _shared_callable(entry, plan.n_calls):
            logger.warning("single callable object detected at position %d", position)
    for key, entry in plan.kwargv.items():
        if _shared_callable(entry, plan.n_calls):
            logger.warning("single callable object detected in keyword %r", key)


def _shared_callable(entry: Any, n_inputs: int) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 1
        and n_inputs > 1
        and callable(entry[0])
    )


def _attach_log(path: Any) -> None:
    if path.exists():
        warnings.warn(f"log file {path} already exists, appending to it", stacklevel=4)
    try:
        _logging.attach_file(path)
    except OSError as exc:
        raise OutputError(
            f"cannot open log file {path}: {exc}", path=str(path)
        ) from exc


def set_up(
    func: Callable[..., Any],
    spec: FuncSpec,
    plan: CallPlan,
    settings: Settings,
    verbose: bool | None,
) -> RunSetup:
    """Output folder and record, log file, dry run and client: the run, built once."""
    if settings.output is OutputMode.MEMORY and not spec.has_task_id:
        logger.warning(
            "`write_worker_results` is `False` and `taskID` is not a keyword "
            "argument of %s. Results will be collected in memory by caller",
            spec.name,
        )
    config = _compat_config(func, plan, settings, verbose)
    layout = None
    if settings.output.on_disk:
        layout = OutputLayout.for_func(func, settings.output, settings.output_dir)
    sink = make_sink(settings, plan.n_calls, layout)
    handle = None
    call_args = call_arguments(plan.argv, plan.kwargv, plan.n_calls)
    with _Rollback(verbose, config) as rollback:
        record = _prepare_output(
            func, call_args, settings, layout, sink, config, rollback
        )
        if settings.dryrun and not dry_run(func, spec, call_args, settings, layout):
            rollback.undo()
        else:
            handle = _acquire_client(spec, settings, config, call_args)
    level = _logging.level_for(verbose)
    return RunSetup(spec, settings, sink, record, handle, config, level, config.logfile)


def _compat_config(
    func: Callable[..., Any], plan: CallPlan, settings: Settings, verbose: bool | None
) -> RunConfig:
    """ACME's ``config`` object with what the validated keywords say."""
    stacking, output = settings.stacking, settings.output
    memory = settings.mem_per_worker_mb
    return RunConfig(
        func=func,
        argv=plan.argv,
        kwargv=plan.kwargv,
        n_calls=plan.n_calls,
        collect_results=output is OutputMode.MEMORY,
        result_shape=stacking.normalised(plan.n_calls) if stacking else None,
        stacking_dim=stacking.axis if stacking else None,
        result_dtype=stacking.dtype if stacking else "float",
        write_worker_results=output.on_disk,
        single_file=output is OutputMode.HDF5_SINGLE,
        write_pickle=output is OutputMode.PICKLE,
        dryrun=settings.dryrun,
        resume=settings.resume,
        mem_per_worker=f"{memory}MB" if memory else None,
        setup_timeout=settings.setup_timeout,
        setup_interactive=settings.interactive,
        verbose=verbose,
        cleanup_threshold_days=settings.cleanup_threshold_days,
    )


class _Rollback:
    """Undo what a constructor created when it fails (or the dry run is declined)."""

    def __init__(self, verbose: bool | None, config: RunConfig) -> None:
        self.created: list[Path] = []
        self._verbose, self._config = verbose, config

    def __enter__(self) -> _Rollback:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None:
            self.undo()

    def undo(self) -> None:
        """Remove what was created (newest first, no symlinks followed); detach log."""
        _logging.configure(_logging.level_for(self._verbose))
        self._config.logfile = None
        for path in reversed(self.created):
            with contextlib.suppress(OSError):
                if path.is_symlink() or not path.is_dir():
                    path.unlink(missing_ok=True)
                else:
                    shutil.rmtree(path)
        self.created.clear()


def _prepare_output(
    func: Callable[..., Any],
    call_args: CallArgs,
    settings: Settings,
    layout: OutputLayout | None,
    sink: ResultSink,
    config: RunConfig,
    rollback: _Rollback,
) -> RunRecord | None:
    """Housekeeping, the output folder and its record, and the log file."""
    logfile, record = settings.logfile, None
    if layout is not None:
        if settings.output_dir is None:
            clean_old_folders(
                layout.folder.parent,
                settings.cleanup_threshold_days,
                settings.interactive,
            )
        identity = _identity(func, call_args, settings)
        record = RunRecord.open(
            layout, identity, settings.resume, sink, rollback.created
        )
        config.output_dir = str(layout.folder)
        if logfile is None or logfile is True:
            logfile = log_file_name(layout.folder, func)
    elif logfile is True:
        logfile = log_file_name(default_base(func), func)
    if isinstance(logfile, Path):
        if not logfile.exists():
            rollback.created.append(logfile)
        _attach_log(logfile)
    config.logfile = _logging.log_file()
    return record


def _identity(
    func: Callable[..., Any], call_args: CallArgs, settings: Settings
) -> dict[str, Any]:
    """What the manifest records to decide whether a later run may resume this one."""
    stacking = settings.stacking
    shape = stacking.normalised(call_args.n_calls) if stacking else None
    return {
        "function": func_identity(func),
        "n_inputs": call_args.n_calls,
        "mode": settings.output.value,
        "result_shape": None
        if shape is None
        else ["inf" if s == float("inf") else int(s) for s in shape],
        "result_dtype": stacking.dtype if stacking else None,
        "fingerprints": fingerprints(call_args),
    }


def _acquire_client(
    spec: FuncSpec, settings: Settings, config: RunConfig, call_args: CallArgs
) -> ClientHandle:
    """Attach to or start the client; note what was resolved in ``config``."""

    def estimate_gb() -> int:
        return estimate_memory_gb(config.func, spec.name, call_args, spec.has_task_id)

    setup = acquire_client(settings, config.n_calls, estimate_gb)
    config.client = setup.handle.client
    config.n_workers = setup.n_workers
    config.has_slurm = setup.on_slurm
    if setup.on_slurm:
        config.partition = setup.partition
        config.mem_per_worker = setup.mem_per_worker
    stop = settings.stop_client
    owned = setup.handle.owned
    config.stop_client = owned if stop is StopClient.OWNED else stop.value
    return setup.handle
