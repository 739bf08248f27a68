"""The state of one run: ACME's ``config`` object and what the constructor set up.

``ParallelMap`` builds it with :func:`new_state`; ``ACMEdaemon`` works with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._logging import get_logger
from ._settings import OutputMode, Settings
from .broadcast import CallPlan, FuncSpec, call_arguments
from .cluster.client import ClientHandle
from .results import ResultSink, make_sink
from .results.layout import OutputLayout, default_base, new_run_folder, safe_name
from .results.manifest import fingerprints, func_id

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["RunConfig", "RunState", "new_state"]

logger = get_logger(__name__)


@dataclass
class RunConfig:
    """The resolved facts of a run, as ACME exposed them (``pmap.config``)."""

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


@dataclass(slots=True)
class RunState:
    """What ``ParallelMap`` set up and the daemon works with."""

    spec: FuncSpec
    settings: Settings
    config: RunConfig
    sink: ResultSink
    folder: Path | None = None
    identity: dict[str, Any] = field(default_factory=dict)
    layout: OutputLayout | None = None
    handle: ClientHandle | None = None


def _output_folder(settings: Settings, func: Callable[..., Any]) -> Path | None:
    """The output folder of a run writing files (not created here), else None."""
    if not settings.output.on_disk:
        return None
    if settings.output_dir is not None:
        return settings.output_dir
    return new_run_folder(default_base(func))


def new_state(
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
        mem_per_worker=(
            f"{settings.mem_per_worker_mb}MB" if settings.mem_per_worker_mb else None
        ),
        setup_timeout=settings.setup_timeout,
        setup_interactive=settings.interactive,
        verbose=verbose,
        cleanup_threshold_days=settings.cleanup_threshold_days,
    )
    folder = _output_folder(settings, func)
    sink = make_sink(settings, plan.n_calls, folder, safe_name(func))
    identity: dict[str, Any] = {}
    if folder is not None:
        call_args = call_arguments(plan.argv, plan.kwargv, plan.n_calls)
        identity = {
            "function": func_id(func),
            "n_inputs": plan.n_calls,
            "mode": output.value,
            "result_shape": _json_shape(config.result_shape),
            "result_dtype": stacking.dtype if stacking else None,
            "fingerprints": fingerprints(call_args),
        }
    return RunState(spec, settings, config, sink, folder, identity)


def _json_shape(shape: tuple[float, ...] | None) -> list[Any] | None:
    """A result shape in JSON-safe form (``inf`` as the string ``"inf"``)."""
    if shape is None:
        return None
    return ["inf" if s == float("inf") else int(s) for s in shape]
