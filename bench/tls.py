"""What TLS costs: startup-cold and tiny-mem with and without it, in one run.

Every repeat runs both settings back to back (the order alternates), so both
see the same machine load::

    python bench/tls.py --repeats 5 --calls 2000 --out bench/tls.jsonl

* ``startup-cold``: ``bench/cold.py acme`` in a fresh interpreter (its own
  LocalCluster: the credentials are made, the cluster started, 2 calls run, the
  cluster shut down), with ``DASK_ACME__SECURITY=none`` or ``tls``; wall time of
  the process; and the same for raw dask (``bench/cold.py dask``, with
  ``--tls`` secured by distributed's own ``Security.temporary()``), which
  tells what TLS costs any dask cluster;
* ``tiny-mem``: ``ParallelMap`` of ``--calls`` cheap calls, results in memory,
  attached to one of two LocalClusters of 2 workers that
  ``acme.local_cluster_setup`` started in this process, one plain TCP and one
  TLS; wall time of construction and ``compute()``.

Prints the medians and the TLS/plain ratios; ``--out`` gets one JSON line per
timed run. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
SETTINGS = ("none", "tls")


def f(x: int, y: int, z: int) -> int:
    """Return ``(x + y) * z`` (the call of tiny-mem)."""
    return (x + y) * z


def cold(setting: str, kind: str = "acme") -> float:
    """Seconds of one ``cold.py`` run of ``kind`` (acme or dask), plain or TLS."""
    env = {**os.environ, "DASK_ACME__SECURITY": setting, "DASK_ACME__CLUSTER": "local"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # cache bytecode, as a user's Python does
    tls = ["--tls"] if kind == "dask" and setting == "tls" else []
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(BENCH / "cold.py"), kind, *tls],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def tiny_mem(client: Any, calls: int) -> float:
    """Seconds of one tiny-mem map on ``client``; its results are checked."""
    from acme import ParallelMap

    with client.as_current():
        start = time.perf_counter()
        with ParallelMap(
            f, list(range(calls)), 2, 3, write_worker_results=False, verbose=False
        ) as pmap:
            assert pmap.client is client
            results = pmap.compute()
        seconds = time.perf_counter() - start
    if results != [f(x, 2, 3) for x in range(calls)]:
        raise AssertionError("tiny-mem returned wrong results")
    return seconds


def report(
    rows: list[dict[str, Any]],
    field: str,
    values: tuple[str, str],
    header: str,
    out: Path | None,
    repeats: int,
) -> None:
    """Write ``rows`` to ``out`` (JSON lines) and print, under ``header``, per
    workload the median seconds of the two ``values`` of ``field`` and their ratio.
    """
    if out is not None:
        with out.open("w") as file:
            for row in rows:
                file.write(json.dumps({**row, "repeats": repeats}) + "\n")
    print(header)
    print("|---|---|---|---|")
    for workload in dict.fromkeys(row["workload"] for row in rows):
        base, other = (
            statistics.median(
                row["seconds"]
                for row in rows
                if row["workload"] == workload and row[field] == value
            )
            for value in values
        )
        print(f"| {workload} | {base:.3f} | {other:.3f} | {other / base:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    import dask

    from acme import cluster_cleanup, local_cluster_setup

    clients = {}
    for setting in SETTINGS:
        with dask.config.set({"acme.security": setting}):
            clients[setting] = local_cluster_setup(n_workers=2, interactive=False)
    rows: list[dict[str, Any]] = []
    try:
        for setting in SETTINGS:  # warm-up, not recorded
            tiny_mem(clients[setting], min(args.calls, 500))
        for repeat in range(args.repeats):
            order = SETTINGS if repeat % 2 == 0 else SETTINGS[::-1]
            for setting in order:
                rows.append(
                    {
                        "workload": "startup-cold",
                        "security": setting,
                        "seconds": cold(setting),
                    }
                )
                rows.append(
                    {
                        "workload": "startup-cold, raw dask",
                        "security": setting,
                        "seconds": cold(setting, "dask"),
                    }
                )
                rows.append(
                    {
                        "workload": "tiny-mem",
                        "calls": args.calls,
                        "security": setting,
                        "seconds": tiny_mem(clients[setting], args.calls),
                    }
                )
                print(*rows[-3:], file=sys.stderr)
    finally:
        for client in clients.values():
            cluster_cleanup(client)
    header = "| workload | plain TCP (median s) | TLS (median s) | TLS / plain |"
    report(rows, "security", SETTINGS, header, args.out, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
