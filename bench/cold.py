"""startup-cold: one fresh interpreter starts its own cluster, runs 2 calls, stops.

The harness times this script from process start to exit, once per run::

    python bench/cold.py acme|dask|joblib [--partition NAME] [--tls]

* ``acme``: ``ParallelMap(f, [0, 1], 2, 3, n_workers=2, ...)`` with no client
  around, so it starts its own ``LocalCluster`` and shuts it down when the
  ``with`` block ends (whichever ``acme`` this interpreter imports);
* ``dask``: ``LocalCluster(n_workers=2, threads_per_worker=1)`` + ``Client``
  (with ``--tls``: secured by distributed's ``Security.temporary()``);
* ``joblib``: ``Parallel(n_jobs=2)`` (loky).

It checks the results, prints its peak RSS as one JSON line and exits with 1 on
a wrong result. Only what the implementation needs is imported.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from typing import Any

EXPECTED = [6, 9]  # f(x, 2, 3) for x in [0, 1]


def f(x: int, y: int, z: int) -> int:
    """Return ``(x + y) * z``."""
    return (x + y) * z


def run_acme(partition: str) -> list[Any]:
    """Let ``ParallelMap`` start and stop its own cluster."""
    from acme import ParallelMap

    with ParallelMap(
        f,
        [0, 1],
        2,
        3,
        n_workers=2,
        write_worker_results=False,
        verbose=False,
        partition=partition,
    ) as pmap:
        results: list[Any] = pmap.compute()
    return results


def run_dask(tls: bool) -> list[Any]:
    """Start a ``LocalCluster`` and a ``Client``, map, gather, shut down."""
    from distributed import Client, LocalCluster
    from distributed.security import Security

    security = Security.temporary() if tls else None
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            security=security,
        ) as cluster,
        Client(cluster, security=security) as client,
    ):
        results: list[Any] = client.gather(client.map(f, [0, 1], y=2, z=3, pure=False))
    return results


def run_joblib() -> list[Any]:
    """Run both calls with ``joblib.Parallel(n_jobs=2)``."""
    from joblib import Parallel, delayed

    results: list[Any] = Parallel(n_jobs=2)(delayed(f)(x, 2, 3) for x in [0, 1])
    return results


def main() -> int:
    """Run one cold start of the implementation named on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=("acme", "dask", "joblib"))
    parser.add_argument("--partition", default="auto")
    parser.add_argument("--tls", action="store_true", help="dask: a TLS cluster")
    options = parser.parse_args()
    if options.kind == "acme":
        results = run_acme(options.partition)
    elif options.kind == "dask":
        results = run_dask(options.tls)
    else:
        results = run_joblib()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"results": results, "maxrss_mb": round(maxrss, 1)}))
    return 0 if results == EXPECTED else 1


if __name__ == "__main__":
    sys.exit(main())
