"""``ParallelMap`` on the real CI SLURM: start, attach, ``partition="auto"``, Ctrl-C.

Partitions of ``.ci/slurm``: ``8GBS`` (default, 8000 MB), ``16GBL`` (16000 MB) and
``debug`` (2000 MB), all on one node. ``conftest.py`` forces local
clusters, so every test here selects SLURM (the ``on_slurm`` fixture).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import dask
import h5py
import numpy as np
import pytest
from distributed import get_client
from slurm_helpers import (
    cluster_job_ids,
    job_fields,
    jobs_below,
    sleep_marked,
    wait_gone,
    wait_until,
    worker_jobs,
)

from acme import ParallelMap, cluster_cleanup, slurm_cluster_setup

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.usefixtures("no_leftover_jobs", "on_slurm"),
]

FALLBACK = "not recognized. Falling back to vanilla SLURM setup"


# -- functions the workers run (importable: compute() ships the caller's sys.path) ----


def square_and_partition(x):
    return x * x, os.environ["SLURM_JOB_PARTITION"]


def small(x):
    return x + 1


def allocate_2_5_gb(x):
    block = np.ones(int(2.5e9) // 8)
    time.sleep(2.5)  # hold it while the memory estimate samples (once per second)
    return float(block[:1].sum()) + x


def memory_estimate_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if "Estimating memory" in line]


# -- ParallelMap starts and stops SLURM workers ---------------------------------------


def test_parallel_map_starts_slurm_workers(tmp_path, acme_log):
    with ParallelMap(
        square_and_partition,
        [1, 2, 3],
        n_inputs=3,
        n_workers=2,
        partition="debug",
        mem_per_worker="1GB",
        setup_interactive=False,
        write_worker_results=False,
    ) as pmap:
        assert pmap.config.has_slurm is True
        assert pmap.config.partition == "debug"
        assert pmap.config.n_workers == 2
        assert pmap.config.stop_client is True
        jobs = cluster_job_ids(pmap.config.client.cluster, 2)
        assert {job_fields(job)["Partition"] for job in jobs} == {"debug"}
        results = pmap.compute()
    assert results == [(1, "debug"), (4, "debug"), (9, "debug")]
    assert f"Cluster node {socket.getfqdn()} {FALLBACK}" in acme_log.text
    assert "Preparing 3 parallel calls of `square_and_partition` using" in (
        acme_log.text
    )
    assert "Successfully shut down SLURMCluster hosted on" in acme_log.text
    with pytest.raises(ValueError):
        get_client()
    assert wait_gone(jobs) == []


def test_worker_jobs_are_capped(tmp_path, acme_log):
    listed, done = set(), threading.Event()
    started = tmp_path / "started"
    started.mkdir()

    def sample():  # every worker job squeue lists while the map runs
        while not done.wait(0.2):
            listed.add(frozenset(worker_jobs()))

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        with (
            dask.config.set({"acme.slurm.max-jobs": 2}),
            ParallelMap(
                sleep_marked,
                list(range(6)),
                str(started),
                1,
                partition="debug",
                mem_per_worker="1GB",
                setup_interactive=False,
                write_worker_results=False,
            ) as pmap,
        ):
            sampler.start()
            jobs = cluster_job_ids(pmap.config.client.cluster, 2)
            results = pmap.compute()
    finally:
        done.set()
        sampler.join(timeout=10)
    assert results == list(range(6))
    capped = "Starting 2 SLURM worker jobs for 6 calls (capped by acme.slurm.max-jobs)"
    assert capped in acme_log.text
    assert max(map(len, listed)) == 2
    assert {marker.name.split("-")[1] for marker in started.iterdir()} <= set(jobs)
    assert wait_gone(jobs) == []


def test_parallel_map_writes_results_from_slurm_workers(tmp_path):
    out = tmp_path / "out"
    with ParallelMap(
        small,
        [10, 20],
        partition="debug",
        mem_per_worker="1GB",
        setup_interactive=False,
        output_dir=str(out),
    ) as pmap:
        jobs = cluster_job_ids(pmap.config.client.cluster, 2)  # one per call
        paths = pmap.compute()
    assert paths == [str(out / "small_payload" / f"small_{i}.h5") for i in (0, 1)]
    with h5py.File(out / "small.h5", "r") as container:
        values = [container[f"comp_{i}"]["result_0"][()].tolist() for i in (0, 1)]
    assert values == [[11], [21]]
    assert wait_gone(jobs) == []


def test_parallel_map_attaches_to_a_slurm_client(tmp_path, acme_log):
    client = slurm_cluster_setup(
        partition="debug", n_workers=1, mem_per_worker="1GB", interactive=False
    )
    try:
        [job] = cluster_job_ids(client.cluster, 1)
        with ParallelMap(small, [1, 2, 3], write_worker_results=False) as pmap:
            assert pmap.config.client is client
            assert pmap.config.n_workers == 1
            assert pmap.config.stop_client is False
            results = pmap.compute()
        assert results == [2, 3, 4]
        assert f"Attaching to parallel computing client {client}" in acme_log.text
        assert FALLBACK not in acme_log.text
        assert client.status == "running"
        assert get_client() is client
        assert job_fields(job)["JobState"] == "RUNNING"
    finally:
        cluster_cleanup(client)
    assert wait_gone([job]) == []


# -- partition="auto" -----------------------------------------------------------------


def test_auto_partition_picks_debug_for_a_small_function(tmp_path, acme_log):
    with ParallelMap(
        small, [5], setup_interactive=False, write_worker_results=False
    ) as pmap:
        assert pmap.config.partition == "debug"
        [job] = cluster_job_ids(pmap.config.client.cluster, 1)
        assert job_fields(job)["Partition"] == "debug"
        assert pmap.compute() == [6]
    text = acme_log.text
    assert "Estimating memory footprint of small" in text
    assert "Estimated memory consumption across 1 runs is" in text
    assert "Picked partition debug based on estimated memory consumption of 1 GB" in (
        text
    )
    assert wait_gone([job]) == []


def test_auto_partition_picks_8gbs_for_2_5_gb(tmp_path, acme_log):
    with ParallelMap(
        allocate_2_5_gb, [0], setup_interactive=False, write_worker_results=False
    ) as pmap:
        assert pmap.config.partition == "8GBS"
        [job] = cluster_job_ids(pmap.config.client.cluster, 1)
        assert job_fields(job)["Partition"] == "8GBS"
    text = acme_log.text
    assert "Estimating memory footprint of allocate_2_5_gb" in text
    lines = [line for line in text.splitlines() if "Picked partition" in line]
    assert len(lines) == 1
    # 2.5e9 bytes plus the interpreter: 3 GiB, or 4 with a heavy interpreter
    assert lines[0].startswith(
        (
            "Picked partition 8GBS based on estimated memory consumption of 3 GB",
            "Picked partition 8GBS based on estimated memory consumption of 4 GB",
        )
    ), lines
    assert wait_gone([job]) == []


@pytest.mark.parametrize(
    ("memory", "partition", "need_gb", "granted"),
    [
        ("3000MB", "8GBS", 3, "3000"),
        # '2GB' is 2000 MB: it fits debug's MaxMemPerNode=2000 (2 GiB would not),
        # lowered by the 100 MB cushion to what the partition allows
        ("2GB", "debug", 2, "1900"),
    ],
)
def test_explicit_memory_with_auto_partition_is_used_as_given(
    tmp_path, acme_log, memory, partition, need_gb, granted
):
    with ParallelMap(
        small,
        [1],
        mem_per_worker=memory,
        setup_interactive=False,
        write_worker_results=False,
    ) as pmap:
        assert pmap.config.partition == partition
        [job] = cluster_job_ids(pmap.config.client.cluster, 1)
        fields = job_fields(job)
        assert fields["Partition"] == partition
    assert memory_estimate_lines(acme_log.text) == []  # no profiling
    picked = f"Picked partition {partition} based on estimated memory consumption"
    assert f"{picked} of {need_gb} GB" in acme_log.text
    assert pmap.config.mem_per_worker == f"{granted}MB"
    assert fields["MinMemoryNode"] == f"{granted}M"
    assert wait_gone([job]) == []


# -- Ctrl-C ---------------------------------------------------------------------------

CHILD = r"""
import os
import time
from pathlib import Path

from acme import ParallelMap


def slow(x, marker):
    Path(marker).write_text(os.environ["SLURM_JOB_ID"])
    time.sleep(120)
    return x


if __name__ == "__main__":
    with ParallelMap(
        slow,
        [1],
        marker=MARKER,
        partition="debug",
        mem_per_worker="1GB",
        setup_interactive=False,
        write_worker_results=False,
    ) as pmap:
        pmap.compute()
"""


def test_ctrl_c_cancels_the_slurm_jobs(tmp_path):
    marker = tmp_path / "started"
    script = tmp_path / "child.py"
    script.write_text(CHILD.replace("MARKER", repr(str(marker))))
    out, err = tmp_path / "child.out", tmp_path / "child.err"
    credentials = tmp_path / "tls" / "credentials"
    env = {
        **os.environ,
        "DASK_JOBQUEUE__SLURM__SHARED_TEMP_DIRECTORY": str(tmp_path / "tls"),
    }
    with out.open("w") as stdout, err.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            cwd=tmp_path,
            env=env,
        )
    try:

        def started():
            return marker.exists() or child.poll() is not None

        wait_until(started, 120, "the call to start on a SLURM worker", step=0.1)
        assert child.poll() is None, err.read_text()
        job = marker.read_text()
        assert [j["id"] for j in jobs_below(tmp_path)] == [job]
        assert len(list(credentials.iterdir())) == 1  # the TLS credentials
        child.send_signal(signal.SIGINT)
        returncode = child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
    text = err.read_text()
    assert returncode != 0, text
    assert "KeyboardInterrupt" in text
    assert "Successfully shut down SLURMCluster hosted on" in text
    assert list(credentials.iterdir()) == []
    assert wait_gone([job]) == []
