"""Site profiles, ``esi_cluster_setup`` and ``bic_cluster_setup``.

Site profiles are configuration (``acme.sites.<name>``), so a test makes this
host an ESI host by pointing the profile's hostname prefix and marker folder at
it. The SLURM log folders always point into ``tmp_path``.
"""

from __future__ import annotations

import builtins
import getpass
import platform
import re
import socket

import dask
import pytest
from dask_jobqueue import SLURMCluster
from distributed import Client, LocalCluster, get_client
from slurm_helpers import (
    cluster_job_ids,
    job_fields,
    memory_mb,
    partition_node,
    wait_gone,
)

import acme.config
import acme.shared
from acme import ParallelMap, bic_cluster_setup, cluster_cleanup, esi_cluster_setup
from acme.cluster import _slurm_info
from acme.errors import AcmeValueError, SlurmError

slurm_jobs = pytest.mark.usefixtures("no_leftover_jobs")
FOUND = "Found existing parallel computing client {}. Not starting new cluster."


@pytest.fixture(autouse=True)
def _log_folders(tmp_path):
    """Site SLURM log folders inside tmp_path (never /cs or /mnt/hpc)."""
    with dask.config.set(
        {
            "acme.sites.esi.slurm-log-dir": str(tmp_path / "slurm/{user}_{timestamp}"),
            "acme.sites.bic.slurm-log-dir": str(tmp_path / "bic/{user}_{timestamp}"),
        }
    ):
        yield


@pytest.fixture
def esi_host(tmp_path):
    """This host matches the ESI profile; yields the base of its SLURM log folders."""
    with dask.config.set(
        {
            "acme.sites.esi.hostname-prefix": socket.gethostname(),
            "acme.sites.esi.marker-dir": str(tmp_path),
        }
    ):
        yield tmp_path / "slurm"


@pytest.fixture
def no_slurm(monkeypatch):
    monkeypatch.setattr(_slurm_info, "is_slurm_node", lambda: False)


# -- detection (no SLURM needed) ----------------------------------------------------


def test_host_matching_the_profile_is_an_esi_node(esi_host):
    assert acme.shared.is_esi_node() is True
    assert acme.shared.is_bic_node() is False


def test_packaged_profiles_do_not_match_this_host():
    assert socket.gethostname().startswith(("esi-sv", "bic-sv")) is False
    assert acme.shared.is_esi_node() is False
    assert acme.shared.is_bic_node() is False


def test_both_hostname_and_marker_folder_must_match(tmp_path):
    host = socket.gethostname()
    with dask.config.set(
        {
            "acme.sites.esi.hostname-prefix": host,
            "acme.sites.esi.marker-dir": str(tmp_path / "missing"),
        }
    ):
        assert acme.shared.is_esi_node() is False
    with dask.config.set(
        {
            "acme.sites.bic.hostname-prefix": f"not-{host}",
            "acme.sites.bic.marker-dir": str(tmp_path),
        }
    ):
        assert acme.shared.is_bic_node() is False


# -- an existing client is used -----------------------------------------------------


def test_existing_client_with_workers_is_returned(client, acme_log):
    assert esi_cluster_setup(partition="debug", interactive=False) is client
    assert FOUND.format(client) in acme_log.text
    assert bic_cluster_setup(partition="8GBSx86", start_client=False) is (
        client.cluster
    )
    assert client.status == "running"


# -- SLURM not reachable ------------------------------------------------------------


@pytest.mark.parametrize(
    "interactive", [False, True], ids=["non-interactive", "no-tty"]
)
def test_without_slurm_falls_back_to_a_local_client(no_slurm, interactive, acme_log):
    # an existing client without workers is shut down first
    idle = Client(LocalCluster(n_workers=0, processes=False, dashboard_address=":0"))
    client = esi_cluster_setup(partition="debug", interactive=interactive)
    try:
        assert idle.status == "closed"
        assert isinstance(client, Client)
        assert isinstance(client.cluster, LocalCluster)
        assert get_client() is client
        assert "Local parallel computing client ready" in acme_log.text
    finally:
        cluster_cleanup(client)
        idle.cluster.close()


def test_without_slurm_declining_the_local_client_raises(no_slurm, tty, monkeypatch):
    prompts = []
    monkeypatch.setattr(builtins, "input", lambda text: prompts.append(text) or "n")
    host = socket.gethostname()
    with pytest.raises(
        SlurmError, match=f"Cannot access SLURM queuing system from node {host}"
    ):
        esi_cluster_setup(partition="debug")
    assert len(prompts) == 1
    assert (
        f"SLURM does not seem to be installed on this machine ({host}). Do you want "
        "to start a local multi-processing computing client instead? [y/N]"
    ) in prompts[0]
    with pytest.raises(ValueError):
        get_client()


def test_without_slurm_accepting_the_local_client(no_slurm, tty, monkeypatch):
    monkeypatch.setattr(builtins, "input", lambda text: "y")
    client = bic_cluster_setup(partition="8GBSx86")
    try:
        assert isinstance(client.cluster, LocalCluster)
    finally:
        cluster_cleanup(client)


# -- the site's SLURM set-up on the real SLURM -------------------------------------


@pytest.mark.slurm
@slurm_jobs
def test_esi_cluster_setup_logs_to_the_site_folder(esi_host, acme_log):
    extra = ["--comment=acme-test"]
    client = esi_cluster_setup(
        partition="debug",
        n_workers=1,
        mem_per_worker="1GB",
        interactive=False,
        job_extra=extra,
    )
    try:
        [folder] = list(esi_host.iterdir())
        user = getpass.getuser()
        assert re.fullmatch(rf"{re.escape(user)}_\d{{8}}-\d{{6}}", folder.name)
        script = client.cluster.job_script()
        assert f"#SBATCH --output={folder}/slurm-%j.out" in script.splitlines()
        assert "#SBATCH --comment=acme-test" in script.splitlines()
        assert f"--local-directory {folder}" in script
        assert extra == ["--comment=acme-test"]  # a copy got the --output entry
        [job] = cluster_job_ids(client.cluster, 1)
        fields = job_fields(job)
        assert fields["Partition"] == "debug"
        assert fields["StdOut"] == f"{folder}/slurm-{job}.out"
        assert fields["NumCPUs"] == "1"  # max(1, floor(1000 / 1000))
        assert "Parallel computing client ready" in acme_log.text
    finally:
        cluster_cleanup(client)
    assert wait_gone([job]) == []


@pytest.mark.slurm
@slurm_jobs
def test_legacy_keywords_warn_and_are_mapped(tmp_path):
    with pytest.warns(FutureWarning) as warned:
        cluster = esi_cluster_setup(
            partition="debug",
            n_jobs=1,
            mem_per_job="1GB",
            n_jobs_startup=2,
            workers_per_job=2,
            interactive=False,
            start_client=False,
        )
    try:
        messages = " ".join(str(w.message) for w in warned)
        for name in ("n_jobs", "mem_per_job", "n_jobs_startup", "workers_per_job"):
            assert f"`{name}`" in messages
        assert isinstance(cluster, SLURMCluster)
        [job] = cluster_job_ids(cluster, 1)  # n_jobs=1 (default n_workers is 2)
        assert "--nworkers 2" in cluster.job_script()  # workers_per_job
        assert len(cluster.scheduler_info["workers"]) == 2  # n_jobs_startup=2
        [mem] = re.findall(r"#SBATCH --mem=(\S+)", cluster.job_script())
        assert 900 < memory_mb(mem) <= 1000  # mem_per_job (default: the partition's)
    finally:
        cluster.close()
    assert wait_gone([job]) == []


@pytest.mark.slurm
def test_auto_partition_needs_a_memory_estimate():
    with pytest.raises(SlurmError) as info:
        esi_cluster_setup(partition="auto", interactive=False)
    assert (
        "Cannot auto-select partition without first invoking memory estimation in "
        "`ParallelMap`."
    ) in str(info.value)


@pytest.fixture
def seven_cpus():
    """The site rule gives 8GBS jobs 7 cores (7900 MB); the node must have them."""
    cpus = int(partition_node("8GBS")["CPUTot"])
    if cpus < 7:
        pytest.skip(f"the node has {cpus} CPUs; the site rule asks for 7")


@pytest.mark.slurm
@slurm_jobs
def test_auto_partition_with_an_estimate_uses_the_site_rule(
    esi_host, acme_log, seven_cpus
):
    # GB-named partitions here: 8GBS and 16GBL; 3 GB is closest to 8 -> "8GBS"
    cluster = esi_cluster_setup(
        partition="auto",
        n_workers=1,
        mem_per_worker="estimate_memuse:3",
        n_workers_startup=0,
        interactive=False,
        start_client=False,
    )
    try:
        [job] = cluster_job_ids(cluster, 1)
        assert "#SBATCH -p 8GBS" in cluster.job_script()
        # memory from the partition (8000 - 100), cores floor(7900 / 1000)
        assert "#SBATCH --cpus-per-task=7" in cluster.job_script()
        assert job_fields(job)["Partition"] == "8GBS"
    finally:
        cluster.close()
    warnings = [r.getMessage() for r in acme_log.records if r.levelname == "WARNING"]
    assert "Automatic SLURM partition selection is experimental" in warnings
    assert "Picked partition 8GBS based on estimated memory consumption of 3 GB" in (
        acme_log.text
    )
    assert wait_gone([job]) == []


def add_one(x):
    return x + 1


@pytest.mark.slurm
@slurm_jobs
def test_parallel_map_applies_the_site_profile(esi_host, acme_log):
    """ParallelMap on an ESI host: the site's log folder and core rule, no fallback."""
    with (
        dask.config.set({"acme.cluster": "slurm"}),
        ParallelMap(
            add_one,
            [1, 2],
            partition="debug",
            mem_per_worker="1GB",
            setup_interactive=False,
            write_worker_results=False,
        ) as pmap,
    ):
        [folder] = list(esi_host.iterdir())
        cluster = pmap.config.client.cluster
        lines = cluster.job_script().splitlines()
        assert f"#SBATCH --output={folder}/slurm-%j.out" in lines
        assert "#SBATCH --cpus-per-task=1" in lines  # max(1, floor(1000 / 1000))
        assert (pmap.config.partition, pmap.config.mem_per_worker) == (
            "debug",
            "1000MB",
        )
        jobs = cluster_job_ids(cluster, 2)
        assert pmap.compute() == [2, 3]
    assert "not recognized" not in acme_log.text
    assert wait_gone(jobs) == []


@pytest.mark.slurm
@pytest.mark.skipif(platform.machine() != "x86_64", reason="needs an x86_64 host")
def test_architecture_guard():
    with pytest.raises(AcmeValueError) as info:
        esi_cluster_setup(partition="E880", interactive=False)
    assert (
        "Cannot start SLURM workers in partition E880 with architecture ppc64le from "
        "submitting host with architecture x86_64."
    ) in str(info.value)
    assert "esi-svhpc3" in str(info.value)  # the site's hint
    with pytest.raises(AcmeValueError) as info:
        bic_cluster_setup(partition="8GBSppc", interactive=False)
    assert (
        "Cannot start SLURM workers in partition 8GBSppc with architecture ppc64le "
        "from submitting host with architecture x86_64."
    ) in str(info.value)
