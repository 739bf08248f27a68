"""Run workloads in this interpreter, directly or as a server for the harness.

`Bench` owns the warm cluster (one ``LocalCluster`` with 2 worker processes of
one thread each, started before any timer), the inputs of the current workload
size and a scratch folder; `Bench.run` times one run and checks its result.

Run as a script, this module serves requests from the harness: one JSON object
per line on stdin, one JSON answer per line on the original stdout (everything
else printed here goes to stderr). The harness starts it with another
interpreter to time esi-acme with the very same workload code, and with fresh
interpreters to measure peak RSS in isolation::

    python bench/runner.py --partition auto < requests.jsonl

Requests: ``{"op": "run", "workload": ..., "calls": ..., "kind": ...}``,
``{"op": "maxrss"}`` and ``{"op": "quit"}``.
"""

from __future__ import annotations

import argparse
import faulthandler
import gc
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Collection
from pathlib import Path
from typing import IO, Any

from measure import Sample, maxrss_mb, measure
from workloads import WORKLOADS, Context, Inputs


class Bench:
    """Times workloads in this interpreter.

    Parameters
    ----------
    partition : str
        Passed to ``ParallelMap``.
    scratch : pathlib.Path or None
        Folder for the runs' files (a new temporary folder if None); every run
        gets a fresh sub-folder that is removed after its check.
    exclude_pids : collection of int
        Process trees left out of the CPU time (other interpreters of the
        harness).
    """

    def __init__(
        self,
        partition: str = "auto",
        scratch: Path | None = None,
        exclude_pids: Collection[int] = (),
    ) -> None:
        self.partition = partition
        self._own_scratch = scratch is None
        self.scratch = scratch or Path(tempfile.mkdtemp(prefix="acme-bench-"))
        self.exclude_pids = exclude_pids
        self._client: Any = None
        self._cluster: Any = None
        self._inputs: dict[tuple[str, int], Inputs] = {}
        self._runs = 0

    def client(self) -> Any:
        """Return the warm client, starting the cluster on first use."""
        if self._client is None:
            from distributed import Client, LocalCluster

            self._cluster = LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
            )
            self._client = Client(self._cluster)
            # a broadcast while a worker is still connecting can hang in distributed
            self._client.wait_for_workers(2, timeout=120)
        return self._client

    def inputs(self, workload: str, calls: int) -> Inputs:
        """Return the inputs of one size, built on first use (only one size kept)."""
        key = (workload, calls)
        if key not in self._inputs:
            self._inputs.clear()
            gc.collect()
            self._inputs[key] = WORKLOADS[workload].prepare(calls)
        return self._inputs[key]

    def run(self, workload: str, calls: int, kind: str) -> Sample:
        """Time one run of ``workload`` with ``calls`` calls as ``kind``.

        Inputs, the cluster and the scratch folder are ready before the timer
        starts; the check and the removal of the files come after it stops.

        Raises
        ------
        workloads.CheckError
            If the run returned wrong results.
        """
        job = WORKLOADS[workload]
        inputs = self.inputs(workload, calls)
        client = self.client() if kind in ("acme", "dask") else None
        self._runs += 1
        folder = self.scratch / f"run{self._runs}-{workload}-{kind}"
        folder.mkdir()
        ctx = Context(client, folder, self.partition)
        try:
            result, sample = measure(
                lambda: job.run(kind, inputs, ctx), self.exclude_pids
            )
            job.check(inputs, result)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return sample

    def close(self) -> None:
        """Shut the cluster down and remove a scratch folder made here."""
        if self._client is not None:
            self._client.close()
            self._cluster.close()
            self._client = self._cluster = None
        if self._own_scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)


def answer(bench: Bench, request: dict[str, Any]) -> dict[str, Any]:
    """Handle one request of the harness and return the answer."""
    op = request["op"]
    if op == "maxrss":
        return {"maxrss_mb": round(maxrss_mb(), 1)}
    if op == "run":
        try:
            sample = bench.run(request["workload"], request["calls"], request["kind"])
        except Exception as exc:  # reported to the harness, which records it
            traceback.print_exc()
            return {"error": f"{type(exc).__name__}: {exc}"}
        return {"sample": sample.to_json()}
    return {"error": f"unknown request {op!r}"}


def serve(bench: Bench, requests: IO[str], replies: IO[str]) -> None:
    """Answer requests line by line until ``quit`` or the end of input."""
    for line in requests:
        request = json.loads(line)
        if request["op"] == "quit":
            break
        replies.write(json.dumps(answer(bench, request)) + "\n")
        replies.flush()


def main() -> int:
    """Serve the harness on stdin and the original stdout."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--partition", default="auto")
    parser.add_argument("--scratch", type=Path, help="folder for the runs' files")
    options = parser.parse_args()
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints go to stderr
    faulthandler.register(signal.SIGUSR1)  # kill -USR1 <pid>: stacks to the log
    bench = Bench(options.partition, options.scratch)
    note(f"serving (pid {os.getpid()})")
    try:
        serve(bench, sys.stdin, replies)
    finally:
        note("shutting down")
        bench.close()
    note("done")
    return 0


def note(message: str) -> None:
    """Write a time-stamped line to stderr (the server's log)."""
    print(
        f"[{time.strftime('%H:%M:%S')}] runner: {message}", file=sys.stderr, flush=True
    )


if __name__ == "__main__":
    sys.exit(main())
