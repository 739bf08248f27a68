"""SLURM queries through the one seam ``_slurm_info._run``, and their failures.

Commands are faked (``slurm_helpers.FakeSlurm``) only for outputs or failures this
SLURM cannot produce on demand; a missing ``sinfo`` is real (an empty ``PATH``).
"""

from __future__ import annotations

import socket

import pytest
from slurm_helpers import DATA, FakeSlurm, canned, failure

from acme import slurm_cluster_setup
from acme.cluster import _slurm_info
from acme.cluster._slurm_info import PartitionInfo, partition_info, partitions
from acme.errors import SlurmError

NO_ACCOUNTING = (DATA / "sacctmgr_no_accounting.stderr").read_text()
CONTROLLER_DOWN = (
    "slurm_load_partitions: Unable to contact slurm controller (connect failure)"
)


@pytest.fixture
def fake_slurm(monkeypatch):
    def install(routes: dict[tuple[str, ...], str | Exception]) -> FakeSlurm:
        fake = FakeSlurm(routes)
        monkeypatch.setattr(_slurm_info, "_run", fake)
        return fake

    return install


# -- queries through the _run seam -----------------------------------------------------


def test_partitions_from_canned_sinfo(fake_slurm):
    fake = fake_slurm({("sinfo",): canned("sinfo_partitions.txt")})
    assert partitions() == (["8GBS", "16GBL", "debug"], "8GBS")
    assert fake.calls == [["sinfo", "-h", "-o", "%P"]]


def test_partition_info_from_canned_real_output(fake_slurm):
    fake = fake_slurm(
        {
            ("scontrol", "-o", "partition", "8GBS"): canned(
                "scontrol_partition_8GBS.txt"
            ),
            ("scontrol", "-o", "node", "vm"): canned("scontrol_node_vm.txt"),
        }
    )
    facts = partition_info("8GBS")
    assert facts == PartitionInfo(
        name="8GBS",
        def_mem_per_cpu=None,
        max_mem_per_cpu=None,
        max_mem_per_node=8000,
        qos_mem=None,
        node_mem=21694,
    )
    assert facts.cap_mb(1) == 8000
    assert fake.commands("sacctmgr") == []  # QoS=N/A: no accounting query


def test_partition_info_with_per_cpu_limits_and_qos(fake_slurm):
    fake = fake_slurm(
        {
            ("scontrol", "-o", "partition", "gpu"): canned(
                "scontrol_partition_gpu_qos.txt"
            ),
            ("scontrol", "-o", "node", "gpu[01-02]"): canned("scontrol_nodes_gpu.txt"),
            ("sacctmgr", "show", "qos", "name=gpu_limit", "format=MaxTRES", "-P"): (
                canned("sacctmgr_qos_maxtres.txt")
            ),
        }
    )
    facts = partition_info("gpu")
    assert facts.def_mem_per_cpu == 3800
    assert facts.max_mem_per_cpu == 7600
    assert facts.max_mem_per_node is None
    assert facts.qos_mem == 240 * 1024
    assert facts.node_mem == 257000  # the smallest node
    assert facts.cap_mb(4) == 240 * 1024
    [query] = fake.commands("sacctmgr")
    assert "name=gpu_limit" in query  # the QoS name is one argv item


def test_partition_info_of_qos_without_memory_limit(fake_slurm):
    fake_slurm(
        {
            ("scontrol", "-o", "partition", "gpu"): canned(
                "scontrol_partition_gpu_qos.txt"
            ),
            ("scontrol", "-o", "node"): canned("scontrol_nodes_gpu.txt"),
            ("sacctmgr", "name=gpu_limit"): canned("sacctmgr_qos_no_mem.txt"),
        }
    )
    facts = partition_info("gpu")
    assert facts.qos_mem is None
    assert facts.cap_mb(2) == 2 * 7600


def test_partition_info_with_unlimited_node_memory_uses_real_memory(fake_slurm):
    fake = fake_slurm(
        {
            ("scontrol", "-o", "partition", "E880"): canned(
                "scontrol_partition_unlimited.txt"
            ),
            ("scontrol", "-o", "node", "esi-svhpc[10-11]"): canned(
                "scontrol_nodes_e880.txt"
            ),
        }
    )
    facts = partition_info("E880")
    assert facts.def_mem_per_cpu == 2000
    assert facts.max_mem_per_node is None  # UNLIMITED
    assert facts.node_mem == 990000
    assert facts.cap_mb(8) == 990000
    assert fake.commands("sacctmgr") == []


@pytest.mark.parametrize(
    "error",
    [
        failure(
            ["sacctmgr", "show", "qos", "name=gpu_limit", "format=MaxTRES", "-P"],
            1,
            NO_ACCOUNTING,
        ),
        FileNotFoundError(2, "No such file or directory: 'sacctmgr'"),
    ],
    ids=["no-accounting-daemon", "sacctmgr-missing"],
)
def test_failing_sacctmgr_is_not_an_error(fake_slurm, error):
    fake = fake_slurm(
        {
            ("scontrol", "-o", "partition", "gpu"): canned(
                "scontrol_partition_gpu_qos.txt"
            ),
            ("scontrol", "-o", "node"): canned("scontrol_nodes_gpu.txt"),
            ("sacctmgr",): error,
        }
    )
    facts = partition_info("gpu")
    assert len(fake.commands("sacctmgr")) == 1
    assert facts.qos_mem is None
    assert facts.cap_mb(2) == 2 * 7600  # the next rule applies


def test_user_values_are_single_argv_items(fake_slurm):
    name = "8GBS; rm -rf ~"
    fake = fake_slurm({("scontrol", "-o", "partition", name): "PartitionName=x"})
    partition_info(name)
    assert fake.calls == [["scontrol", "-o", "show", "partition", name]]


# -- error paths of slurm_cluster_setup -----------------------------------------------


def test_missing_sinfo_raises_slurm_error(tmp_path, monkeypatch):
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # sinfo really is missing
    with pytest.raises(SlurmError) as info:
        slurm_cluster_setup(partition="8GBS", interactive=False)
    host = socket.gethostname()
    assert f"Error fetching SLURM partition setup from node {host}" in str(info.value)
    assert "sinfo" in str(info.value)  # the reason
    assert info.value.argv[0] == "sinfo"
    assert info.value.returncode is None  # it never ran


def test_sinfo_runs_first_whatever_the_arguments(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SlurmError, match="Error fetching SLURM partition setup"):
        slurm_cluster_setup(
            partition=3,
            n_workers=0,
            mem_per_worker="lots",
            job_extra="--no-list",
            interactive="no",
        )


def test_failing_sinfo_reports_its_stderr(fake_slurm):
    argv = ["sinfo", "-h", "-o", "%P"]
    fake_slurm({("sinfo",): failure(argv, 1, CONTROLLER_DOWN + "\n")})
    with pytest.raises(SlurmError) as info:
        slurm_cluster_setup(partition="8GBS", interactive=False)
    host = socket.gethostname()
    message = str(info.value)
    assert f"Error fetching SLURM partition setup from node {host}: " in message
    assert CONTROLLER_DOWN in message
    assert info.value.argv == argv
    assert info.value.returncode == 1
    assert info.value.stderr.strip() == CONTROLLER_DOWN


def test_failing_scontrol_raises_slurm_error(fake_slurm):
    argv = ["scontrol", "-o", "show", "partition", "8GBS"]
    stderr = "slurm_load_partitions: Socket timed out on send/recv operation\n"
    fake = fake_slurm(
        {
            ("sinfo",): canned("sinfo_partitions.txt"),
            ("scontrol", "partition"): failure(argv, 1, stderr),
        }
    )
    with pytest.raises(SlurmError) as info:
        slurm_cluster_setup(partition="8GBS", n_workers=1, interactive=False)
    assert "Cannot fetch available memory per CPU in SLURM" in str(info.value)
    assert info.value.argv == argv
    assert info.value.returncode == 1
    assert info.value.stderr == stderr
    assert fake.commands("sacctmgr") == []


def test_failing_scontrol_with_given_partitions(fake_slurm):
    argv = ["scontrol", "-o", "show", "partition", "big"]
    fake = fake_slurm({("scontrol",): failure(argv, 1, "Invalid partition name")})
    with pytest.raises(SlurmError, match="Cannot fetch available memory per CPU"):
        slurm_cluster_setup(partition="big", avail_partitions=["big"])
    assert fake.commands("sinfo") == []  # avail_partitions replaces sinfo


# -- job limits (this SLURM has no accounting daemon: sacctmgr is faked) ---------------


def test_job_limit_is_the_smallest_of_association_and_qos(fake_slurm):
    fake = fake_slurm(
        {
            ("sacctmgr", "assoc"): "50|200|normal,long\n",
            ("sacctmgr", "qos", "name=long,normal"): "40|\n|120\n",
            ("squeue",): "101|RUNNING\n102|PENDING\n",
        }
    )
    # MaxJobs 50 and 40; MaxSubmit 200 and 120, less the 2 jobs queued: 118
    assert _slurm_info.job_limit() == 40
    [qos] = [argv for argv in fake.calls if "qos" in argv]
    assert "format=MaxJobsPU,MaxSubmitPU" in qos


def test_job_limit_counts_queued_jobs_against_max_submit(fake_slurm):
    fake_slurm(
        {
            ("sacctmgr", "assoc"): "|10|\n",
            ("squeue",): "".join(f"{job}|PENDING\n" for job in range(7)),
        }
    )
    assert _slurm_info.job_limit() == 3


def test_no_job_limit_without_accounting(fake_slurm):
    argv = ["sacctmgr", "show", "assoc"]
    fake_slurm({("sacctmgr",): failure(argv, 1, NO_ACCOUNTING)})
    assert _slurm_info.job_limit() is None


def test_worker_jobs_are_capped(fake_slurm, acme_log):
    import dask

    from acme._logging import ensure_configured
    from acme._startup import _worker_jobs

    ensure_configured()  # INFO, as when a ParallelMap starts
    fake_slurm({("sacctmgr", "assoc"): "8||\n"})
    with dask.config.set({"acme.slurm.max-jobs": 20}):
        assert _worker_jobs(5) == 5
        assert acme_log.text == ""
        assert _worker_jobs(500) == 8
    assert "Starting 8 SLURM worker jobs for 500 calls (capped by your SLURM job" in (
        acme_log.text
    )
    with dask.config.set({"acme.slurm.max-jobs": 3}):
        assert _worker_jobs(500) == 3
    assert "(capped by acme.slurm.max-jobs)" in acme_log.text


@pytest.mark.parametrize("value", [0, -1, 2.5, "many", True])
def test_a_bad_max_jobs_is_refused(value):
    import dask

    from acme._startup import _worker_jobs
    from acme.errors import AcmeValueError

    with (
        dask.config.set({"acme.slurm.max-jobs": value}),
        pytest.raises(AcmeValueError, match=r"`acme\.slurm\.max-jobs` has to be"),
    ):
        _worker_jobs(5)
