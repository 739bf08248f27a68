"""local_cluster_setup and cluster_cleanup on real LocalClusters."""

from __future__ import annotations

import logging

import pytest
from distributed import Client, LocalCluster, get_client
from prompts import answer

from acme import cluster_cleanup, local_cluster_setup
from acme.errors import AcmeTypeError, AcmeValueError


def test_local_cluster_setup_starts_client(acme_log):
    client = local_cluster_setup(n_workers=2, mem_per_worker="1GB", interactive=False)
    try:
        assert isinstance(client, Client)
        assert get_client() is client
        workers = client.scheduler_info(n_workers=-1)["workers"].values()
        assert len(workers) == 2
        assert {w["memory_limit"] for w in workers} == {10**9}
        assert (
            "Local parallel computing client ready, dashboard accessible at"
            in acme_log.text
        )
    finally:
        cluster_cleanup(client)
    assert client.status == "closed"
    with pytest.raises(ValueError):
        get_client()


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"interactive": 1}, AcmeTypeError, "`interactive` has to be Boolean"),
        ({"n_workers": "2"}, AcmeTypeError, "`n_workers` has to be a scalar"),
        ({"n_workers": True}, AcmeTypeError, "`n_workers` has to be a scalar"),
        (
            {"n_workers": 0},
            AcmeValueError,
            "`n_workers` has to be an integer between 1",
        ),
        (
            {"n_workers": 1.5},
            AcmeValueError,
            "`n_workers` has to be an integer between 1",
        ),
        ({"mem_per_worker": 5}, AcmeTypeError, "`mem_per_worker`"),
        ({"mem_per_worker": "lots"}, AcmeValueError, "`mem_per_worker`"),
    ],
)
def test_local_cluster_setup_validation(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        local_cluster_setup(**{"interactive": False, **kwargs})


def test_prompt_declined_returns_none(tty, monkeypatch):
    replies = answer(monkeypatch, "n")
    assert local_cluster_setup(n_workers=1) is None
    assert (
        "did you wrap your code inside a __main__ module block? [y/N]"
        in (replies.prompts[0])
    )
    with pytest.raises(ValueError):
        get_client()


def test_prompt_not_shown_without_tty(no_tty, no_prompt):
    client = local_cluster_setup(n_workers=1)
    cluster_cleanup(client)


def test_cluster_cleanup_without_client(acme_log):
    assert cluster_cleanup() is None
    assert "No dangling clients or clusters found." in acme_log.text


def test_cluster_cleanup_rejects_non_clients():
    with pytest.raises(AcmeTypeError, match="`client` has to be a dask client object"):
        cluster_cleanup("client")


def test_cluster_cleanup_default_client(acme_log):
    cluster = LocalCluster(n_workers=1, processes=False, dashboard_address=":0")
    client = Client(cluster)
    address = client.scheduler.address
    cluster_cleanup()
    assert client.status == "closed"
    assert cluster.status.name == "closed"
    assert (
        f"Successfully shut down LocalCluster hosted on {address} containing 1 workers"
        in (acme_log.text)
    )


def test_cluster_cleanup_client_without_cluster_object(tmp_path, acme_log):
    """A client of an external scheduler is shut down with the scheduler and workers."""
    import subprocess
    import sys

    file = tmp_path / "scheduler.json"
    cli = [sys.executable, "-m", "distributed.cli"]
    scheduler = subprocess.Popen(
        [*cli[:2], "distributed.cli.dask_scheduler", "--scheduler-file", str(file),
         "--port", "0", "--dashboard-address", ":0", "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = None
    try:
        client = Client(scheduler_file=str(file), timeout=60)
        worker = subprocess.Popen(
            [*cli[:2], "distributed.cli.dask_worker", "--scheduler-file", str(file),
             "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client.wait_for_workers(1, timeout=60)
        assert client.cluster is None
        cluster_cleanup(client)
        assert client.status == "closed"
        assert scheduler.wait(timeout=60) is not None
        assert worker.wait(timeout=60) is not None
        assert (
            "Successfully shut down Client hosted on tcp://127.0.0.1" in acme_log.text
        )
        assert "containing 1 workers" in acme_log.text
    finally:
        for process in (scheduler, worker):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


def test_closed_connections_at_shutdown_log_no_traceback(monkeypatch, records_of):
    # distributed logs a traceback at INFO when a connection closes under a
    # message being sent, which shutting down a cluster can do (not on demand)
    client = local_cluster_setup(n_workers=1, interactive=False)
    batched = logging.getLogger("distributed.batched")
    seen = records_of("distributed.batched")
    close = type(client.cluster).close

    def close_with_noise(cluster, *args, **kwargs):
        try:
            raise ConnectionError("stream closed")
        except ConnectionError:
            batched.info("Batched Comm Closed", exc_info=True)
        return close(cluster, *args, **kwargs)

    monkeypatch.setattr(type(client.cluster), "close", close_with_noise)
    before = batched.level
    cluster_cleanup(client)
    assert seen.text == ""
    assert batched.level == before
    batched.info("Batched Comm Closed")  # outside a shutdown: logged again
    assert seen.text == "Batched Comm Closed"
