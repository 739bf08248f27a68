"""``ParallelMap`` on the real CI SLURM when calls fail and worker jobs end.

A failing call, a dead worker, a job killed for its memory, cancelled or at its
walltime; workers that retire before their walltime, replacement jobs and their
budget. ``conftest.py`` forces local clusters, so every test here selects SLURM
(the ``on_slurm`` fixture).
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import dask
import numpy as np
import pytest
from slurm_helpers import (
    cluster_job_ids,
    sleep_marked,
    wait_gone,
    wait_until,
)

from acme import ParallelMap, cluster_cleanup, slurm_cluster_setup
from acme._execution import INLINE_BYTES
from acme.cluster._jobs import all_jobs
from acme.errors import ComputationError
from acme.results import load_records

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.usefixtures("no_leftover_jobs", "on_slurm"),
]

# forensics of a job that ends: no replacement job runs its calls again
NO_REPLACEMENTS = {"acme.slurm.replacements-per-worker": 0}


# -- functions the workers run (importable: compute() ships the caller's sys.path) ----


def fail(x):
    raise ValueError(f"acme-test failure {x}")


def shout(x):
    print(f"shouting {x}")  # noqa: T201
    return x


def allocate_1_5_gb(x):
    block = np.ones(int(1.5e9) // 8)
    time.sleep(30)  # SLURM kills the job within seconds
    return float(block[:1].sum())


def sleep_after_marker(x, marker):
    Path(marker).write_text(os.environ["SLURM_JOB_ID"])
    time.sleep(60)
    return x


def sleep_past_the_walltime(x):
    time.sleep(300)
    return x


# -- failures on SLURM workers --------------------------------------------------------


def start_workers(tmp_path, n_workers, **kwargs):
    """A SLURM client with ``n_workers`` 1 GB workers on ``debug``; its job ids."""
    logs = tmp_path / "slurm-logs"
    logs.mkdir()
    client = slurm_cluster_setup(
        partition="debug",
        n_workers=n_workers,
        n_workers_startup=n_workers,
        mem_per_worker="1GB",
        interactive=False,
        job_extra=[f"--output={logs}/slurm-%j.out"],
        **kwargs,
    )
    return client, cluster_job_ids(client.cluster, n_workers), logs


def start_one_worker(tmp_path, **kwargs):
    client, [job], logs = start_workers(tmp_path, 1, **kwargs)
    return client, job, logs / f"slurm-{job}.out"


def test_failing_call_names_its_slurm_job_and_output_file(tmp_path):
    client, job, output = start_one_worker(tmp_path)
    try:
        with ParallelMap(fail, [7], write_worker_results=False) as pmap:
            with pytest.raises(ComputationError) as info:
                pmap.compute()
    finally:
        cluster_cleanup(client)
    message = str(info.value)
    assert "Parallel computation failed: 1/1 tasks failed or stalled" in message
    assert "call 0: ValueError: acme-test failure 7" in message
    assert f"SLURM job {job}" in message
    assert str(output) in message
    assert isinstance(info.value.__cause__, ValueError)
    [record] = pmap.records  # where it ran
    assert (record.status, record.job) == ("failed", job)
    assert record.host == socket.gethostname()  # the one node of this SLURM
    assert wait_gone([job]) == []


def test_records_in_the_output_folder_name_the_slurm_job(tmp_path):
    client, job, output = start_one_worker(tmp_path)
    out = tmp_path / "out"
    try:
        with ParallelMap(shout, [1, 2], output_dir=str(out)) as pmap:
            pmap.compute()
    finally:
        cluster_cleanup(client)
    kept = load_records(out)
    assert [(r.status, r.job, r.attempt) for r in kept] == [("done", job, 1)] * 2
    assert [r.output for r in kept] == ["shouting 1\n", "shouting 2\n"]
    assert [r.job for r in pmap.records] == [job, job]
    assert all(r.memory_limit_mb and r.peak_mb for r in kept)
    assert wait_gone([job]) == []
    # the worker's own streams still got the text: the job's output file
    assert "shouting 1" in output.read_text()


def exit_worker(x):
    import os

    os._exit(3)


def test_dead_slurm_worker_names_its_job(tmp_path):
    """A worker process that dies (KilledWorker) is traced back to its SLURM job."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        client, job, output = start_one_worker(tmp_path)
        try:
            with ParallelMap(exit_worker, [0], write_worker_results=False) as pmap:
                with pytest.raises(ComputationError) as info:
                    pmap.compute()
        finally:
            cluster_cleanup(client)
    message = str(info.value)
    assert "call 0: RuntimeError: the worker running this call died" in message
    assert f"SLURM job {job}" in message
    assert str(output) in message
    assert wait_gone([job]) == []


def failure_of(client, func, *iterables, during=None, **kwargs):
    """The ``ComputationError`` of ``func``'s map on ``client`` (5 s stall time-out,
    no replacement jobs).

    ``during``: a thread started once the map exists; ``client`` is shut down.
    """
    try:
        with (
            dask.config.set({**NO_REPLACEMENTS, "acme.stall-timeout": 5}),
            ParallelMap(func, *iterables, write_worker_results=False, **kwargs) as pmap,
            pytest.raises(ComputationError) as info,
        ):
            if during is not None:
                during.start()
            pmap.compute()
    finally:
        if during is not None and during.ident is not None:
            during.join(timeout=90)
        cluster_cleanup(client)
    return info.value


@pytest.mark.slow
def test_job_killed_for_its_memory(tmp_path):
    # dask's own memory limit is off, so SLURM's OverMemoryKill ends the job
    client, job, output = start_one_worker(
        tmp_path, worker_extra_args=["--memory-limit", "0"]
    )
    error = failure_of(client, allocate_1_5_gb, [0])
    message = str(error)
    assert "Parallel computation failed: 1/1 tasks failed or stalled" in message
    assert f"SLURM job {job}" in message
    assert "killed for exceeding its memory limit" in message
    assert str(output) in message
    assert error.failed == [0]
    assert wait_gone([job]) == []


@pytest.mark.slow
def test_cancelled_job(tmp_path):
    client, job, _ = start_one_worker(tmp_path)
    marker = tmp_path / "started"

    def cancel_once_started():
        try:
            wait_until(marker.exists, 60, "the call to start", step=0.1)
        finally:  # also when it never starts: compute() must not hang
            subprocess.run(["scancel", job], timeout=30, check=False)

    canceller = threading.Thread(target=cancel_once_started, daemon=True)
    error = failure_of(
        client, sleep_after_marker, [0], marker=str(marker), during=canceller
    )
    assert marker.read_text() == job
    message = str(error)
    assert "Parallel computation failed: 1/1 tasks failed or stalled" in message
    assert f"SLURM job {job}" in message
    assert "cancelled" in message
    assert wait_gone([job]) == []


@pytest.mark.slow
def test_job_that_hits_its_walltime(tmp_path):
    # SLURM checks time limits every 30 s: the 1-minute job ends 60-90 s after it began
    # a --lifetime of the user's replaces acme's, which would retire it before
    client, job, output = start_one_worker(
        tmp_path, walltime="00:01:00", worker_extra_args=["--lifetime=10m"]
    )
    message = str(failure_of(client, sleep_past_the_walltime, [0]))
    assert "Parallel computation failed: 1/1 tasks failed or stalled" in message
    assert f"SLURM job {job}: TIMEOUT: reached its time limit (walltime)" in message
    assert str(output) in message
    assert wait_gone([job]) == []


@pytest.mark.slow
def test_workers_retire_before_their_walltime_and_are_replaced(tmp_path, acme_log):
    # a 1-minute walltime: each worker retires 20-40 s after it started
    client, [job], _ = start_workers(tmp_path, 1, walltime="00:01:00")
    started = tmp_path / "started"
    started.mkdir()
    try:
        with (
            dask.config.set({"acme.slurm.replacements-per-worker": 5}),
            # 50 s of calls: more than the first worker lives
            ParallelMap(
                sleep_marked,
                list(range(10)),
                str(started),
                5,
                write_worker_results=False,
            ) as pmap,
        ):
            results = pmap.compute()
        jobs = all_jobs(client.cluster)
    finally:
        cluster_cleanup(client)
    assert results == list(range(10))
    assert f"Worker job ended: SLURM job {job}: COMPLETED: its worker exited" in (
        acme_log.text
    )
    assert f"Submitted a job in place of SLURM job {job}" in acme_log.text
    assert "TIMEOUT" not in acme_log.text  # none ran into its walltime
    ran_on = {marker.name.split("-")[1] for marker in started.iterdir()}
    assert job in ran_on
    assert len(ran_on) >= 2, "the calls did not move to a replacement"
    assert wait_gone(jobs) == []


def cancel_when_a_call_runs(started, jobs, cancelled):
    """A thread: once a call started, scancel ``jobs`` (None: the job running it)."""

    def cancel():
        try:
            wait_until(lambda: any(started.iterdir()), 60, "a call to start", 0.1)
            name = next(started.iterdir()).name
        finally:  # also when no call starts: compute() must not hang
            victims = jobs or [name.split("-")[1]]
            cancelled.update(jobs=victims, at=time.time())
            subprocess.run(["scancel", *victims], timeout=30, check=False)

    return threading.Thread(target=cancel, daemon=True)


@pytest.mark.slow
def test_ended_job_is_reported_and_the_other_worker_finishes(tmp_path, acme_log):
    client, jobs, _ = start_workers(tmp_path, 2)
    started, cancelled = tmp_path / "started", {}
    started.mkdir()
    canceller = cancel_when_a_call_runs(started, None, cancelled)
    try:
        with ParallelMap(
            sleep_marked, list(range(4)), str(started), 3, write_worker_results=False
        ) as pmap:
            canceller.start()
            results = pmap.compute()
    finally:
        canceller.join(timeout=90)
        cluster_cleanup(client)
    assert results == [0, 1, 2, 3]
    [victim] = cancelled["jobs"]
    [ended] = [r for r in acme_log.records if "Worker job ended" in r.getMessage()]
    assert f"SLURM job {victim}: CANCELLED: cancelled" in ended.getMessage()
    assert ended.created - cancelled["at"] < 20  # polled every 5 s
    assert wait_gone(jobs) == []


@pytest.mark.slow
def test_calls_of_an_ended_job_finish_on_its_replacement(tmp_path, acme_log):
    client, [job], _ = start_workers(tmp_path, 1)
    started, cancelled = tmp_path / "started", {}
    started.mkdir()
    canceller = cancel_when_a_call_runs(started, [job], cancelled)
    try:
        # the shared values (scattered: above INLINE_BYTES) die with the only
        # worker holding them: sent again
        with ParallelMap(
            sleep_marked,
            [0, 1],
            str(started),
            3,
            ballast=b"x" * (2 * INLINE_BYTES),
            write_worker_results=False,
        ) as pmap:
            canceller.start()
            results = pmap.compute()
        replacements = set(all_jobs(client.cluster)) - {job}
    finally:
        canceller.join(timeout=90)
        cluster_cleanup(client)
    assert results == [0, 1]
    assert f"Worker job ended: SLURM job {job}: CANCELLED" in acme_log.text
    assert f"Submitted a job in place of SLURM job {job}" in acme_log.text
    assert "The shared arguments were lost" in acme_log.text
    assert len(replacements) == 1
    ran_on = {marker.name.split("-")[1] for marker in started.iterdir()}
    assert ran_on == {job, *replacements}  # the calls ran (again) on the new job
    assert wait_gone([job, *replacements]) == []


@pytest.mark.slow
def test_no_replacement_for_a_job_killed_for_its_memory(tmp_path, acme_log):
    client, job, _ = start_one_worker(
        tmp_path, worker_extra_args=["--memory-limit", "0"]
    )
    try:
        with (
            ParallelMap(allocate_1_5_gb, [0], write_worker_results=False) as pmap,
            pytest.raises(ComputationError) as info,
        ):
            pmap.compute()
        jobs = all_jobs(client.cluster)
    finally:
        cluster_cleanup(client)
    assert jobs == [job]
    assert f"Not replacing SLURM job {job}: it was killed for exceeding its memory" in (
        acme_log.text
    )
    assert "mem_per_worker" in acme_log.text
    assert f"stalled: every SLURM worker job ended (SLURM job {job})" in str(info.value)
    assert wait_gone([job]) == []


def cancel_each_job_that_runs_a_call(started, count, cancelled):
    """A thread: scancel the job of each call that starts, ``count`` jobs in all."""

    def cancel():
        for _ in range(count):
            try:
                wait_until(
                    lambda: (
                        {m.name.split("-")[1] for m in started.iterdir()}
                        - set(cancelled)
                    ),
                    120,
                    "a call to start on a new job",
                    0.1,
                )
            except AssertionError:
                return
            for marker in started.iterdir():
                job = marker.name.split("-")[1]
                if job not in cancelled:
                    cancelled[job] = time.time()
                    subprocess.run(["scancel", job], timeout=30, check=False)

    return threading.Thread(target=cancel, daemon=True)


@pytest.mark.slow
def test_replacements_stop_at_the_budget(tmp_path, acme_log):
    client, [job], _ = start_workers(tmp_path, 1)
    started, cancelled = tmp_path / "started", {}
    started.mkdir()
    canceller = cancel_each_job_that_runs_a_call(started, 2, cancelled)
    try:
        with (
            dask.config.set({"acme.slurm.replacements-per-worker": 1}),
            ParallelMap(
                sleep_marked, [0], [str(started)], [60], write_worker_results=False
            ) as pmap,
            pytest.raises(ComputationError) as info,
        ):
            canceller.start()
            pmap.compute()
        waited = time.time() - max(cancelled.values())
    finally:
        canceller.join(timeout=150)
        cluster_cleanup(client)
    [first, second] = sorted(cancelled, key=cancelled.get)
    assert first == job
    assert f"Submitted a job in place of SLURM job {first}" in acme_log.text
    assert f"Not replacing SLURM job {second}: the replacements allowed" in (
        acme_log.text
    )
    assert waited < 30, f"compute() ended {waited:.0f} s after the last job"
    message = str(info.value)
    assert f"stalled: every SLURM worker job ended (SLURM job {second})" in message
    for ended in (first, second):
        assert f"SLURM job {ended}: CANCELLED: cancelled" in message
    assert wait_gone([first, second]) == []


@pytest.mark.slow
def test_run_whose_jobs_all_ended_stops_at_once(tmp_path):
    client, jobs, logs = start_workers(tmp_path, 2)
    started, cancelled = tmp_path / "started", {}
    started.mkdir()
    canceller = cancel_when_a_call_runs(started, jobs, cancelled)
    try:
        with (
            dask.config.set({**NO_REPLACEMENTS, "acme.stall-timeout": 600}),
            # per-call values only: no scattered data whose loss would end the run
            ParallelMap(
                sleep_marked,
                list(range(4)),
                [str(started)] * 4,
                [60] * 4,
                write_worker_results=False,
            ) as pmap,
            pytest.raises(ComputationError) as info,
        ):
            canceller.start()
            pmap.compute()
        waited = time.time() - cancelled["at"]
    finally:
        canceller.join(timeout=90)
        cluster_cleanup(client)
    assert waited < 20, f"compute() ended {waited:.0f} s after the jobs"  # not 600 s
    message = str(info.value)
    assert "Parallel computation failed: 4/4 tasks failed or stalled" in message
    assert "call 0: RuntimeError: stalled: every SLURM worker job ended" in message
    ran = {int(x): job for x, job in (m.name.split("-") for m in started.iterdir())}
    assert ran, "no call started"
    for call, job in ran.items():  # each call that ran names its job
        stalled = f"call {call}: RuntimeError: stalled: every SLURM worker job ended"
        assert f"{stalled} (SLURM job {job})" in message
    for job in jobs:
        assert f"SLURM job {job}: CANCELLED: cancelled" in message
        assert str(logs / f"slurm-{job}.out") in message
    assert wait_gone(jobs) == []
