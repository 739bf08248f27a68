"""The SLURM jobs behind a cluster (``acme.cluster._jobs``): lookups and reports.

The reports on real failures (a failing call, a dead worker, a job killed for its
memory or cancelled) are checked end to end in ``test_pmap_slurm.py``.
"""

from __future__ import annotations

import dask
import pytest
from distributed import Client
from slurm_helpers import (
    cluster_job_ids,
    wait_gone,
    wait_until,
)

from acme import slurm_cluster_setup
from acme.cluster import _slurm_info
from acme.cluster._jobs import all_jobs, dead_worker_job, slurm_report
from acme.cluster._watch import JobWatch


def test_a_local_cluster_has_no_jobs(client):
    assert all_jobs(client.cluster) == []
    assert JobWatch.of(client) is None
    assert all_jobs(None) == []


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
