"""What reaches a SLURM job script, and SLURM jobs that must not outlive a failure.

dask-jobqueue writes acme's values into the job script verbatim, so a newline in
one would add a shell line: such values are refused before anything is
submitted. Once the worker jobs exist, a failure of the set-up (simulated by a
``Client`` that raises: a real system cannot fail there on demand) cancels them.
Worker jobs are named ``acme-worker`` (the documented name), so stray ones can be
found with ``squeue --me --name=acme-worker``.
"""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import distributed
import pytest
from dask_jobqueue import SLURMCluster
from slurm_helpers import (
    ACME_JOB_NAME,
    cluster_job_ids,
    header,
    jobs_below,
    wait_gone,
    wait_until,
)

from acme import (
    bic_cluster_setup,
    cluster_cleanup,
    esi_cluster_setup,
    slurm_cluster_setup,
)
from acme.cluster import _slurm_info, slurm
from acme.cluster._options import JobExtra, SlurmOptions, check_text, slurm_options
from acme.cluster.slurm import _cluster_kwargs
from acme.errors import AcmeTypeError, AcmeValueError

slurm_jobs = pytest.mark.usefixtures("no_leftover_jobs")
INJECTED = "\necho INJECTED; touch {folder}/pwned"
# (keyword, value, the value the message shows) -- the keyword is named in it
BAD = [
    ("job_extra", ["--comment=x" + INJECTED], "--comment=x" + INJECTED),
    ("job_extra", ["--begin=now", "--comment=x\r"], "--comment=x\r"),
    ("worker_extra_args", ["--nthreads", "1" + INJECTED], "1" + INJECTED),
    ("partition", "debug" + INJECTED, "debug" + INJECTED),
    ("job_name", "acme" + INJECTED, "acme" + INJECTED),
    ("account", "project\x00", "project\x00"),
    ("walltime", "01:00:00\t", "01:00:00\t"),
    ("job_script_prologue", ["module load x", "cd\u2028rm"], "cd\u2028rm"),
]

IDS = [case[0] for case in BAD]


def fill(value, folder):
    """A value of ``BAD`` with the test's folder in its injected line."""
    if isinstance(value, list):
        return [item.format(folder=folder) for item in value]
    return value.format(folder=folder)


def keywords(**kw):
    """slurm_cluster_setup's keywords as given, with its defaults."""
    defaults = dict(
        partition="debug", n_cores=1, n_workers=1, processes_per_worker=1,
        mem_per_worker="1GB", n_workers_startup=1, timeout=60, interactive=True,
        interactive_wait=10, start_client=True, job_extra=None,
        worker_extra_args=None, scheduler_options=None, mem_cushion=100, kwargs={},
    )  # fmt: skip
    known = {key: value for key, value in kw.items() if key in defaults}
    extra = {key: value for key, value in kw.items() if key not in defaults}
    return {**defaults, **known, "kwargs": extra}


def assert_refused(error: BaseException, keyword: str, shown: str) -> None:
    message = str(error)
    assert isinstance(error, AcmeValueError), message
    assert f"`{keyword}`" in message
    assert repr(shown) in message
    assert "control characters" in message
    assert "not allowed" in message


def script_of(options: SlurmOptions, partition: str = "debug") -> str:
    """The job script of acme's SLURMCluster keywords (nothing is submitted)."""
    kwargs = _cluster_kwargs(options, partition, 1000)
    kwargs["scheduler_options"] = {"dashboard_address": ":0"}
    with SLURMCluster(**kwargs) as cluster:
        return str(cluster.job_script())


def options_of(**fields) -> SlurmOptions:
    """SlurmOptions as a site profile or ParallelMap build them (not validated)."""
    return SlurmOptions("debug", ("debug",), "debug", n_workers=1, **fields)


# -- control characters: refused while the keywords are checked (offline) ----------


@pytest.mark.parametrize(("keyword", "value", "shown"), BAD, ids=IDS)
def test_control_characters_are_refused_with_the_keyword(
    tmp_path, keyword, value, shown
):
    value, shown = fill(value, tmp_path), fill(shown, tmp_path)
    valid = ["debug", value] if keyword == "partition" else ["debug"]
    with pytest.raises(AcmeValueError) as info:
        slurm_options(valid, "debug", keywords(**{keyword: value}))
    assert_refused(info.value, keyword, shown)


def test_check_text_refuses_a_control_character_in_a_string_or_list():
    check_text(["--comment=x", "--begin=now"], "job_extra")
    with pytest.raises(AcmeValueError, match="`partition` has to be free of control"):
        check_text("debug\necho hi", "partition")


@pytest.mark.parametrize(
    ("fields", "partition", "keyword"),
    [
        ({"job_extra": JobExtra(("--comment=x\nid",))}, "debug", "job_extra"),
        ({"worker_extra_args": ("--nthreads", "1\nid")}, "debug", "worker_extra_args"),
        ({"extra": {"job_name": "x\nid"}}, "debug", "job_name"),
        ({}, "debug\nid", "partition"),
    ],
)
def test_values_set_after_the_checks_are_refused_too(fields, partition, keyword):
    """What a site profile adds or ParallelMap builds reaches the same last check."""
    with pytest.raises(AcmeValueError) as info:
        _cluster_kwargs(options_of(**fields), partition, 1000)
    assert f"`{keyword}`" in str(info.value)
    assert "control characters" in str(info.value)


def test_job_script_has_the_given_lines_and_acme_job_name(tmp_path):
    script = script_of(options_of(job_extra=JobExtra(("--comment=acme test",))))
    assert "#SBATCH --comment=acme test" in header(script)
    assert f"#SBATCH -J {ACME_JOB_NAME}" in header(script)
    assert "INJECTED" not in script
    # a name of one's own replaces acme's
    own = script_of(options_of(extra={"job_name": "my-analysis"}))
    assert "#SBATCH -J my-analysis" in header(own)
    assert f"-J {ACME_JOB_NAME}" not in own


# -- esi/bic: job_extra is checked before anything else happens (offline) -----------


@pytest.mark.parametrize("setup", [esi_cluster_setup, bic_cluster_setup])
@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ("", AcmeValueError),
        (3, AcmeTypeError),
        (None, AcmeTypeError),
        ("--comment=x\nid", AcmeValueError),
    ],
)
def test_site_setup_checks_job_extra_first(monkeypatch, setup, entry, error):
    # partition="auto" without an estimate would fail later; sinfo is never asked
    monkeypatch.setattr(_slurm_info, "is_slurm_node", lambda: True)
    with pytest.raises(error) as info:
        setup(partition="auto", job_extra=["--comment=ok", entry], interactive=False)
    assert "`job_extra`" in str(info.value)


def test_a_cluster_that_cannot_be_closed_is_reported(acme_log):
    """The clean-up after a failure never hides that failure; it names the jobs."""

    def close():
        raise OSError("scheduler gone")

    job = SimpleNamespace(job_id="4242")
    stuck = SimpleNamespace(workers={"w-0": job}, job_name=ACME_JOB_NAME, close=close)
    slurm._close(stuck)
    assert "scheduler gone" in acme_log.text
    assert "cancel them with `scancel 4242`" in acme_log.text


# -- on the real SLURM ---------------------------------------------------------------


def refused(**kw) -> BaseException:
    """The error of a set-up that must be refused; fails (closing it) if it starts."""
    try:
        cluster = slurm_cluster_setup(
            start_client=False, interactive=False, n_workers_startup=0, **kw
        )
    except Exception as exc:
        return exc
    script = cluster.job_script()
    cluster.close()
    pytest.fail(f"the set-up was accepted; its job script:\n{script}")


@pytest.mark.slurm
@slurm_jobs
@pytest.mark.parametrize(("keyword", "value", "shown"), BAD, ids=IDS)
def test_injected_values_are_refused_and_nothing_is_submitted(
    tmp_path, keyword, value, shown
):
    value = fill(value, tmp_path)
    kw = {"partition": "debug", "mem_per_worker": "1GB", keyword: value}
    if keyword == "partition":
        kw["avail_partitions"] = ["debug", value]
    # should a job be submitted anyway, it stays pending and runs nothing
    kw["job_extra"] = [*kw.get("job_extra", []), "--begin=now+1hour"]
    error = refused(**kw)
    assert_refused(error, keyword, fill(shown, tmp_path))
    assert jobs_below(tmp_path, names=()) == []
    assert not (tmp_path / "pwned").exists()


def failing_client(kind: type[BaseException], seen: list[str]):
    def make(cluster, *args, **kwargs):
        seen.extend(cluster_job_ids(cluster, 1))
        raise kind("the client could not be started")

    return make


@pytest.mark.slurm
@slurm_jobs
@pytest.mark.parametrize("kind", [RuntimeError, KeyboardInterrupt])
def test_failure_after_the_workers_started_cancels_their_jobs(
    tmp_path, monkeypatch, kind
):
    seen: list[str] = []
    monkeypatch.setattr(distributed, "Client", failing_client(kind, seen))
    with pytest.raises(kind, match="the client could not be started"):
        slurm_cluster_setup(
            partition="debug", mem_per_worker="1GB", interactive=False, timeout=120
        )
    assert len(seen) == 1  # the worker job existed when the client failed
    assert wait_gone(seen, timeout=30) == []
    wait_until(lambda: not jobs_below(tmp_path, names=()), 30, "no job of the test")


def squeue_by_name(name: str) -> list[str]:
    """The documented look-up: ``squeue --me --name=<name>``, job ids."""
    done = subprocess.run(
        ["squeue", "--me", f"--name={name}", "-h", "-o", "%i"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.split()


@pytest.mark.slurm
@slurm_jobs
def test_worker_jobs_carry_acme_job_name():
    client = slurm_cluster_setup(
        partition="debug", mem_per_worker="1GB", interactive=False, timeout=120
    )
    try:
        [job] = cluster_job_ids(client.cluster, 1)
        assert job in squeue_by_name(ACME_JOB_NAME)
    finally:
        cluster_cleanup(client)
    assert wait_gone([job], timeout=30) == []
