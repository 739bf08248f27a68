"""What the calls' records cost: acme against the same acme with recording stripped.

Two warm ``LocalCluster``s run side by side (2 worker processes, 1 thread each):

* ``records``: acme as it is -- each call's output captured, its start, run and
  CPU time and peak memory measured on the worker, its record kept in the
  manifest for results on disk;
* ``stripped``: the same revision with recording taken out: its workers run a
  recorder that only times each call (what automatic batch sizing needs), and
  the caller keeps no record in the manifest.

Runs alternate between the two (interleaved repeats, medians), so the noise of
a shared machine hits both alike. Every run's results are checked, and so is
the stripping (a stripped run's records have no CPU time). One JSON line per
(workload, calls, variant) goes to ``--out``; a Markdown table to stdout.

Usage::

    .venv/bin/python bench/records_cost.py --repeats 9 --out bench/records_cost.jsonl
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import path_without_slurm
from workloads import Context, TinyH5, TinyMem, Workload

VARIANTS = ("records", "stripped")
SIZES = {"tiny-mem": (2_000, 20_000), "tiny-h5": (500, 5_000)}


def strip_worker() -> None:
    """On a worker: replace the batch recorder by one that only times calls."""
    import acme.results._worker as worker
    from acme.results._record import Measurements

    class Timing:
        """Times each call, as batch sizing needs; measures nothing else."""

        def __init__(self, max_chars: int | None) -> None:
            self.measured = Measurements()
            self.wall = 0.0

        def __enter__(self) -> Timing:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def start(self) -> None:
            self.wall = time.perf_counter()

        def finish(self, index: int) -> None:
            seconds = time.perf_counter() - self.wall
            self.measured.calls.append(index)
            self.measured.numbers.extend((0.0, seconds, 0.0, 0.0))

    worker.Recorder = Timing  # type: ignore[misc,assignment]  # the stripping


@contextlib.contextmanager
def caller_stripped() -> Iterator[None]:
    """In the caller: no record goes into the manifest (only the attempt)."""
    import acme.daemon as daemon

    original = daemon.call_entry
    daemon.call_entry = lambda batch, index, attempt: ({"attempt": attempt}, "")
    try:
        yield
    finally:
        daemon.call_entry = original


def run_once(
    workload: Workload, inputs: Any, client: Any, scratch: Path, variant: str
) -> tuple[float, float]:
    """One timed run: wall seconds and the caller's CPU seconds."""
    stripping = caller_stripped() if variant == "stripped" else contextlib.nullcontext()
    with client.as_current(), stripping:
        cpu, start = time.process_time(), time.perf_counter()
        result = workload.acme(inputs, Context(client, scratch))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    workload.check(inputs, result)
    return wall, cpu


def spin(seconds: float) -> float:
    """Keep the CPU busy for ``seconds``."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
    return seconds


def check_stripped(client: Any, stripped: bool) -> None:
    """Raise unless the variant's workers record CPU time exactly when unstripped."""
    from acme import ParallelMap

    with (
        client.as_current(),
        ParallelMap(spin, [0.02], write_worker_results=False, verbose=False) as pmap,
    ):
        pmap.compute()
    [record] = pmap.records
    if (record.cpu_seconds == 0.0) != stripped:
        raise RuntimeError(f"stripping is {not stripped} on the wrong cluster")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("bench/records_cost.jsonl"))
    args = parser.parse_args()
    os.environ.setdefault("DASK_ACME__CLUSTER", "local")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["PATH"] = path_without_slurm(Path(folder) / "bin")
        return _measure(args.repeats, args.out, Path(folder))


def _measure(repeats: int, out: Path, scratch: Path) -> int:
    from distributed import Client, LocalCluster

    clusters = {
        name: LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        for name in VARIANTS
    }
    clients = {name: Client(cluster) for name, cluster in clusters.items()}
    clients["stripped"].run(strip_worker)
    for name, client in clients.items():
        check_stripped(client, name == "stripped")
    rows = []
    for workload in (TinyMem(), TinyH5()):
        for calls in SIZES[workload.name]:
            inputs = workload.prepare(calls)
            times: dict[str, list[tuple[float, float]]] = {v: [] for v in VARIANTS}
            for repeat in range(repeats + 1):  # the first is a warm-up
                for variant in VARIANTS if repeat % 2 else VARIANTS[::-1]:
                    where = scratch / f"{workload.name}-{calls}-{variant}-{repeat}"
                    where.mkdir()
                    took = run_once(workload, inputs, clients[variant], where, variant)
                    if repeat:
                        times[variant].append(took)
            for variant in VARIANTS:
                walls = [wall for wall, _ in times[variant]]
                rows.append(
                    {
                        "workload": workload.name,
                        "calls": calls,
                        "variant": variant,
                        "median_s": statistics.median(walls),
                        "caller_cpu_s": statistics.median(c for _, c in times[variant]),
                        "times_s": walls,
                    }
                )
            print(f"{workload.name} {calls}: done", file=sys.stderr)
    for client in clients.values():
        client.close()
    for cluster in clusters.values():
        cluster.close()
    out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    print(table(rows))
    return 0


def table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table: medians of both variants and their ratio."""
    lines = [
        "| workload | calls | records (s) | stripped (s) | records / stripped |",
        "|---|---:|---:|---:|---:|",
    ]
    by_key = {(r["workload"], r["calls"], r["variant"]): r for r in rows}
    for workload, calls, variant in by_key:
        if variant != "records":
            continue
        with_records = by_key[workload, calls, "records"]["median_s"]
        stripped = by_key[workload, calls, "stripped"]["median_s"]
        lines.append(
            f"| {workload} | {calls:,} | {with_records:.3f} | {stripped:.3f} "
            f"| {with_records / stripped:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
