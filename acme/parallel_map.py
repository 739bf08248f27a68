"""``ParallelMap``: the public boundary of acme.

The constructor does all set-up work, in this order::

    ParallelMap(func, *args, **kw)
     ├─ _settings (verbose, n_inputs, steps 3-14) -> Settings
     ├─ broadcast.plan_calls(func, args, kwargs, n) -> CallPlan
     ├─ output layout, log file (step 15)
     ├─ dry run (step 16)
     ├─ client: attach or start (step 17) -> ClientHandle
     └─ ACMEdaemon: what ``with ParallelMap(...) as pmap`` binds
"""

from __future__ import annotations

import contextlib
import inspect
import shutil
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from . import _logging
from ._checks import type_of
from ._dryrun import dry_run
from ._memory import estimate_memory_gb
from ._settings import OutputMode, Settings, StopClient, check_n_inputs, check_verbose
from ._settings import from_public as settings_from_public
from ._startup import acquire_client
from ._version import __version__
from .broadcast import (
    CallArgs,
    CallPlan,
    FuncSpec,
    call_arguments,
    inspect_func,
    measure,
    plan_calls,
)
from .cluster.client import ClientHandle
from .daemon import ACMEdaemon, RunConfig, RunSetup
from .errors import AcmeTypeError, AcmeValueError, OutputError
from .results import ResultSink, make_sink
from .results._record import CallRecord
from .results.housekeeping import clean_old_folders
from .results.identity import fingerprints, func_identity
from .results.layout import OutputLayout, default_base, log_file_name
from .results.manifest import RunRecord

__all__ = ["ParallelMap"]

logger = _logging.get_logger(__name__)


class ParallelMap:
    """Run ``func`` once per element of its vector arguments on a dask cluster.

    Parameters
    ----------
    func : callable
        The function to run; its signature decides how arguments are broadcast.
    *args
        Positional arguments of ``func``. A list, tuple or 1-D array with one
        element per call is split (call *i* gets element *i*); anything else is
        passed unchanged to every call.
    n_inputs : int or "auto"
        Number of calls; "auto" infers it from the vector arguments.
    write_worker_results : bool
        True: each call's result is written to disk by the worker.
        False: results are collected in memory, or ``func`` saves them itself
        when it has a ``taskID`` parameter.
    cleanup_threshold_days : int, optional
        Delete acme output folders older than this many days in the default
        output base folder.
    output_dir : str or os.PathLike, optional
        Folder for the results; default ``ACME_<timestamp>`` beside ``func``'s file.
    result_shape : tuple or list, optional
        Shape of the stacked result with one ``None`` marking the stacking axis.
    result_dtype : str
        NumPy dtype of the stacked result.
    single_file : bool
        Write all results into one HDF5 file.
    write_pickle : bool
        Pickle results instead of writing HDF5.
    partition : str
        SLURM partition, or "auto" to pick one by estimated memory.
    n_workers : int or "auto"
        Number of workers acme starts when no client exists.
    mem_per_worker : str
        Memory per SLURM worker (``"8GB"``, ``"12000MB"``) or "auto".
    setup_timeout : int
        Seconds to wait for SLURM workers to come up.
    setup_interactive : bool
        Allow prompts (only on a terminal).
    stop_client : bool or "auto"
        What ``cleanup()`` shuts down: "auto" a client acme started, True any.
    verbose : bool, optional
        None: INFO, True: DEBUG, False: WARNING (and no progress bar).
    dryrun : bool
        Run one random call in this process first and ask whether to go on.
    logfile : bool, str or os.PathLike, optional
        Where the run's log is written (see the user guide).
    resume : bool
        Continue an interrupted run in ``output_dir``, re-running only unfinished calls.
    **kwargs
        Keyword arguments of ``func``, broadcast like ``*args``.

    Examples
    --------
    >>> def f(x, y, z=3):
    ...     return (x + y) * z
    >>> pmap = ParallelMap(f, [2, 4, 6, 8], 4,  # doctest: +SKIP
    ...                    write_worker_results=False)
    >>> with pmap:  # doctest: +SKIP
    ...     results = pmap.compute()
    >>> results  # doctest: +SKIP
    [18, 24, 30, 36]
    """

    _maxArgSize = 1024  # noqa: N815  ACME name (MB)

    def __init__(
        self,
        func: Callable[..., Any],
        *args: Any,
        n_inputs: int | Literal["auto"] = "auto",
        write_worker_results: bool = True,
        cleanup_threshold_days: int | None = None,
        output_dir: str | None = None,
        result_shape: tuple[int | float | None, ...] | list[Any] | None = None,
        result_dtype: str = "float",
        single_file: bool = False,
        write_pickle: bool = False,
        partition: str = "auto",
        n_workers: int | Literal["auto"] = "auto",
        mem_per_worker: str = "auto",
        setup_timeout: int = 60,
        setup_interactive: bool = True,
        stop_client: bool | Literal["auto"] = "auto",
        verbose: bool | None = None,
        dryrun: bool = False,
        logfile: bool | str | None = None,
        resume: bool = False,
        **kwargs: Any,
    ) -> None:
        own = {key: value for key, value in locals().items() if key in _OWN_KEYWORDS}
        verbosity = check_verbose(verbose)
        _logging.configure(_logging.level_for(verbosity))
        logger.log(_logging.ANNOUNCE, "This is ACME v. %s", __version__)
        if not callable(func):
            raise AcmeTypeError(
                "<ParallelMap> first input has to be a callable function, "
                f"not {type_of(func)}"
            )
        spec = inspect_func(func)
        plan = plan_calls(func, args, kwargs, check_n_inputs(n_inputs))
        self._warn_arguments(args, kwargs, plan)
        settings = settings_from_public(own, spec.has_task_id)
        self._setup = _set_up(func, spec, plan, settings, verbosity)
        self.daemon = ACMEdaemon(self)
        _logging.flush()

    # -- compatibility attributes -------------------------------------------------

    @property
    def func(self) -> Callable[..., Any]:
        """The user function."""
        return self._setup.config.func

    @property
    def n_inputs(self) -> int:
        """Number of calls."""
        return self._setup.config.n_calls

    @property
    def argv(self) -> list[Any]:
        """Per-call table of ``func``'s positional arguments (editable)."""
        return self._setup.config.argv

    @argv.setter
    def argv(self, value: list[Any]) -> None:
        self._setup.config.argv = value

    @property
    def kwargv(self) -> dict[str, Any]:
        """Per-call table of ``func``'s keyword arguments (editable)."""
        return self._setup.config.kwargv

    @kwargv.setter
    def kwargv(self, value: dict[str, Any]) -> None:
        self._setup.config.kwargv = value

    @property
    def config(self) -> RunConfig:
        """The daemon's run configuration."""
        return self._setup.config

    @property
    def results_container(self) -> str | None:
        """Absolute path of the results container, else None."""
        return self.daemon.results_container

    @property
    def records(self) -> list[CallRecord]:
        """What each call of the last ``compute()`` did, in call order.

        Its printed output, attempt, run and CPU time, peak memory, host,
        worker and SLURM job (:class:`acme.results.CallRecord`); also after
        ``compute()`` raised. Empty before the first ``compute()``. With
        results on disk they are kept in the output folder too
        (:func:`acme.results.load_records`).
        """
        return self.daemon.records

    def compute(self, debug: bool = False) -> Any:
        """Run every call and return the results.

        Parameters
        ----------
        debug : bool
            Run the calls one after another in this process (``pdb`` works).

        Returns
        -------
        list or numpy.ndarray or None
            Depending on where the results go:

            * HDF5, one file per call (the default): the list of the per-call
              files' absolute paths, in call order (when HDF5 could not store
              some value, the files moved up into the output folder, and no
              container);
            * ``single_file=True``: a list holding the single file's path;
            * ``write_pickle=True``: the list of the per-call pickle paths;
            * ``write_worker_results=False``: the values in call order, or
              with ``result_shape`` the stacked array (the user guide's
              results section has the details);
            * ``write_worker_results=False`` and a ``taskID`` parameter (the
              function saves its results itself): None.

            ``pmap.results_container`` is the container (or single file) after
            a run that wrote one, else None.

        Raises
        ------
        acme.errors.ComputationError
            If calls failed; it lists them and chains the first exception.
        """
        return self.daemon.compute(debug)

    def cleanup(self) -> None:
        """Release the client according to ``stop_client``; idempotent."""
        self.daemon.cleanup()

    def __enter__(self) -> ACMEdaemon:
        return self.daemon

    def __exit__(self, *exc_info: object) -> Literal[False]:
        self.cleanup()
        return False

    # -- set-up steps ---------------------------------------------------------------

    def _warn_arguments(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], plan: CallPlan
    ) -> None:
        """Warnings about large and callable arguments; too deeply nested ones fail.

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
            if found.mb > self._maxArgSize:
                logger.warning(
                    "argument size %.2f MB exceeds recommended limit of %d MB. "
                    "Distributing large variables across workers may result in "
                    "poor performance.%s",
                    found.mb,
                    self._maxArgSize,
                    ""
                    if found.complete
                    else " (at least: measuring stopped after 1000000 objects)",
                )
        for position, entry in enumerate(plan.argv):
            if _shared_callable(entry, plan.n_calls):
                logger.warning(
                    "single callable object detected at position %d", position
                )
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


# ACME's own keywords of ParallelMap, as opposed to those of ``func``
_OWN_KEYWORDS = frozenset(inspect.signature(ParallelMap.__init__).parameters) - {
    "self",
    "func",
    "args",
    "kwargs",
    "n_inputs",
    "verbose",
}


def _set_up(
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
