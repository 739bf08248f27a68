"""``slurm_cluster_setup`` (API.md 8.2, 6.5, 8.5).

Offline: the ``SLURMCluster`` keywords acme builds (``slurm._cluster_kwargs``) and
the job script dask-jobqueue renders from them, and the validation steps that run
before SLURM is asked anything. ``slurm``-marked: the validation steps after the
partition query, and real worker jobs on the CI SLURM of ``.ci/slurm``
(partitions ``8GBS`` default/8000 MB, ``16GBL``/16000 MB, ``debug``/2000 MB).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from dask_jobqueue import SLURMCluster
from distributed import Client, get_client
from slurm_helpers import (
    cluster_job_ids,
    job_fields,
    jobs_below,
    memory_mb,
    no_leftover_jobs,  # noqa: F401  fixture, used through `slurm_jobs`
    queued,
    wait_gone,
    wait_until,
)

from acme import cluster_cleanup, slurm_cluster_setup
from acme.cluster._options import check_job_extra
from acme.cluster.slurm import _cluster_kwargs
from acme.errors import AcmeTypeError, AcmeValueError, WorkerStartTimeoutError

slurm_jobs = pytest.mark.usefixtures("no_leftover_jobs")

# -- offline: SLURMCluster keywords and the job script -----------------------------


def render(
    partition="debug",
    n_cores=1,
    memory=1000,
    processes=1,
    job_extra=None,
    worker_extra_args=None,
    **kwargs,
):
    """acme's SLURMCluster keywords and the job script (no job is submitted)."""
    options = _cluster_kwargs(
        partition,
        n_cores,
        memory,
        processes,
        check_job_extra(job_extra),
        worker_extra_args,
        {"dashboard_address": ":0"},
        kwargs,
    )
    with SLURMCluster(**options) as cluster:
        script = cluster.job_script()
    return options, script


def header(script: str) -> list[str]:
    return [line for line in script.splitlines() if line.startswith("#SBATCH")]


def command(script: str) -> str:
    return script.strip().splitlines()[-1]


def mem_header_mb(script: str) -> float:
    [line] = [line for line in header(script) if line.startswith("#SBATCH --mem=")]
    return memory_mb(line.removeprefix("#SBATCH --mem="))


def test_header_maps_partition_cores_and_memory():
    _, script = render(partition="8GBS", n_cores=3, memory=1000)
    lines = header(script)
    assert "#SBATCH -J dask-worker" in lines
    assert "#SBATCH -p 8GBS" in lines
    assert "#SBATCH -n 1" in lines
    assert "#SBATCH --cpus-per-task=3" in lines
    assert 900 < mem_header_mb(script) <= 1000
    assert command(script).startswith(
        f"{sys.executable} -m distributed.cli.dask_worker"
    )
    assert "--nthreads 3" in command(script)
    assert "--nworkers" not in command(script)


def test_job_extra_lines_and_local_directory(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    extra = [f"--output={logs}/slurm-%j.out", "--comment=acme-test"]
    options, script = render(job_extra=extra)
    lines = header(script)
    assert f"#SBATCH --output={logs}/slurm-%j.out" in lines
    assert "#SBATCH --comment=acme-test" in lines
    assert lines.index("#SBATCH --output=" + f"{logs}/slurm-%j.out") > lines.index(
        "#SBATCH -p debug"
    )
    assert options["local_directory"] == str(logs)
    assert f"--local-directory {logs}" in command(script)


def test_no_output_folder_no_local_directory():
    options, script = render(job_extra=["--comment=acme-test"])
    assert "local_directory" not in options
    assert "--local-directory" not in command(script)
    assert not any(line.startswith("#SBATCH --output") for line in header(script))


def test_no_walltime_directive_by_default():
    _, script = render()
    assert [line for line in header(script) if line.startswith("#SBATCH -t")] == []


def test_walltime_directive_when_passed():
    _, script = render(walltime="01:15:00")
    assert "#SBATCH -t 01:15:00" in header(script)


def test_processes_and_worker_extra_args():
    _, script = render(
        n_cores=2, processes=2, worker_extra_args=["--memory-limit", "0"]
    )
    assert "--nworkers 2" in command(script)
    assert command(script).endswith("--memory-limit 0")


def test_other_kwargs_reach_slurmcluster():
    _, script = render(account="acme-project")
    assert "#SBATCH -A acme-project" in header(script)


@pytest.mark.parametrize("memory", [1000, 1900, 7900])
def test_mem_directive_never_exceeds_the_computed_memory(memory):
    _, script = render(memory=memory)
    assert mem_header_mb(script) <= memory


def test_memory_keyword_is_in_megabytes():
    options, _ = render(memory=1000)
    assert options["memory"] == "1000MB"


def test_mapped_options():
    options, _ = render(partition="16GBL", n_cores=2, processes=1)
    assert options["cores"] == 2
    assert options["job_cpu"] == 2
    assert options["processes"] == 1
    assert options["queue"] == "16GBL"
    assert options["python"] == sys.executable
    assert options["job_extra_directives"] == []


# -- validation before SLURM is queried (avail_partitions replaces sinfo) -----------

PARTITIONS = ["8GBS", "16GBL", "debug", "ESI"]


def setup(**kwargs):
    kwargs.setdefault("avail_partitions", PARTITIONS)
    kwargs.setdefault("partition", "debug")
    kwargs.setdefault("interactive", False)
    return slurm_cluster_setup(**kwargs)


def test_invalid_partition_lists_the_valid_ones():
    with pytest.raises(AcmeValueError) as info:
        setup(partition="32GBS", invalid_partitions=["ESI"])
    message = str(info.value)
    assert "Invalid partition selection 32GBS, available SLURM partitions are" in (
        message
    )
    assert all(name in message for name in ("8GBS", "16GBL", "debug"))
    assert "ESI" not in message


def test_invalid_partitions_are_refused():
    with pytest.raises(AcmeValueError, match="Invalid partition selection ESI"):
        setup(partition="ESI", invalid_partitions=["ESI"])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_workers": "2"}, AcmeTypeError, "`n_workers` has to be a scalar, not"),
        ({"n_workers": True}, AcmeTypeError, "`n_workers` has to be a scalar, not"),
        (
            {"n_workers": 0},
            AcmeValueError,
            "`n_workers` has to be an integer between 1 and inf, not 0",
        ),
        (
            {"n_workers": 1.5},
            AcmeValueError,
            "`n_workers` has to be an integer between 1 and inf, not 1.5",
        ),
        (
            {"n_cores": 0},
            AcmeValueError,
            "`n_cores` has to be an integer between 1 and inf, not 0",
        ),
        ({"n_cores": "1"}, AcmeTypeError, "`n_cores` has to be a scalar, not"),
        (
            {"cores_per_worker": 0},
            AcmeValueError,
            "has to be an integer between 1 and inf, not 0",
        ),
        (
            {"n_workers_startup": -1},
            AcmeValueError,
            "`n_workers_startup` has to be an integer between 0 and inf, not -1",
        ),
        (
            {"mem_cushion": -1},
            AcmeValueError,
            "`mem_cushion` has to be an integer between 0 and inf, not -1",
        ),
        ({"mem_cushion": None}, AcmeTypeError, "`mem_cushion` has to be a scalar"),
    ],
)
def test_integer_rules_before_the_partition_query(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        setup(**kwargs)


MEM_MESSAGE = (
    "`mem_per_worker` has to be a valid memory specifier (e.g., '8GB', '12000MB'), not "
)


@pytest.mark.parametrize("value", ["lots", "8 TB", "0MB", "-1GB", "GB", "8G"])
def test_invalid_memory_values(value):
    with pytest.raises(AcmeValueError) as info:
        setup(mem_per_worker=value)
    assert MEM_MESSAGE in str(info.value)
    assert value in str(info.value)


def test_non_string_memory_value():
    with pytest.raises(AcmeTypeError) as info:
        setup(mem_per_worker=8)
    assert MEM_MESSAGE in str(info.value)


# -- validation after the partition query (real scontrol, no job is submitted) ------


@pytest.mark.slurm
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"timeout": -1},
            AcmeValueError,
            "`timeout` has to be an integer between 0 and inf, not -1",
        ),
        ({"timeout": "60"}, AcmeTypeError, "`timeout` has to be a scalar, not"),
        (
            {"interactive_wait": -1},
            AcmeValueError,
            "`interactive_wait` has to be an integer between 0 and inf, not -1",
        ),
        (
            {"interactive": "no"},
            AcmeTypeError,
            "`interactive` has to be Boolean, not <class 'str'>",
        ),
        (
            {"start_client": 1},
            AcmeTypeError,
            "`start_client` has to be Boolean, not <class 'int'>",
        ),
        (
            {"job_extra": "--comment=x"},
            AcmeTypeError,
            "`job_extra` has to be a list, not <class 'str'>",
        ),
        (
            {"job_extra": ("--comment=x",)},
            AcmeTypeError,
            "`job_extra` has to be a list, not <class 'tuple'>",
        ),
        (
            {"job_extra": ["--comment=x", 3]},
            AcmeTypeError,
            "`job_extra` has to be a valid sbatch option, not <class 'int'>",
        ),
        (
            {"job_extra": ["comment=x"]},
            AcmeValueError,
            "`job_extra` options must be flagged with - or --",
        ),
        (
            {"job_extra": ["-o /tmp/slurm-%j.out"]},
            AcmeValueError,
            "SLURM output directory must be specified using "
            "-o/--output=/path/to/file, not -o /tmp/slurm-%j.out",
        ),
        (
            {"job_extra": ["--output", "/tmp/slurm-%j.out"]},
            AcmeValueError,
            "SLURM output directory must be specified using -o/--output=",
        ),
        (
            {"processes_per_worker": 0},
            AcmeValueError,
            "`processes_per_worker` has to be an integer between 1 and inf, not 0",
        ),
        (
            {"processes_per_worker": True},
            AcmeTypeError,
            "`processes_per_worker` has to be a scalar",
        ),
    ],
)
def test_validation_after_the_partition_query(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        setup(**kwargs)


@pytest.mark.slurm
def test_output_folder_must_exist(tmp_path):
    missing = tmp_path / "no" / "such"
    with pytest.raises(AcmeValueError) as info:
        setup(job_extra=[f"--output={missing}/slurm-%j.out"])
    assert f"SLURM output location has to be an existing directory, not {missing}" in (
        str(info.value)
    )


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
        setup(**{kwarg: value})
    assert f"`{acme_name}`" in str(info.value)
    assert kwarg in str(info.value)


@pytest.mark.slurm
def test_unknown_kwarg_is_rejected_by_slurmcluster():
    with pytest.raises(TypeError, match="acme_no_such_option"):
        setup(acme_no_such_option=1)


@pytest.mark.slurm
def test_unknown_kwarg_raises_before_any_job(tmp_path):
    with pytest.raises((TypeError, ValueError), match="acme_no_such_option"):
        setup(acme_no_such_option=1)
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
            assert fields["JobName"] == "dask-worker"
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
    # 3 jobs of 3 CPUs on the 8-CPU node: the third cannot start while two run
    client = slurm_cluster_setup(
        partition="debug",
        n_workers=3,
        n_cores=3,
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
