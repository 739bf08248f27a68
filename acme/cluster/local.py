"""``local_cluster_setup``: a ``distributed.LocalCluster`` on this machine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._interactive import ask_yes_no, is_interactive
from .._logging import ensure_configured, get_logger
from ._options import LocalOptions, local_options
from ._security import cluster_security, prepare_credentials

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["local_cluster_setup", "start_local"]

logger = get_logger(__name__)
_MAIN_PROMPT = (
    "If launched from a script, did you wrap your code inside a __main__ module "
    "block? [y/N] "
)


def start_local(options: LocalOptions) -> Client | None:
    """Steps 2-4 on validated options (ParallelMap starts its client here too)."""
    if is_interactive(options.interactive) and not ask_yes_no(
        _MAIN_PROMPT, default=False
    ):
        return None
    prepare_credentials()  # made by a child while distributed is imported
    from distributed import Client, LocalCluster  # lazy: not when acme is imported

    security, _ = cluster_security(on_slurm=False)  # credentials only in memory
    kwargs: dict[str, Any] = {"n_workers": options.n_workers, "host": "127.0.0.1"}
    kwargs["dashboard_address"] = "127.0.0.1:8787"  # dask would bind 0.0.0.0
    if options.memory_limit is not None:
        kwargs["memory_limit"] = options.memory_limit
    if security is not None:
        kwargs["security"] = security
    client = Client(LocalCluster(**kwargs))
    from .._plugin import prepare_workers  # lazy: needs distributed

    prepare_workers(client)  # a Ctrl-C here leaves the workers alone
    logger.info(
        "Local parallel computing client ready, dashboard accessible at %s",
        client.dashboard_link,
    )
    return client


def local_cluster_setup(
    n_workers: int | None = None,
    mem_per_worker: str | None = None,
    interactive: bool = True,
) -> Client | None:
    """Start a local multi-processing cluster and a client connected to it.

    Parameters
    ----------
    n_workers : int, optional
        Number of worker processes; None uses dask's default (one per core group).
    mem_per_worker : str, optional
        Memory limit per worker in dask's syntax (``"2GB"`` = 2*10**9 bytes).
    interactive : bool
        Ask, on a terminal, whether a script guards its code with ``__main__``.

    Returns
    -------
    distributed.Client or None
        The new client; None if the user answered no at the prompt.

    Examples
    --------
    >>> client = local_cluster_setup(n_workers=2, interactive=False)  # doctest: +SKIP
    """
    ensure_configured()
    return start_local(local_options(n_workers, mem_per_worker, interactive))
