"""What a run is, once set up: ACME's ``config`` object and the assembled pieces.

:class:`RunConfig` is ``pmap.config``, the resolved facts as ACME exposed them;
:class:`RunSetup` is what :func:`acme._setup.set_up` assembled and hands to the
daemon.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._settings import Settings
from .broadcast import FuncSpec
from .cluster.client import ClientHandle
from .results import ResultSink
from .results.manifest import RunRecord

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["RunConfig", "RunSetup"]


@dataclass
class RunConfig:
    """The resolved facts of a run, as ACME exposed them (``pmap.config``).

    Filled once by ``ParallelMap``. acme itself reads back only what users may
    change: ``client`` (None ends the map) and the ``argv``/``kwargv`` tables.

    Attributes
    ----------
    func : callable
        The mapped function.
    argv, kwargv : list, dict
        The per-call tables of positional and keyword arguments (editable
        before ``compute()``).
    n_calls : int
        The number of calls (``n_inputs``).
    n_workers : int or None
        Workers of the client when the map started it or attached to it.
    client : distributed.Client or None
        The client in use; None once the map is cleaned up.
    output_dir : str or None
        The run's output folder (None in memory).
    collect_results, write_worker_results, single_file, write_pickle : bool
        How results are kept: returned in memory, written by the workers, into
        one HDF5 file, or pickled.
    results_container : str or None
        The container (or single file) after ``compute()``.
    result_shape, stacking_dim, result_dtype : tuple, int, str
        The stacked dataset's shape, the dimension that grows with the calls,
        and its dtype (``result_shape`` given).
    dryrun, resume : bool
        The constructor's switches.
    stop_client : bool
        Whether ``cleanup()`` shuts the client down (``"auto"`` resolved:
        True for a client the map started).
    partition, mem_per_worker : str or None
        What SLURM workers were started with (``has_slurm``).
    setup_timeout : float
        Seconds to wait for the first SLURM worker.
    setup_interactive : bool
        Whether acme may ask questions (only with a terminal).
    verbose : bool or None
        The logging verbosity asked for.
    logfile : str or None
        The run's log file.
    cleanup_threshold_days : int or None
        Age in days beyond which old acme output folders in the default
        output base folder are deleted.
    has_slurm : bool
        Whether the map started SLURM workers.
    """

    func: Callable[..., Any]
    argv: list[Any]
    kwargv: dict[str, Any]
    n_calls: int
    n_workers: int | None = None
    client: Client | None = None
    output_dir: str | None = None
    collect_results: bool = False
    results_container: str | None = None
    result_shape: tuple[float, ...] | None = None
    stacking_dim: int | None = None
    result_dtype: str = "float"
    write_worker_results: bool = True
    single_file: bool = False
    write_pickle: bool = False
    dryrun: bool = False
    resume: bool = False
    stop_client: bool = False
    partition: str | None = None
    mem_per_worker: str | None = None
    setup_timeout: float = 60
    setup_interactive: bool = False
    verbose: bool | None = None
    logfile: str | None = None
    cleanup_threshold_days: int | None = None
    has_slurm: bool = False


@dataclass(frozen=True, slots=True)
class RunSetup:
    """What a ``ParallelMap`` set up, assembled once and handed to its daemon."""

    spec: FuncSpec
    settings: Settings
    sink: ResultSink
    record: RunRecord | None
    handle: ClientHandle | None
    config: RunConfig
    log_level: int
    log_file: str | None  # this run's log file: its records go there, and only there
