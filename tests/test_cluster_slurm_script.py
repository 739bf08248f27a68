"""The ``SLURMCluster`` keywords acme builds and the job script they render (offline).

``slurm._cluster_kwargs`` is the one mapping of acme's options onto
``SLURMCluster``; dask-jobqueue renders the job script without submitting it.
"""

from __future__ import annotations

import sys

import pytest
from dask_jobqueue import SLURMCluster
from slurm_helpers import header, memory_mb

from acme.cluster._options import SlurmOptions, check_job_extra
from acme.cluster._resources import walltime_seconds
from acme.cluster.slurm import _cluster_kwargs
from acme.errors import AcmeValueError


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
    options = SlurmOptions(
        partition,
        (partition,),
        partition,
        n_workers=1,
        n_cores=n_cores,
        processes_per_worker=processes,
        job_extra=check_job_extra(job_extra),
        worker_extra_args=worker_extra_args,
        scheduler_options={"dashboard_address": ":0"},
        extra=kwargs,
    )
    cluster_kwargs = _cluster_kwargs(options, partition, memory)
    with SLURMCluster(**cluster_kwargs) as cluster:
        script = cluster.job_script()
    return cluster_kwargs, script


def command(script: str) -> str:
    return script.strip().splitlines()[-1]


def mem_header_mb(script: str) -> float:
    [line] = [line for line in header(script) if line.startswith("#SBATCH --mem=")]
    return memory_mb(line.removeprefix("#SBATCH --mem="))


def test_header_maps_partition_cores_and_memory():
    _, script = render(partition="8GBS", n_cores=3, memory=1000)
    lines = header(script)
    assert "#SBATCH -J acme-worker" in lines
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


def test_workers_retire_before_the_walltime():
    _, script = render(walltime="01:00:00")
    # a tenth (6 min) early, +-2 min at random
    assert command(script).endswith("--lifetime=3240s --lifetime-stagger=120s")
    _, script = render(walltime="00:01:00")  # at least 30 s early
    assert command(script).endswith("--lifetime=30s --lifetime-stagger=10s")


def test_a_lifetime_of_the_users_is_kept():
    _, script = render(walltime="01:00:00", worker_extra_args=["--lifetime", "50m"])
    assert command(script).endswith("--lifetime 50m")
    assert "--lifetime=" not in script


def test_no_lifetime_without_a_walltime():
    for kwargs in ({}, {"walltime": "UNLIMITED"}):
        _, script = render(**kwargs)
        assert "--lifetime" not in script


@pytest.mark.parametrize(
    ("walltime", "seconds"),
    [("30", 1800), ("30:15", 1815), ("01:30:00", 5400), ("2-12", 216000),
     ("2-12:30", 217800), ("2-12:30:15", 217815), (45, 2700)],
)  # fmt: skip
def test_slurm_time_formats(walltime, seconds):
    assert walltime_seconds(walltime) == seconds


@pytest.mark.parametrize("walltime", ["1h", "1:2:3:4", "-5", ""])
def test_a_walltime_slurm_cannot_read_is_refused(walltime):
    with pytest.raises(AcmeValueError, match="`walltime` has to be a SLURM time limit"):
        render(walltime=walltime)


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
