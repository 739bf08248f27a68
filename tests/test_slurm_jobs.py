"""The SLURM jobs behind a cluster (``acme.cluster._jobs``): lookups and reports.

The reports on real failures (a failing call, a dead worker, a job killed for its
memory or cancelled) are checked end to end in ``test_pmap_slurm.py``.
"""

from __future__ import annotations

from functools import partial

import dask
import pytest
from distributed import Client, get_worker
from slurm_helpers import (
    cluster_job_ids,
    wait_gone,
    wait_until,
)

from acme import slurm_cluster_setup
from acme.cluster import _slurm_info
from acme.cluster._jobs import all_jobs, dead_worker_job, slurm_report
from acme.cluster._watch import JobWatch
from acme.results._worker import STARTED_TOPIC


def test_a_local_cluster_has_no_jobs(client):
    assert all_jobs(client.cluster) == []
    assert JobWatch.of(client) is None
    assert all_jobs(None) == []


def test_a_start_reported_before_the_subscription_is_found(client):
    """A batch may start before the client's subscription reaches the scheduler."""

    def announce():
        event = {"key": "batch-1", "job": "42"}
        get_worker().log_event(STARTED_TOPIC, event)

    client.submit(announce, pure=False).result()  # sent before the task's result
    watch = JobWatch(None)
    assert watch.ran_on == {}  # no subscription saw it
    assert watch.job_of("batch-1", partial(client.get_events, STARTED_TOPIC)) == "42"
    assert watch.job_of("batch-2", partial(client.get_events, STARTED_TOPIC)) is None


def test_dead_worker_job_of_an_error_without_a_worker(client):
    assert dead_worker_job(RuntimeError("boom"), client.cluster) is None
    assert dead_worker_job(RuntimeError("boom"), None) is None


def test_a_report_never_raises(monkeypatch):
    """A lookup failing in an unexpected way leaves its job out of the report."""

    def broken(argv, timeout):
        raise RuntimeError("scontrol crashed")

    monkeypatch.setattr(_slurm_info, "_run", broken)
    assert slurm_report(["17", "4"]) == []


@pytest.mark.slurm
def test_report_of_a_job_slurm_does_not_know():
    [line] = slurm_report(["999999999"])
    assert line.startswith("SLURM job 999999999: unknown (SLURM no longer lists it)")


@pytest.mark.slurm
@pytest.mark.usefixtures("no_leftover_jobs")
def test_a_pending_job_is_seen(tmp_path):
    cluster = slurm_cluster_setup(
        partition="debug",
        n_workers=1,
        mem_per_worker="500MB",
        n_workers_startup=0,
        interactive=False,
        start_client=False,
        job_extra=["--begin=now+1hour"],  # the job stays pending
    )
    client = Client(cluster)
    try:
        [job] = cluster_job_ids(cluster, 1)
        assert all_jobs(cluster) == [job]
        watch = JobWatch.of(client)

        def pending():
            watch.poll()
            return watch.waiting

        with dask.config.set({"acme.slurm.poll-interval": 0}):
            wait_until(pending, 30, f"job {job} to be pending")
        assert watch.ended == {}
        assert not watch.all_ended
        [line] = slurm_report([job])
        assert line.startswith(f"SLURM job {job}: PENDING (reason ")
    finally:
        client.close()
        cluster.close()
    assert wait_gone([job]) == []
