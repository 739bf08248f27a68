"""Helpers for SLURM tests: find, wait for and cancel our jobs; fake the one seam.

A test's jobs are recognised by their working directory: every test runs inside
its own ``tmp_path`` (see ``conftest.py``), and ``sbatch`` records the directory
it was called from. Jobs of other test sessions on the same controller are
never touched.

:class:`FakeSlurm` stands in for ``acme.cluster._slurm_info._run`` with canned
outputs from ``tests/data``, for outputs and failures a real SLURM cannot produce
on demand.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import dask
import pytest

from acme.errors import SlurmError

# the documented name of acme's worker jobs, and dask-jobqueue's default name
ACME_JOB_NAME = "acme-worker"
WORKER_JOB_NAMES = (ACME_JOB_NAME, "dask-worker")


def slurm_reachable() -> bool:
    """Whether ``sinfo`` exists and a SLURM controller answers it."""
    if shutil.which("sinfo") is None:
        return False
    try:
        done = subprocess.run(
            ["sinfo", "-h", "-o", "%P"], capture_output=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-slurm",
        action="store_true",
        help="fail (instead of skip) slurm-marked tests when no SLURM controller "
        "answers (also set by ACME_REQUIRE_SLURM=1)",
    )


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Skip (or, with ``--require-slurm``, refuse) slurm tests without a controller."""
    slurm = [item for item in items if item.get_closest_marker("slurm")]
    if not slurm or slurm_reachable():
        return
    if (
        config.getoption("--require-slurm")
        or os.environ.get("ACME_REQUIRE_SLURM") == "1"
    ):
        raise pytest.UsageError(
            "--require-slurm given but no SLURM controller reachable"
        )
    for item in slurm:
        item.add_marker(pytest.mark.skip(reason="no SLURM controller reachable"))


def _squeue(names: Sequence[str] = WORKER_JOB_NAMES) -> list[dict[str, str]]:
    """Jobs of this user with one of ``names`` (any if empty): id, state, ..."""
    argv = ["squeue", "-h", "-u", getpass.getuser()]
    argv += ["-n", ",".join(names)] if names else []
    done = subprocess.run(
        [*argv, "-o", "%i|%T|%P|%Z"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    jobs = []
    for line in done.stdout.splitlines():
        job_id, state, partition, workdir = line.strip().split("|", 3)
        jobs.append(
            {"id": job_id, "state": state, "partition": partition, "workdir": workdir}
        )
    return jobs


def jobs_below(
    folder: Path, names: Sequence[str] = WORKER_JOB_NAMES
) -> list[dict[str, str]]:
    """Our jobs (with one of ``names``) submitted from ``folder`` or below it."""
    root = os.path.realpath(folder)
    return [
        job
        for job in _squeue(names)
        if os.path.realpath(job["workdir"]) == root
        or os.path.realpath(job["workdir"]).startswith(root + os.sep)
    ]


def worker_jobs() -> list[str]:
    """Ids of every worker job of this user that ``squeue`` lists."""
    return [job["id"] for job in _squeue()]


def queued(job_ids: list[str]) -> list[str]:
    """The jobs of ``job_ids`` that ``squeue`` still lists (in any state)."""
    wanted = set(job_ids)
    return [job["id"] for job in _squeue() if job["id"] in wanted]


def wait_until(
    condition: Callable[[], object], timeout: float, what: str, step: float = 0.2
) -> object:
    """Poll ``condition`` until it is truthy; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def wait_gone(job_ids: list[str], timeout: float = 30) -> list[str]:
    """Wait until ``squeue`` lists none of ``job_ids``; return those still listed."""
    deadline = time.monotonic() + timeout
    while True:
        left = queued(job_ids)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def scontrol(kind: str, name: str) -> dict[str, str]:
    """``scontrol -o show <kind> <name>``, first line, as a dict."""
    done = subprocess.run(
        ["scontrol", "-o", "show", kind, str(name)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    first = done.stdout.splitlines()[0] if done.stdout.strip() else ""
    pairs = (item.split("=", 1) for item in first.split() if "=" in item)
    return dict(pairs)


def job_fields(job_id: str) -> dict[str, str]:
    """``scontrol -o show job`` as a dict (values without spaces)."""
    return scontrol("job", job_id)


def partition_node(partition: str) -> dict[str, str]:
    """``scontrol`` fields of the (first) node of ``partition`` (CPUTot, RealMemory)."""
    return scontrol("node", scontrol("partition", partition)["Nodes"])


def cluster_job_ids(cluster, expected: int, timeout: float = 30) -> list[str]:
    """SLURM job ids of a ``SLURMCluster``'s worker jobs, once all are submitted."""

    def submitted() -> list[str]:
        ids = [getattr(job, "job_id", None) for job in cluster.workers.values()]
        return [str(i) for i in ids] if len(ids) == expected and all(ids) else []

    return list(wait_until(submitted, timeout, f"{expected} submitted jobs"))


def header(script: str) -> list[str]:
    """The ``#SBATCH`` lines of a job script."""
    return [line for line in script.splitlines() if line.startswith("#SBATCH")]


def memory_mb(value: str) -> float:
    """A SLURM memory value (``1900M``, ``2G``) in SLURM MB (MiB)."""
    factors = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}
    if value[-1].upper() in factors:
        return float(value[:-1]) * factors[value[-1].upper()]
    return float(value)


@pytest.fixture
def no_leftover_jobs(tmp_path) -> Iterator[None]:
    """Fail a test that leaves SLURM worker jobs behind, and cancel them."""
    yield
    # a job being cancelled is listed as COMPLETING for a moment
    left = wait_gone([job["id"] for job in jobs_below(tmp_path)], timeout=30)
    if left:
        subprocess.run(["scancel", *left], capture_output=True, timeout=30)
        pytest.fail(f"test left SLURM jobs behind: {left}")


@pytest.fixture
def on_slurm(monkeypatch) -> None:
    """``ParallelMap`` starts SLURM workers (``conftest.py`` forces local ones)."""
    monkeypatch.setenv("DASK_ACME__CLUSTER", "slurm")
    dask.config.refresh()


def sleep_marked(x, folder, seconds, ballast=b""):
    """Leave ``<folder>/<x>-<SLURM job>``, sleep ``seconds``, return ``x``
    (run by SLURM workers; ``ballast`` makes the task's input large)."""
    Path(folder, f"{x}-{os.environ['SLURM_JOB_ID']}").touch()
    time.sleep(seconds)
    return x


DATA = Path(__file__).with_name("data")


def canned(name: str) -> str:
    return (DATA / name).read_text()


class FakeSlurm:
    """Answers ``_run(argv, timeout)`` from canned outputs; records every call.

    ``routes`` maps a tuple of argv items (the first is the command, the others
    must all occur in argv) to the stdout to return, or to a ``SlurmError`` or
    ``OSError`` to raise as the real ``_run`` would.
    """

    def __init__(self, routes: dict[tuple[str, ...], str | Exception]) -> None:
        self.routes = routes
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], timeout: float) -> str:
        argv = list(argv)
        assert all(isinstance(item, str) for item in argv), argv
        assert timeout > 0
        self.calls.append(argv)
        for route, answer in self.routes.items():
            if argv[0] == route[0] and all(item in argv[1:] for item in route[1:]):
                if isinstance(answer, SlurmError):
                    raise answer
                if isinstance(answer, OSError):
                    raise SlurmError(f"{argv[0]} failed: {answer}", argv=argv) from None
                return answer
        raise AssertionError(f"unexpected SLURM command {argv}")

    def commands(self, name: str) -> list[list[str]]:
        return [argv for argv in self.calls if argv[0] == name]


def failure(argv: list[str], returncode: int, stderr: str) -> SlurmError:
    """The ``SlurmError`` the real ``_run`` raises for a command exiting non-zero."""
    return SlurmError(
        f"{' '.join(argv)} exited with {returncode}: {stderr.strip()}",
        argv=argv,
        returncode=returncode,
        stderr=stderr,
    )
