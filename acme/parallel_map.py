"""``ParallelMap``: the public boundary of acme.

The constructor does all set-up work, in the order of API.md section 2.2::

    ParallelMap(func, *args, **kw)
     ├─ _settings (verbose, n_inputs, steps 3-14) -> Settings
     ├─ broadcast.plan_calls(func, args, kwargs, n) -> CallPlan
     ├─ output layout, log file (step 15)
     ├─ dry run (step 16)
     ├─ client: attach or start (step 17) -> ClientHandle
     └─ ACMEdaemon: what ``with ParallelMap(...) as pmap`` binds
"""

from __future__ import annotations

import math
import socket
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from . import _logging
from ._checks import type_of
from ._host import detect_site
from ._interactive import ask_yes_no
from ._memory import estimate_memory_gb
from ._settings import OutputMode, Settings, StopClient, check_n_inputs, check_verbose
from ._settings import from_public as settings_from_public
from ._version import __version__
from .broadcast import (
    CallPlan,
    FuncSpec,
    call_arguments,
    inspect_func,
    plan_calls,
    size_of,
)
from .cluster._slurm_info import use_slurm
from .cluster.client import ClientHandle, cluster_cleanup, find_client, live_workers
from .cluster.local import local_cluster_setup
from .cluster.sites import bic_cluster_setup, esi_cluster_setup
from .cluster.slurm import slurm_cluster_setup
from .daemon import ACMEdaemon, RunConfig, RunState
from .errors import AcmeTypeError, OutputError, SetupAbortedError
from .results import make_sink
from .results.hdf5 import PerCallSink
from .results.housekeeping import clean_old_folders
from .results.layout import (
    OutputLayout,
    default_base,
    log_file_name,
    new_run_folder,
    prepare,
    safe_name,
)
from .results.manifest import fingerprints, func_id
from .results.pickles import PickleSink

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["ParallelMap"]

logger = _logging.get_logger(__name__)
_OWN_KEYWORDS = (
    "write_worker_results",
    "cleanup_threshold_days",
    "output_dir",
    "result_shape",
    "result_dtype",
    "single_file",
    "write_pickle",
    "partition",
    "n_workers",
    "mem_per_worker",
    "setup_timeout",
    "setup_interactive",
    "stop_client",
    "dryrun",
    "logfile",
    "resume",
)


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
        own = dict(
            zip(
                _OWN_KEYWORDS,
                (
                    write_worker_results,
                    cleanup_threshold_days,
                    output_dir,
                    result_shape,
                    result_dtype,
                    single_file,
                    write_pickle,
                    partition,
                    n_workers,
                    mem_per_worker,
                    setup_timeout,
                    setup_interactive,
                    stop_client,
                    dryrun,
                    logfile,
                    resume,
                ),
                strict=True,
            )
        )
        settings = settings_from_public(own, spec.has_task_id)
        self._state = _new_state(func, spec, plan, settings, verbosity)
        self.daemon = ACMEdaemon(self)
        self._prepare_output()
        if settings.dryrun and not self._dry_run():
            return
        self._acquire_client()
        _logging.flush()

    # -- compatibility attributes -------------------------------------------------

    @property
    def func(self) -> Callable[..., Any]:
        """The user function."""
        return self._state.config.func

    @property
    def n_inputs(self) -> int:
        """Number of calls."""
        return self._state.config.n_calls

    @property
    def argv(self) -> list[Any]:
        """Per-call table of ``func``'s positional arguments (editable)."""
        return self._state.config.argv

    @argv.setter
    def argv(self, value: list[Any]) -> None:
        self._state.config.argv = value

    @property
    def kwargv(self) -> dict[str, Any]:
        """Per-call table of ``func``'s keyword arguments (editable)."""
        return self._state.config.kwargv

    @kwargv.setter
    def kwargv(self, value: dict[str, Any]) -> None:
        self._state.config.kwargv = value

    @property
    def config(self) -> RunConfig:
        """The daemon's run configuration."""
        return self._state.config

    @property
    def results_container(self) -> str | None:
        """Absolute path of the results container, else None."""
        return self.daemon.results_container

    def compute(self, debug: bool = False) -> Any:
        """Run every call and return the results (see the user guide for each mode).

        Parameters
        ----------
        debug : bool
            Run the calls one after another in this process (``pdb`` works).

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
        """Warnings of API.md section 3.5 about large and callable arguments."""
        named = [(None, value) for value in args] + list(kwargs.items())
        for name, value in named:
            try:
                size = size_of(value, name or "")
            except RecursionError:
                size = 0.0
            if size > self._maxArgSize:
                logger.warning(
                    "argument size %.2f MB exceeds recommended limit of %d MB. "
                    "Distributing large variables across workers may result in "
                    "poor performance.",
                    size,
                    self._maxArgSize,
                )
        for position, entry in enumerate(plan.argv):
            if _shared_callable(entry, plan.n_inputs):
                logger.warning(
                    "single callable object detected at position %d", position
                )
        for key, entry in plan.kwargv.items():
            if _shared_callable(entry, plan.n_inputs):
                logger.warning("single callable object detected in keyword %r", key)

    def _prepare_output(self) -> None:
        """Step 15: previous run, housekeeping, output folder and log file."""
        state, config = self._state, self._state.config
        settings, func = state.settings, config.func
        logfile = settings.logfile
        folder = state.folder
        if folder is not None:
            if settings.output_dir is None:
                clean_old_folders(
                    folder.parent, settings.cleanup_threshold_days, settings.interactive
                )
            state.layout = prepare(
                folder,
                safe_name(func),
                settings.output,
                state.identity,
                settings.resume,
                settings.stacking,
            )
            config.output_dir = str(folder)
            if logfile is None or logfile is True:
                logfile = log_file_name(folder, func)
        elif logfile is True:
            logfile = log_file_name(default_base(func), func)
        if isinstance(logfile, Path):
            if not logfile.exists() and state.layout is not None:
                state.layout.created.append(logfile)
            _attach_log(logfile)
        config.logfile = _logging.log_file()

    def _dry_run(self) -> bool:
        """Step 16: run one random call here; False if the user declines to go on."""
        import random

        import psutil

        state, config = self._state, self._state.config
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

    def _acquire_client(self) -> None:
        """Step 17: attach to the default client or start one."""
        state, config = self._state, self._state.config
        client = find_client()
        if client is not None:
            logger.info("Attaching to parallel computing client %s", client)
            if state.settings.n_workers is not None:
                logger.debug("`n_workers` is ignored when attaching to a client")
            state.handle = ClientHandle(client, owned=False)
            config.n_workers = live_workers(client)
        else:
            state.handle = ClientHandle(self._start_client(), owned=True)
            try:
                cluster = state.handle.client.cluster
                config.n_workers = len(cluster.workers) if cluster else None
            except BaseException:
                cluster_cleanup(state.handle.client)
                raise
        config.client = state.handle.client
        stop = state.settings.stop_client
        config.stop_client = (
            state.handle.owned if stop is StopClient.OWNED else stop.value
        )

    def _start_client(self) -> Client:
        """Start a local or SLURM cluster for this map (API.md 6.1-6.3, 6.6)."""
        state, config = self._state, self._state.config
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


def _output_folder(settings: Settings, func: Callable[..., Any]) -> Path | None:
    """The output folder of a run writing files (not created here), else None."""
    if not settings.output.on_disk:
        return None
    if settings.output_dir is not None:
        return settings.output_dir
    return new_run_folder(default_base(func))


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


def _new_state(
    func: Callable[..., Any],
    spec: FuncSpec,
    plan: CallPlan,
    settings: Settings,
    verbose: bool | None,
) -> RunState:
    """The run state and ACME's ``config`` object for a validated map."""
    if settings.output is OutputMode.MEMORY and not spec.has_task_id:
        logger.warning(
            "`write_worker_results` is `False` and `taskID` is not a keyword argument "
            "of %s. Results will be collected in memory by caller",
            spec.name,
        )
    stacking = settings.stacking
    output = settings.output
    config = RunConfig(
        func=func,
        argv=plan.argv,
        kwargv=plan.kwargv,
        n_calls=plan.n_inputs,
        collect_results=output is OutputMode.MEMORY,
        result_shape=stacking.normalised(plan.n_inputs) if stacking else None,
        stacking_dim=stacking.axis if stacking else None,
        result_dtype=stacking.dtype if stacking else "float",
        write_worker_results=output.on_disk,
        single_file=output is OutputMode.HDF5_SINGLE,
        write_pickle=output is OutputMode.PICKLE,
        dryrun=settings.dryrun,
        resume=settings.resume,
        mem_per_worker=(
            f"{settings.mem_per_worker_mb}MB" if settings.mem_per_worker_mb else None
        ),
        setup_timeout=settings.setup_timeout,
        setup_interactive=settings.interactive,
        verbose=verbose,
        cleanup_threshold_days=settings.cleanup_threshold_days,
    )
    folder = _output_folder(settings, func)
    sink = make_sink(settings, plan.n_inputs, folder, safe_name(func))
    identity: dict[str, Any] = {}
    if folder is not None:
        shared = call_arguments(plan.argv, plan.kwargv, plan.n_inputs)
        identity = {
            "function": func_id(func),
            "n_inputs": plan.n_inputs,
            "mode": output.value,
            "result_shape": _json_shape(config.result_shape),
            "result_dtype": stacking.dtype if stacking else None,
            "fingerprints": fingerprints(shared),
        }
    return RunState(spec, settings, config, sink, folder, identity)


def _json_shape(shape: tuple[float, ...] | None) -> list[Any] | None:
    """A result shape in JSON-safe form (``inf`` as the string ``"inf"``)."""
    if shape is None:
        return None
    return ["inf" if s == float("inf") else int(s) for s in shape]
