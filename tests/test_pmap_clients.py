"""Client selection and lifecycle (user guide, "Clients and clusters")."""

from __future__ import annotations

import pytest
from clients import no_client
from distributed import Client, LocalCluster, get_client

from acme import ACMEdaemon, ParallelMap, cluster_cleanup
from acme.errors import AcmeTypeError


def square(x):
    return x * x


def test_attaches_to_existing_client(client, acme_log):
    with ParallelMap(square, [1, 2], write_worker_results=False, n_workers=7) as pmap:
        assert pmap.client is client
        assert pmap.config.n_workers == 2
        assert pmap.config.stop_client is False
        assert pmap.compute() == [1, 4]
    assert "Attaching to parallel computing client" in acme_log.text
    assert client.status == "running"


@pytest.mark.parametrize("stop", ["auto", False])
def test_existing_client_kept(client, stop):
    with ParallelMap(
        square, [1, 2], write_worker_results=False, stop_client=stop
    ) as pmap:
        pmap.compute()
    assert client.status == "running"
    assert get_client() is client


def test_existing_client_stopped_with_true():
    cluster = LocalCluster(n_workers=1, processes=False, dashboard_address=":0")
    client = Client(cluster)
    with ParallelMap(
        square, [1, 2], write_worker_results=False, stop_client=True
    ) as pmap:
        assert pmap.config.stop_client is True
        assert pmap.compute() == [1, 4]
    assert client.status == "closed"
    assert no_client()


@pytest.mark.parametrize("stop", ["auto", True])
def test_started_client_shut_down(stop, acme_log):
    with ParallelMap(
        square, [1, 2, 3], write_worker_results=False, n_workers=3, stop_client=stop
    ) as pmap:
        assert pmap.config.stop_client is True
        assert pmap.config.n_workers == 3
        assert len(pmap.client.cluster.workers) == 3
        assert pmap.compute() == [1, 4, 9]
    assert pmap.config.client is None
    assert no_client()
    assert "Local parallel computing client ready" in acme_log.text
    assert "Successfully shut down LocalCluster hosted on tls://127.0.0.1" in (
        acme_log.text
    )
    assert "containing 3 workers" in acme_log.text


def test_started_client_kept_with_false_and_reused():
    with ParallelMap(
        square, [1, 2], write_worker_results=False, n_workers=1, stop_client=False
    ) as pmap:
        first = pmap.client
        assert pmap.config.stop_client is False
        pmap.compute()
    try:
        assert first.status == "running"
        with ParallelMap(square, [3], write_worker_results=False) as again:
            assert again.client is first
            assert again.compute() == [9]
    finally:
        cluster_cleanup(first)
    assert no_client()


def test_more_workers_than_calls(acme_log):
    with ParallelMap(square, [5], write_worker_results=False, n_workers=2) as pmap:
        assert len(pmap.client.cluster.workers) == 2
        assert pmap.compute() == [25]


def test_cleanup_is_idempotent_and_finishes_the_map(client):
    pmap = ParallelMap(square, [1, 2], write_worker_results=False)
    assert pmap.compute() == [1, 4]
    pmap.cleanup()
    pmap.cleanup()
    assert pmap.config.client is None
    assert pmap.daemon.client is None
    assert pmap.compute() is None
    assert client.status == "running"


def test_clearing_config_client_disables_compute_and_cleanup(client):
    pmap = ParallelMap(square, [1, 2], write_worker_results=False, stop_client=True)
    pmap.config.client = None
    assert pmap.compute() is None
    pmap.cleanup()
    assert client.status == "running"


def test_exit_does_not_swallow_exceptions(client):
    with pytest.raises(ZeroDivisionError):
        with ParallelMap(square, [1, 2], write_worker_results=False):
            1 / 0  # noqa: B018
    assert client.status == "running"


def test_acmedaemon_rejects_other_objects():
    with pytest.raises(
        AcmeTypeError, match="`pmap` has to be a `ParallelMap` instance"
    ):
        ACMEdaemon(object())


def test_acmedaemon_shares_the_map(client):
    pmap = ParallelMap(square, [1, 2], write_worker_results=False)
    with pmap as daemon:
        pmap_daemon = ACMEdaemon(pmap)
        assert pmap_daemon is not daemon
        assert pmap_daemon.config is daemon.config
        assert pmap_daemon.compute() == [1, 4]
