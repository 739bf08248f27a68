"""``slurm_cluster_setup`` with real worker jobs on the local SLURM.

The partitions are those of ``.ci/slurm`` (``8GBS`` default/8000 MB,
``16GBL``/16000 MB, ``debug``/2000 MB); what depends on the size of the node
(CPUs, memory) is read from ``scontrol``.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from dask_jobqueue import SLURMCluster
from distributed import Client, get_client
from slurm_helpers import (
    cluster_job_ids,
    header,
    job_fields,
    jobs_below,
    memory_mb,
    partition_node,
    queued,
    wait_gone,
    wait_until,
)

from acme import cluster_cleanup, slurm_cluster_setup
from acme.errors import AcmeTypeError, WorkerStartTimeoutError

slurm_jobs = pytest.mark.usefixtures("no_leftover_jobs")


def setup_debug(**kwargs):
    return slurm_cluster_setup(partition="debug", interactive=False, **kwargs)


# -- keywords SLURMCluster gets: checked when the cluster is built -------------------


@pytest.mark.slurm
@pytest.mark.parametrize(
    ("kwarg", "value", "acme_name"),
    [
        ("cores", 2, "n_cores"),
        ("job_cpu", 2, "n_cores"),
        ("job_mem", "1G", "mem_per_worker"),
        ("memory", "1GB", "mem_per_worker"),
        ("queue", "8GBS", "partition"),
        ("processes", 2, "processes_per_worker"),
        ("job_extra_directives", ["--comment=x"], "job_extra"),
    ],
)
def test_mapped_kwargs_name_the_acme_keyword(kwarg, value, acme_name):
    with pytest.raises(AcmeTypeError) as info:
        setup_debug(**{kwarg: value})
    assert f"`{acme_name}`" in str(info.value)
    assert kwarg in str(info.value)


@pytest.mark.slurm
def test_unknown_kwarg_is_rejected_by_slurmcluster():
    with pytest.raises(TypeError, match="acme_no_such_option"):
        setup_debug(acme_no_such_option=1)


@pytest.mark.slurm
def test_unknown_kwarg_raises_before_any_job(tmp_path):
    with pytest.raises((TypeError, ValueError), match="acme_no_such_option"):
        setup_debug(acme_no_such_option=1)
    assert jobs_below(tmp_path) == []


# -- real worker jobs ---------------------------------------------------------------


@pytest.mark.slurm
@slurm_jobs
def test_workers_are_sbatch_jobs_in_the_partition(tmp_path, acme_log):
    extra = ["--comment=acme-test"]
    client = slurm_cluster_setup(
        partition="debug",
        n_workers=2,
        mem_per_worker="1GB",
        interactive=False,
        n_workers_startup=2,
        job_extra=extra,
    )
    try:
        assert isinstance(client, Client)
        assert get_client() is client
        assert len(client.scheduler_info(n_workers=-1)["workers"]) == 2
        jobs = cluster_job_ids(client.cluster, 2)
        for job in jobs:
            fields = job_fields(job)
            assert fields["JobState"] == "RUNNING"
            assert fields["Partition"] == "debug"
            assert fields["JobName"] == "acme-worker"
            assert fields["NumCPUs"] == "1"
            assert 900 < memory_mb(fields["MinMemoryNode"]) <= 1000
            assert fields["Comment"] == "acme-test"
        # os.getenv: the test module is not importable on the workers
        task = client.submit(os.getenv, "SLURM_JOB_PARTITION", pure=False)
        assert task.result(timeout=60) == "debug"
        assert sorted(client.run(os.getenv, "SLURM_JOB_ID").values()) == sorted(jobs)
        assert extra == ["--comment=acme-test"]  # the caller's list is not modified
        assert "Parallel computing client ready, dashboard accessible at" in (
            acme_log.text
        )
        address = client.scheduler.address
    finally:
        cluster_cleanup(client)
    assert (
        f"Successfully shut down SLURMCluster hosted on {address} containing 2 workers"
        in acme_log.text
    )
    assert client.status == "closed"
    with pytest.raises(ValueError):
        get_client()
    assert wait_gone(jobs) == []


@pytest.mark.slurm
@slurm_jobs
def test_start_client_false_returns_the_cluster(tmp_path):
    # partition "auto" without an estimate: the default partition (8GBS);
    # cores_per_worker is an alias of n_cores
    cluster = slurm_cluster_setup(
        partition="auto",
        cores_per_worker=2,
        mem_per_worker="1GB",
        n_workers=1,
        interactive=False,
        start_client=False,
    )
    try:
        assert isinstance(cluster, SLURMCluster)
        with pytest.raises(ValueError):
            get_client()  # no client was started
        assert "#SBATCH --cpus-per-task=2" in header(cluster.job_script())
        [job] = cluster_job_ids(cluster, 1)
        fields = job_fields(job)
        assert fields["Partition"] == "8GBS"
        assert fields["NumCPUs"] == "2"
    finally:
        cluster.close()
    assert wait_gone([job]) == []


@pytest.mark.slurm
@slurm_jobs
def test_memory_is_capped_by_the_partition(tmp_path, acme_log):
    cluster = slurm_cluster_setup(
        partition="debug",
        mem_per_worker="4GB",
        n_workers=1,
        n_workers_startup=0,  # returns at once; the job is watched below
        interactive=False,
        start_client=False,
    )
    try:
        warnings = [r for r in acme_log.records if r.levelname == "WARNING"]
        assert any("1900" in r.getMessage() for r in warnings), acme_log.text
        [job] = cluster_job_ids(cluster, 1)

        def started() -> dict[str, str]:
            fields = job_fields(job)
            assert fields["Reason"] != "PartitionConfig", fields
            return fields if fields["JobState"] == "RUNNING" else {}

        fields = wait_until(started, 60, f"job {job} to run")
        assert fields["Partition"] == "debug"
        assert 1800 < memory_mb(fields["MinMemoryNode"]) <= 1900
    finally:
        cluster.close()


@pytest.mark.slurm
@slurm_jobs
def test_returns_once_n_workers_startup_are_live(tmp_path):
    # three jobs of more than a third of the node's CPUs: one runs, one must wait
    cpus = int(partition_node("debug")["CPUTot"])
    client = slurm_cluster_setup(
        partition="debug",
        n_workers=3,
        n_cores=cpus // 3 + 1,
        mem_per_worker="1GB",
        n_workers_startup=1,
        timeout=120,
        interactive=False,
    )
    try:
        live = len(client.scheduler_info(n_workers=-1)["workers"])
        assert 1 <= live < 3
        jobs = cluster_job_ids(client.cluster, 3)
        states = sorted(job_fields(job)["JobState"] for job in jobs)
        assert "PENDING" in states
    finally:
        cluster_cleanup(client)
    assert wait_gone(jobs) == []


@pytest.mark.slurm
@slurm_jobs
def test_timeout_without_workers_raises(tmp_path):
    with pytest.raises(WorkerStartTimeoutError) as info:
        slurm_cluster_setup(
            partition="debug",
            n_workers=1,
            mem_per_worker="1GB",
            timeout=0,
            interactive=False,
            job_extra=["--begin=now+1hour"],  # the job stays pending
        )
    error = info.value
    assert str(error) == (
        "<slurm_cluster_setup> SLURM workers could not be started within given "
        "time-out interval of 0 seconds"
    )
    assert (error.available, error.expected, error.timeout) == (0, 1, 0)
    with pytest.raises(ValueError):
        get_client()

    def none_left():
        return not jobs_below(tmp_path)

    wait_until(none_left, 30, "the pending job to be cancelled")


@pytest.mark.slurm
def test_jobs_of_a_test_are_found_by_their_folder(tmp_path):
    """What the leftover-job check relies on: sbatch records the test's folder."""
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/bash\n#SBATCH -J dask-worker\nsleep 60\n")
    argv = ["sbatch", "--parsable", "-p", "debug", "--mem=100M", "--begin=now+1hour"]
    done = subprocess.run(
        [*argv, str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=30,
        check=True,
    )
    job = done.stdout.strip().split(";")[0]
    try:
        assert [j["id"] for j in jobs_below(tmp_path)] == [job]
        assert queued([job]) == [job]
    finally:
        subprocess.run(["scancel", job], timeout=30, check=True)
    assert wait_gone([job]) == []
