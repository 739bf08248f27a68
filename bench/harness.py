"""Benchmark harness: acme against raw dask, joblib and esi-acme.

Implementations (``--impls``):

* ``acme``: ``acme.ParallelMap`` of the ``acme`` this interpreter imports;
* ``raw-dask``: ``client.scatter(shared, broadcast=True)`` +
  ``client.map(..., pure=False)`` + ``client.gather``;
* ``joblib``: ``joblib.Parallel(n_jobs=2)`` with loky;
* ``esi-acme``: the original, run by another interpreter (``--esi-python``)
  that serves the same workload code (``runner.py``);
* ``acme-base``: an earlier acme revision, served the same way by an interpreter
  whose ``import acme`` finds it (``--base-python``): what a change costs.

Warm workloads share one ``LocalCluster`` (2 worker processes, 1 thread each)
per interpreter, started before any timer; acme attaches to its client. Runs
are interleaved (A, B, C, A, B, C, ...) after one warm-up each; the medians go
to ``--out`` as JSON lines and a Markdown summary is printed. See README.md.

    python bench/harness.py --esi-python /tmp/esi/bin/python --out bench/results.jsonl
    python bench/harness.py --quick --esi-python /tmp/esi/bin/python
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from measure import Sample, children_cpu_seconds, host, path_without_slurm, versions
from report import IMPLEMENTATIONS, Record, add_ratios, summary, write
from runner import Bench
from workloads import WORKLOADS

BENCH = Path(__file__).resolve().parent
COLD = "startup-cold"
IMPORT = "import"
ALL_WORKLOADS = (IMPORT, COLD, *WORKLOADS)
#: module each implementation's ``import`` row imports
IMPORTED = {"acme": "acme", "dask": "distributed", "joblib": "joblib"}
BASELINE_MAX_CALLS = 20_000
QUICK_BASELINE_MAX_CALLS = 400
WARMUP_MAX_CALLS = 2_000
SUBPROCESS_TIMEOUT_S = 600
SERVER_QUIT_TIMEOUT_S = 60


class RunError(RuntimeError):
    """A run failed: an exception, wrong results, or a crashed interpreter."""


@dataclass(frozen=True)
class Implementation:
    """One implementation under test.

    Attributes
    ----------
    label : str
        Name in the results (``acme``, ``raw-dask``, ``joblib``, ``esi-acme``).
    kind : str
        How the workloads run it (``acme``, ``dask`` or ``joblib``).
    python : str
        The interpreter that runs it.
    remote : bool
        Whether warm runs go to a server in that interpreter (else: in here).
    slow : bool
        Whether it is skipped above ``--baseline-max-calls``.
    """

    label: str
    kind: str
    python: str
    remote: bool = False
    slow: bool = False


@dataclass
class Cell:
    """The samples of one (workload, calls) for every implementation."""

    workload: str
    calls: int | None
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    problems: dict[str, tuple[str, str]] = field(default_factory=dict)
    isolated: dict[str, dict[str, Any]] = field(default_factory=dict)


def log(message: str) -> None:
    """Print a progress line to stderr."""
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


PROGRESS_BAR = re.compile(r"^\s*\d+%\s*\|")


def _tail(text: str, lines: int = 15) -> str:
    """Return the last lines of ``text``, without progress-bar updates."""
    kept = [line for line in text.splitlines() if not PROGRESS_BAR.match(line)]
    return "\n".join(kept[-lines:]).strip()


# --- servers: other interpreters running runner.py ------------------------------


class Server:
    """A ``runner.py`` process answering run requests (see runner's docstring).

    Parameters
    ----------
    python : str
        Interpreter to start it with.
    partition : str
        Passed on to ``ParallelMap``.
    scratch : pathlib.Path
        Folder for its runs' files and its log (``server.log``, its stderr).
    """

    def __init__(self, python: str, partition: str, scratch: Path) -> None:
        scratch.mkdir(parents=True, exist_ok=True)
        self.log_path = scratch / "server.log"
        self._log: IO[str] = self.log_path.open("w", encoding="utf-8")
        argv = [python, str(BENCH / "runner.py"), "--partition", partition]
        self._process = subprocess.Popen(
            [*argv, "--scratch", str(scratch)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )

    @property
    def pid(self) -> int:
        """Process id of the server."""
        return self._process.pid

    def request(self, **request: Any) -> dict[str, Any]:
        """Send one request and return the answer.

        Raises
        ------
        RunError
            If the server reports an error or ends without answering.
        """
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
            line = stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            self._log.flush()
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
            raise RunError(f"server ended without answering:\n{_tail(text)}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RunError(answer["error"])
        return answer

    def close(self) -> None:
        """Ask the server to quit (it shuts its cluster down), then wait.

        A server that has not ended after `SERVER_QUIT_TIMEOUT_S` is killed
        (logged; its results are complete by then).
        """
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps({"op": "quit"}) + "\n")
            stdin.close()
        except BrokenPipeError:  # it has ended already
            pass
        try:
            self._process.wait(timeout=SERVER_QUIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log(f"server {self.pid} did not quit; killed (log: {self.log_path})")
            self._process.kill()
            self._process.wait()
        finally:
            self._log.close()


def _sample(answer: dict[str, Any]) -> Sample:
    """Turn a server's ``run`` answer into a `Sample`."""
    return Sample(**answer["sample"])


class Session:
    """Runs warm workloads: here (`Bench`) or in servers of other interpreters.

    Parameters
    ----------
    options : argparse.Namespace
        The harness's options (partition, scratch folder).
    """

    def __init__(self, options: argparse.Namespace) -> None:
        self.partition: str = options.partition
        self.scratch: Path = options.scratch
        self._excluded: set[int] = set()  # servers idle while this one runs
        (self.scratch / "here").mkdir(parents=True, exist_ok=True)
        self.bench = Bench(self.partition, self.scratch / "here", self._excluded)
        self._servers: dict[str, Server] = {}
        self._count = 0

    def server(self, python: str) -> Server:
        """Return the persistent server of ``python``, started on first use."""
        if python not in self._servers:
            server = self.new_server(python)
            self._servers[python] = server
            self._excluded.add(server.pid)
        return self._servers[python]

    def new_server(self, python: str) -> Server:
        """Start a fresh server (the caller closes it)."""
        self._count += 1
        folder = self.scratch / f"server{self._count}"
        return Server(python, self.partition, folder)

    def run(self, impl: Implementation, workload: str, calls: int) -> Sample:
        """Run once, here or in ``impl``'s server.

        Raises
        ------
        RunError
            If the run fails or returns wrong results.
        """
        if impl.remote:
            answer = self.server(impl.python).request(
                op="run", workload=workload, calls=calls, kind=impl.kind
            )
            return _sample(answer)
        try:
            return self.bench.run(workload, calls, impl.kind)
        except Exception as exc:
            raise RunError(f"{type(exc).__name__}: {exc}") from exc

    def isolated_rss(
        self, impl: Implementation, workload: str, calls: int, warm_calls: int
    ) -> dict[str, Any]:
        """Measure the calling process's RSS for one run in a fresh interpreter.

        The server runs a warm-up (``warm_calls`` calls) and then the measured
        run; returns its peak and growth during that run and its peak RSS over
        its whole life (``ru_maxrss``), in MiB.
        """
        server = self.new_server(impl.python)
        try:
            request = {"op": "run", "workload": workload, "kind": impl.kind}
            server.request(**request, calls=warm_calls)
            sample = _sample(server.request(**request, calls=calls))
            maxrss = server.request(op="maxrss")["maxrss_mb"]
        finally:
            server.close()
        return {
            "peak_mb": round(sample.rss_peak_mb, 1),
            "delta_mb": round(sample.rss_peak_mb - sample.rss_start_mb, 1),
            "maxrss_mb": maxrss,
            "time_s": round(sample.time_s, 4),
        }

    def close(self) -> None:
        """Stop the servers and the cluster of this interpreter."""
        for server in self._servers.values():
            server.close()
        self._servers.clear()
        self.bench.close()


# --- fresh-interpreter workloads: import and startup-cold ----------------------


def _timed_subprocess(
    argv: Sequence[str],
) -> tuple[subprocess.CompletedProcess[str], Sample]:
    """Run ``argv`` to its end; wall time and CPU of it and its descendants."""
    cpu_before = children_cpu_seconds()
    start = time.perf_counter()
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RunError(f"still running after {SUBPROCESS_TIMEOUT_S} s") from exc
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RunError(f"exit status {done.returncode}:\n{_tail(done.stderr)}")
    cpu = children_cpu_seconds() - cpu_before
    return done, Sample(elapsed, 0.0, 0.0, cpu)


def run_import(impl: Implementation) -> Sample:
    """Time ``python -c "import <module>"`` in a fresh interpreter."""
    return _timed_subprocess([impl.python, "-c", f"import {IMPORTED[impl.kind]}"])[1]


def run_cold(impl: Implementation, partition: str) -> Sample:
    """Time one ``cold.py`` run; its peak RSS comes from its own report."""
    argv = [impl.python, str(BENCH / "cold.py"), impl.kind, "--partition", partition]
    done, sample = _timed_subprocess(argv)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return Sample(sample.time_s, 0.0, float(report["maxrss_mb"]), sample.cpu_s)


# --- cells: interleaved repeats -------------------------------------------------


def skip_reason(
    impl: Implementation, calls: int | None, options: argparse.Namespace
) -> str:
    """Return why ``impl`` does not run at this size ("" if it runs)."""
    limit = options.baseline_max_calls
    if impl.slow and calls is not None and calls > limit:
        return f"{calls} calls > --baseline-max-calls {limit}"
    return ""


def run_cell(
    cell: Cell,
    impls: Sequence[Implementation],
    run_one: Callable[[Implementation, bool], Sample],
    repeats: int,
) -> list[Implementation]:
    """Warm up every implementation once, then run them interleaved.

    Parameters
    ----------
    cell : Cell
        Receives the samples and the failures.
    impls : sequence of Implementation
        The implementations that run (skips are decided before).
    run_one : callable
        ``run_one(impl, warmup)`` runs once and returns the sample.
    repeats : int
        Timed runs per implementation.

    Returns
    -------
    list of Implementation
        Those that did not fail.
    """
    for impl in impls:
        cell.samples[impl.label] = []
    for rep in range(repeats + 1):
        for impl in impls:
            if impl.label in cell.problems:
                continue
            what = "warm-up" if rep == 0 else f"repeat {rep}/{repeats}"
            try:
                sample = run_one(impl, rep == 0)
            except RunError as exc:
                cell.problems[impl.label] = ("failed", str(exc))
                log(f"{cell.workload} {cell.calls} {impl.label} {what}: FAILED {exc}")
                continue
            where = f"{cell.workload} {cell.calls} {impl.label} {what}"
            log(f"{where}: {sample.time_s:.3f} s")
            if rep:
                cell.samples[impl.label].append(sample)
    return [impl for impl in impls if impl.label not in cell.problems]


def warm_cell(
    session: Session,
    workload: str,
    calls: int,
    impls: Sequence[Implementation],
    options: argparse.Namespace,
) -> Cell:
    """Time one size of a warm workload, then measure RSS in isolation."""
    cell = Cell(workload, calls)
    running = _without_skipped(cell, impls, options)
    warm_calls = min(calls, options.warmup_max_calls)

    def run_one(impl: Implementation, warmup: bool) -> Sample:
        return session.run(impl, workload, warm_calls if warmup else calls)

    ok = run_cell(cell, running, run_one, options.repeats)
    if options.rss_isolated:
        for impl in ok:
            try:
                cell.isolated[impl.label] = session.isolated_rss(
                    impl, workload, calls, warm_calls
                )
            except RunError as exc:
                cell.isolated[impl.label] = {"error": str(exc)}
                log(f"{workload} {calls} {impl.label} isolated RSS: FAILED {exc}")
            else:
                peak = cell.isolated[impl.label]["peak_mb"]
                log(f"{workload} {calls} {impl.label} isolated peak RSS {peak} MiB")
    return cell


def fresh_cell(
    workload: str, impls: Sequence[Implementation], options: argparse.Namespace
) -> Cell:
    """Time ``import`` or ``startup-cold`` (fresh interpreters every run)."""
    cell = Cell(workload, 2 if workload == COLD else None)
    running = _without_skipped(cell, impls, options)
    if workload == IMPORT:
        run_cell(cell, running, lambda i, w: run_import(i), options.import_repeats)
        return cell
    ok = run_cell(
        cell, running, lambda i, w: run_cold(i, options.partition), options.repeats
    )
    for impl in ok:  # every cold run is a fresh interpreter: its RSS is isolated
        peaks = [s.rss_peak_mb for s in cell.samples[impl.label]]
        cell.isolated[impl.label] = {"peak_mb": round(statistics.median(peaks), 1)}
    return cell


def _without_skipped(
    cell: Cell, impls: Sequence[Implementation], options: argparse.Namespace
) -> list[Implementation]:
    """Record the skipped implementations in ``cell``; return the others."""
    running = []
    for impl in impls:
        reason = skip_reason(impl, cell.calls, options)
        if reason:
            cell.problems[impl.label] = ("skipped", reason)
            log(f"{cell.workload} {cell.calls} {impl.label}: skipped ({reason})")
        else:
            running.append(impl)
    return running


# --- records --------------------------------------------------------------------


def _median(values: Sequence[float]) -> float | None:
    """Median rounded to 4 digits (None for no values)."""
    return round(statistics.median(values), 4) if values else None


def cell_records(
    cell: Cell,
    impls: Sequence[Implementation],
    common: dict[str, Any],
    interpreter_versions: dict[str, dict[str, str]],
) -> list[Record]:
    """Build one record per implementation of a cell."""
    records = []
    job = WORKLOADS.get(cell.workload)
    for impl in impls:
        samples = cell.samples.get(impl.label, [])
        times = [s.time_s for s in samples]
        median = _median(times)
        status, reason = cell.problems.get(impl.label, ("ok", ""))
        record: Record = {
            **common,
            "workload": cell.workload,
            "calls": cell.calls,
            "implementation": impl.label,
            "kind": impl.kind,
            "status": status,
            "reason": reason,
            "repeats": len(samples),
            "median_s": median if status == "ok" else None,
            "times_s": [round(t, 4) for t in times],
            "per_call_ms": _per_call_ms(median, cell),
            "ideal_s": job.ideal_s(cell.calls) if job and cell.calls else None,
            "cpu_s": _median([s.cpu_s for s in samples]),
            "rss_peak_mb": _median([s.rss_peak_mb for s in samples]),
            "rss_delta_mb": _median([s.rss_peak_mb - s.rss_start_mb for s in samples]),
            "rss_isolated": cell.isolated.get(impl.label),
            "versions": interpreter_versions[impl.python],
        }
        if cell.workload in (IMPORT, COLD):  # no in-process RSS for these
            record["rss_delta_mb"] = None
            record["rss_peak_mb"] = None
        records.append(record)
    return records


def _per_call_ms(median: float | None, cell: Cell) -> float | None:
    """Milliseconds per call (None for the fresh-interpreter workloads)."""
    if median is None or not cell.calls or cell.workload in (IMPORT, COLD):
        return None
    return round(1000 * median / cell.calls, 4)


def revision() -> str:
    """Return the git commit of the checkout (``+dirty`` with local changes)."""

    def git(*args: str) -> str:
        command = ["git", "-C", str(BENCH), *args]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changes = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if changes else "")


def ask_versions(python: str) -> dict[str, str]:
    """Return the package versions seen by another interpreter."""
    if python == sys.executable:
        return versions()
    try:
        done = subprocess.run(
            [python, str(BENCH / "measure.py")],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        stderr = getattr(exc, "stderr", None) or ""
        raise SystemExit(f"cannot run {python}: {exc}\n{_tail(stderr)}") from exc
    found: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    if "acme" not in found:
        raise SystemExit(f"{python} has no esi-acme installed")
    return found


# --- command line ----------------------------------------------------------------


def implementations(options: argparse.Namespace) -> list[Implementation]:
    """The implementations chosen with ``--impls`` (esi-acme needs its python)."""
    here = sys.executable
    known = {
        "acme": Implementation("acme", "acme", here),
        "raw-dask": Implementation("raw-dask", "dask", here, slow=True),
        "joblib": Implementation("joblib", "joblib", here),
    }
    if options.esi_python:
        python = str(options.esi_python)
        known["esi-acme"] = Implementation("esi-acme", "acme", python, True, True)
    if options.base_python:
        python = str(options.base_python)
        known["acme-base"] = Implementation("acme-base", "acme", python, True)
    missing = [name for name in options.impls if name not in known]
    if missing:
        raise SystemExit(
            f"unknown or unavailable implementation(s): {missing} "
            "(esi-acme needs --esi-python, acme-base --base-python)"
        )
    return [known[name] for name in options.impls]


def plan(options: argparse.Namespace) -> list[tuple[str, int | None]]:
    """The (workload, calls) cells of this run, in order."""
    overrides = dict(options.calls or [])
    cells: list[tuple[str, int | None]] = []
    for name in options.workloads:
        if name in (IMPORT, COLD):
            cells.append((name, None))
            continue
        job = WORKLOADS[name]
        sizes = overrides.get(name) or (job.quick_sizes if options.quick else job.sizes)
        cells += [(name, calls) for calls in sizes]
    return cells


def _calls_option(text: str) -> tuple[str, tuple[int, ...]]:
    """Parse ``WORKLOAD=N[,N...]`` of ``--calls``."""
    name, _, sizes = text.partition("=")
    if name not in WORKLOADS or not sizes:
        raise argparse.ArgumentTypeError(
            f"expected WORKLOAD=N[,N...] with WORKLOAD one of {list(WORKLOADS)}"
        )
    return name, tuple(int(size) for size in sizes.split(","))


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (see README.md for the options)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    add = parser.add_argument
    add("--quick", action="store_true", help="tiny sizes and 1 repeat: a smoke run")
    add(
        "--workloads",
        nargs="+",
        choices=ALL_WORKLOADS,
        default=list(ALL_WORKLOADS),
        metavar="NAME",
        help=f"workloads (default: all, in this order: {', '.join(ALL_WORKLOADS)})",
    )
    add(
        "--impls",
        nargs="+",
        choices=IMPLEMENTATIONS,
        default=None,
        metavar="NAME",
        help=f"of {', '.join(IMPLEMENTATIONS)} (default: all; esi-acme "
        "only with --esi-python, acme-base only with --base-python)",
    )
    add(
        "--calls",
        action="append",
        type=_calls_option,
        metavar="WORKLOAD=N[,N...]",
        help="sizes of one workload instead of the defaults (repeatable)",
    )
    add(
        "--repeats",
        type=int,
        default=None,
        help="timed runs of each (default 3, quick 1)",
    )
    add(
        "--import-repeats",
        type=int,
        default=None,
        help="fresh interpreters per import row (default 5, quick 2)",
    )
    add(
        "--baseline-max-calls",
        type=int,
        default=None,
        help=f"raw dask and esi-acme are skipped above this many calls (default "
        f"{BASELINE_MAX_CALLS}, quick {QUICK_BASELINE_MAX_CALLS})",
    )
    add(
        "--warmup-max-calls",
        type=int,
        default=WARMUP_MAX_CALLS,
        help=f"warm-up runs use at most this many calls (default {WARMUP_MAX_CALLS})",
    )
    add(
        "--no-rss-isolated",
        dest="rss_isolated",
        action="store_false",
        help="skip the peak-RSS runs in fresh interpreters",
    )
    add("--esi-python", type=Path, help="interpreter with esi-acme 2026.6.2 installed")
    add(
        "--base-python",
        type=Path,
        help="interpreter that imports an earlier acme revision (acme-base)",
    )
    add(
        "--partition",
        default="auto",
        help="passed to ParallelMap; esi-acme validates it where `sinfo` exists "
        "(default: auto)",
    )
    add("--scratch", type=Path, help="folder for the runs' files (default: a temp dir)")
    add(
        "--out",
        type=Path,
        default=BENCH / "results.jsonl",
        help="JSON lines (default: bench/results.jsonl)",
    )
    add("--append", action="store_true", help="append to --out instead of replacing")
    add("--markdown", type=Path, help="also write the summary to this file")
    options = parser.parse_args(argv)
    _defaults(options)
    return options


def _defaults(options: argparse.Namespace) -> None:
    """Fill in the defaults that depend on ``--quick`` and ``--esi-python``."""
    quick = options.quick
    if options.repeats is None:
        options.repeats = 1 if quick else 3
    if options.import_repeats is None:
        options.import_repeats = 2 if quick else 5
    if options.baseline_max_calls is None:
        options.baseline_max_calls = (
            QUICK_BASELINE_MAX_CALLS if quick else BASELINE_MAX_CALLS
        )
    if options.impls is None:
        available = {"esi-acme": options.esi_python, "acme-base": options.base_python}
        options.impls = [i for i in IMPLEMENTATIONS if available.get(i, True)]


def run(options: argparse.Namespace) -> list[Record]:
    """Run every cell of the plan and return the records (with ratios)."""
    impls = implementations(options)
    common = {
        "run_id": datetime.datetime.now().isoformat(timespec="seconds"),
        "host": host(),
        "command": shlex.join([sys.executable, *sys.argv]),
        "revision": revision(),
    }
    pythons = {impl.python for impl in impls}
    found = {python: ask_versions(python) for python in pythons}
    session = Session(options)
    records: list[Record] = []
    try:
        for workload, calls in plan(options):
            if calls is None or workload == COLD:
                cell = fresh_cell(workload, impls, options)
            else:
                cell = warm_cell(session, workload, calls, impls, options)
            records += cell_records(cell, impls, common, found)
    finally:
        session.close()
    add_ratios(records)
    return records


def main(argv: Sequence[str] | None = None) -> int:
    """Run the harness, write the JSON lines, print the summary."""
    options = parse(argv)
    own_scratch = options.scratch is None
    options.scratch = options.scratch or Path(tempfile.mkdtemp(prefix="acme-bench-"))
    os.environ.setdefault("DASK_ACME__CLUSTER", "local")  # never SLURM jobs here
    # fresh interpreters cache bytecode as a user's do: with PYTHONDONTWRITEBYTECODE
    # every cold run and worker would compile this checkout's acme again (installed
    # packages such as esi-acme are compiled when pip installs them)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    # esi-acme takes an installed `sinfo` for a SLURM cluster: hide SLURM from all
    os.environ["PATH"] = path_without_slurm(options.scratch / "bin")
    try:
        records = run(options)
    finally:
        if own_scratch:
            shutil.rmtree(options.scratch, ignore_errors=True)
    write(options.out, records, options.append)
    text = summary(records)
    if options.markdown:
        options.markdown.write_text(text, encoding="utf-8")
    print(text, end="")
    log(f"wrote {len(records)} records to {options.out}")
    return 0 if all(r["status"] != "failed" for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
