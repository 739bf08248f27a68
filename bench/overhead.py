"""Overhead of ParallelMap over raw dask for many cheap calls.

Runs ``N`` calls of a trivial function with results collected in memory, on one
LocalCluster (2 single-threaded worker processes) per interpreter:

* raw dask: ``client.gather(client.map(inc, range(N)))``;
* acme: ``ParallelMap(inc, list(range(N)), write_worker_results=False)``,
  constructed and computed on the same client (construction included);
* optionally esi-acme, the original: the same measurement run by another
  interpreter that has ``esi-acme`` installed (``--esi-python``).

Each implementation is timed ``--repeats`` times after one warm-up; the medians
and the ratio to raw dask *in the same process* are written as JSON lines.

    python bench/overhead.py --calls 500 --repeats 5 \
        --esi-python /tmp/esi/bin/python --out bench/overhead.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def inc(x):
    return x + 1


def _median(run, repeats: int) -> float:
    run()  # warm-up: imports, function shipping, first connections
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(calls: int, repeats: int, partition: str) -> dict[str, object]:
    """Time raw dask and the ``acme`` importable by this interpreter."""
    from distributed import Client, LocalCluster

    import acme

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = Client(cluster)
    try:

        def raw() -> None:
            assert client.gather(client.map(inc, range(calls), pure=False))[-1] == calls

        def pmap() -> None:
            with acme.ParallelMap(
                inc,
                list(range(calls)),
                write_worker_results=False,
                verbose=False,
                partition=partition,
            ) as daemon:
                daemon.compute()

        raw_median = _median(raw, repeats)
        acme_median = _median(pmap, repeats)
    finally:
        client.close()
        cluster.close()
    return {
        "implementation": acme.__name__,
        "version": str(getattr(acme, "__version__", "?")),
        "calls": calls,
        "repeats": repeats,
        "median_s": round(acme_median, 4),
        "raw_dask_median_s": round(raw_median, 4),
        "ratio_to_raw_dask": round(acme_median / raw_median, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--esi-python", help="interpreter with esi-acme installed")
    parser.add_argument("--out", type=Path, help="append JSON lines here")
    parser.add_argument(
        "--partition",
        default="auto",
        help="passed to ParallelMap (ignored when attaching; esi-acme validates it "
        "on any host where `sinfo` exists)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        print(json.dumps(measure(options.calls, options.repeats, options.partition)))
        return 0
    rows = [measure(options.calls, options.repeats, options.partition)]
    if options.esi_python:
        argv = [
            options.esi_python,
            __file__,
            "--child",
            "--calls",
            str(options.calls),
            "--repeats",
            str(options.repeats),
            "--partition",
            options.partition,
        ]
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    for row in rows:
        row["python"] = sys.version.split()[0]
        print(json.dumps(row))
    if options.out:
        with options.out.open("a", encoding="utf-8") as stream:
            stream.writelines(json.dumps(row) + "\n" for row in rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
