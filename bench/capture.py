"""What capturing each call's output costs: tiny-mem and tiny-h5, capture on and off.

One LocalCluster of 2 workers (``acme.local_cluster_setup``); every repeat runs
both settings of ``acme.capture`` back to back (the order alternating), so both
see the same machine load::

    python bench/capture.py --repeats 7 --out bench/capture.jsonl

* ``tiny-mem``: ``--calls`` cheap calls, results in memory (as in ``tls.py``);
* ``tiny-h5``: ``--h5-calls`` cheap calls, each result written to HDF5 in a new
  output folder.

Wall time of construction and ``compute()``; prints medians and the on/off
ratios, ``--out`` gets one JSON line per timed run. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dask
from tls import f, report, tiny_mem

SETTINGS = {"off": False, "on": {"max-chars": 65536}}


def tiny_h5(calls: int, folder: Path) -> float:
    """Seconds of one tiny-h5 map into a new folder below ``folder``."""
    from acme import ParallelMap

    out = tempfile.mkdtemp(dir=folder)
    start = time.perf_counter()
    items = list(range(calls))
    with ParallelMap(f, items, 2, 3, output_dir=out, verbose=False) as pmap:
        files = pmap.compute()
    seconds = time.perf_counter() - start
    if len(files) != calls:
        raise AssertionError("tiny-h5 returned the wrong number of files")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--h5-calls", type=int, default=500)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from acme import cluster_cleanup, local_cluster_setup

    client = local_cluster_setup(n_workers=2, interactive=False)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as scratch:
        try:
            for repeat in range(-1, args.repeats):  # -1: warm-up, not recorded
                order = list(SETTINGS) if repeat % 2 == 0 else list(SETTINGS)[::-1]
                for name in order:
                    with dask.config.set({"acme.capture": SETTINGS[name]}):
                        mem = tiny_mem(client, args.calls)
                        h5 = tiny_h5(args.h5_calls, Path(scratch))
                    if repeat < 0:
                        continue
                    for workload, calls, seconds in (
                        ("tiny-mem", args.calls, mem),
                        ("tiny-h5", args.h5_calls, h5),
                    ):
                        row = {"workload": workload, "capture": name, "calls": calls}
                        rows.append({**row, "seconds": seconds})
                        print(rows[-1], file=sys.stderr)
        finally:
            cluster_cleanup(client)
    header = "| workload | capture off (median s) | capture on (median s) | on / off |"
    report(rows, "capture", ("off", "on"), header, args.out, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
