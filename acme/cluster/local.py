"""``local_cluster_setup``: a ``distributed.LocalCluster`` on this machine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._checks import as_bool, as_int, type_of
from .._interactive import ask_yes_no, is_interactive
from .._logging import ensure_configured, get_logger
from ..errors import AcmeTypeError, AcmeValueError

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["local_cluster_setup"]

logger = get_logger(__name__)
_MAIN_PROMPT = (
    "If launched from a script, did you wrap your code inside a __main__ module "
    "block? [y/N] "
)


def _memory_limit(value: Any) -> str | None:
    if value is None:
        return None
    from dask.utils import parse_bytes

    if not isinstance(value, str):
        raise AcmeTypeError(
            f"`mem_per_worker` has to be `None` or a memory string such as '2GB', "
            f"not {type_of(value)}"
        )
    try:
        parse_bytes(value)
    except ValueError as exc:
        raise AcmeValueError(
            f"`mem_per_worker` has to be `None` or a memory string such as '2GB', "
            f"not {value!r}"
        ) from exc
    return value


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
    as_bool(interactive, "`interactive` has to be Boolean, not {type}")
    if n_workers is not None:
        n_workers = as_int(n_workers, "n_workers", 1)
    memory = _memory_limit(mem_per_worker)
    if is_interactive(interactive) and not ask_yes_no(_MAIN_PROMPT, default=False):
        return None
    from distributed import Client, LocalCluster

    if n_workers is None and memory is None:
        client = Client()
    else:
        options: dict[str, Any] = {"n_workers": n_workers}
        if memory is not None:
            options["memory_limit"] = memory
        client = Client(LocalCluster(**options))
    logger.info(
        "Local parallel computing client ready, dashboard accessible at %s",
        client.dashboard_link,
    )
    return client
