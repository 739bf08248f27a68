"""Fixtures and markers shared by acme's tests.

The prompt fakes (``tty``, ``no_tty``, ``no_prompt``, ``blocked_input``) live in
``prompts.py`` and the SLURM job guard (``no_leftover_jobs``) in ``slurm_helpers.py``;
both are loaded as plugins, so no test imports a fixture.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterator

import dask.config
import pytest
from distributed import Client, LocalCluster

from acme.cluster.client import find_client

pytest_plugins = ["prompts", "slurm_helpers"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-slurm",
        action="store_true",
        help="fail (instead of skip) slurm-marked tests when no SLURM controller "
        "answers (also set by ACME_REQUIRE_SLURM=1)",
    )


def _slurm_reachable() -> bool:
    if shutil.which("sinfo") is None:
        return False
    try:
        done = subprocess.run(
            ["sinfo", "-h", "-o", "%P"], capture_output=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not any(item.get_closest_marker("slurm") for item in items):
        return
    if _slurm_reachable():
        return
    if (
        config.getoption("--require-slurm")
        or os.environ.get("ACME_REQUIRE_SLURM") == "1"
    ):
        raise pytest.UsageError(
            "--require-slurm given but no SLURM controller reachable"
        )
    skip = pytest.mark.skip(reason="no SLURM controller reachable")
    for item in items:
        if item.get_closest_marker("slurm"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch) -> Iterator[None]:
    """Every test runs in its own HOME and working directory, on a local cluster."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DASK_ACME__CLUSTER", "local")
    monkeypatch.chdir(tmp_path)
    dask.config.refresh()
    yield
    dask.config.refresh()


@pytest.fixture(autouse=True)
def _no_leftover_client() -> Iterator[None]:
    """Fail a test that leaves a default client running."""
    yield
    client = find_client()
    if client is not None:
        cluster = client.cluster
        client.close()
        if cluster is not None:
            cluster.close()
        pytest.fail(f"test left a running client behind: {client}")


@pytest.fixture(autouse=True)
def _acme_logging() -> Iterator[None]:
    """Reset the "ACME" logger so one test's handlers and files don't reach the next."""
    yield
    logger = logging.getLogger("ACME")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        target = getattr(handler, "target", None)
        if target is not None:
            target.close()
        handler.close()
    logger.setLevel(logging.NOTSET)


class _Records(logging.Handler):
    """Collects the "ACME" logger's records; immune to LocalCluster's log silencing."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def text(self) -> str:
        return "\n".join(record.getMessage() for record in self.records)


@pytest.fixture
def acme_log() -> Iterator[_Records]:
    """Records of the "ACME" logger during the test (``.records``, ``.text``).

    pytest's ``caplog`` misses INFO records while acme starts a LocalCluster,
    because distributed lowers every root handler to WARNING meanwhile.
    """
    handler = _Records()
    logger = logging.getLogger("ACME")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def _local_client(processes: bool) -> Iterator[Client]:
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=":0"
    )
    with Client(cluster) as client:
        yield client
    cluster.close()


@pytest.fixture
def client() -> Iterator[Client]:
    """A thread-based LocalCluster with two single-threaded workers."""
    yield from _local_client(processes=False)


@pytest.fixture
def process_client() -> Iterator[Client]:
    """A process-based LocalCluster with two single-threaded workers."""
    yield from _local_client(processes=True)
