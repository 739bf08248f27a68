"""Fixtures and markers shared by acme's tests.

Fixtures of one concern live beside it and are loaded as plugins, so no test imports
a fixture: ``log_records.py`` (``acme_log``, the "ACME" logger reset), ``prompts.py``
(``tty``, ``no_tty``, ``no_prompt``, ``blocked_input``) and ``slurm_helpers.py``
(``no_leftover_jobs``, and the skip of ``slurm`` tests without a controller),
``children.py`` (``run_child``: a child Python process to interrupt).
"""

from __future__ import annotations

from collections.abc import Iterator

import dask.config
import pytest
from distributed import Client, LocalCluster

from acme.cluster.client import find_client

pytest_plugins = ["children", "log_records", "prompts", "slurm_helpers"]


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


@pytest.fixture
def state(tmp_path) -> str:
    """A fresh folder for a test's user functions to note what ran (as a str)."""
    folder = tmp_path / "state"
    folder.mkdir()
    return str(folder)
