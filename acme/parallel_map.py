"""``ParallelMap``: the public boundary of acme.

The constructor does all set-up work, in this order::

    ParallelMap(func, *args, **kw)
     ├─ broadcast.plan_calls(func, args, kwargs, n) -> CallPlan
     ├─ _setup.check_arguments: sizes, nesting, callables
     ├─ _settings.from_public (the keywords) -> Settings
     ├─ _setup.set_up: output layout and record, log file, dry run, client
     │    -> RunSetup
     └─ ACMEdaemon: what ``with ParallelMap(...) as pmap`` binds
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Literal

from . import _logging
from ._checks import type_of
from ._run import RunConfig
from ._settings import check_n_inputs, check_verbose
from ._settings import from_public as settings_from_public
from ._setup import check_arguments, set_up
from ._version import __version__
from .broadcast import inspect_func, plan_calls
from .daemon import ACMEdaemon
from .errors import AcmeTypeError
from .results._record import CallRecord

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
        check_arguments(args, kwargs, plan, self._maxArgSize)
        settings = settings_from_public(own, spec.has_task_id)
        self._setup = set_up(func, spec, plan, settings, verbosity)
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


# ACME's own keywords of ParallelMap, as opposed to those of ``func``
_OWN_KEYWORDS = frozenset(inspect.signature(ParallelMap.__init__).parameters) - {
    "self",
    "func",
    "args",
    "kwargs",
    "n_inputs",
    "verbose",
}
