"""The SLURM start-up wait at its time-out, on the real local SLURM.

Jobs that must stay pending are submitted with ``--begin=now+1hour``; sizes that
depend on the node are read from ``scontrol``.
"""

from __future__ import annotations

import dask.config
import pytest
from distributed import get_client
from prompts import answer
from slurm_helpers import (
    jobs_below,
    memory_mb,
    partition_node,
    scontrol,
    wait_until,
)

from acme import cluster_cleanup, slurm_cluster_setup

pytestmark = [pytest.mark.slurm, pytest.mark.usefixtures("no_leftover_jobs")]

PENDING = ["--begin=now+1hour"]
KEEP = "Do you want to [k]eep waiting for 1s, [a]bort or [c]ontinue with 0 workers?"
ZERO = "Cannot continue with 0 workers. Do you want to [k]eep waiting for 1s or [a]bort"


@pytest.fixture
def terminal(monkeypatch, tty):
    """A TTY answering with the given answers (``prompts.answer``); 1 s more waiting."""
    with dask.config.set({"acme.slurm.keep-waiting": 1}):
        yield lambda *answers: answer(monkeypatch, *answers)


def pending_setup(**kwargs):
    options = dict(
        partition="debug", n_workers=1, mem_per_worker="500MB", timeout=0,
        job_extra=PENDING, interactive_wait=30,
    )  # fmt: skip
    return slurm_cluster_setup(**{**options, **kwargs})


def no_jobs_left(folder):
    wait_until(lambda: not jobs_below(folder), 30, "our jobs to be cancelled")


def test_abort_returns_none_and_cancels_the_jobs(terminal, tmp_path):
    replies = terminal("a")
    assert pending_setup(interactive=True) is None
    assert [KEEP in p for p in replies.prompts] == [True]
    with pytest.raises(ValueError):
        get_client()
    no_jobs_left(tmp_path)


def test_continue_with_zero_workers_asks_again(terminal, tmp_path):
    replies = terminal("c", "a")
    assert pending_setup(interactive=True) is None
    assert KEEP in replies.prompts[0] and ZERO in replies.prompts[1]
    no_jobs_left(tmp_path)


def test_keep_waiting_waits_and_asks_again(terminal, tmp_path):
    replies = terminal("k", "Y", "a")  # "Y" is invalid and asks again
    assert pending_setup(interactive=True) is None
    assert [KEEP in p for p in replies.prompts] == [True, True, True]
    no_jobs_left(tmp_path)


def test_unanswered_prompts_take_their_defaults(tty, blocked_input, tmp_path):
    """No answer: [c]ontinue after interactive_wait, then [a]bort after keep-waiting."""
    with dask.config.set({"acme.slurm.keep-waiting": 1}):
        assert pending_setup(interactive=True, interactive_wait=1) is None
    assert KEEP in blocked_input.prompts[0] and ZERO in blocked_input.prompts[1]
    no_jobs_left(tmp_path)


def test_no_prompt_without_a_terminal(no_tty, no_prompt, tmp_path):
    from acme.errors import WorkerStartTimeoutError

    with pytest.raises(WorkerStartTimeoutError):
        pending_setup(interactive=True)
    no_jobs_left(tmp_path)


@pytest.fixture
def two_of_three():
    """A partition and a memory per job such that two jobs fit the node, three don't."""
    node = partition_node("16GBL")
    real = memory_mb(node["RealMemory"])
    limit = scontrol("partition", "16GBL")["MaxMemPerNode"]
    cap = (real if limit == "UNLIMITED" else memory_mb(limit)) - 100  # the cushion
    per_job = int((real / 3 + real / 2) / 2)  # between a third and a half of the node
    if per_job > cap or int(node["CPUTot"]) < 2:
        pytest.skip(f"node {node['NodeName']} does not fit two jobs of 16GBL's cap")
    return "16GBL", per_job


@pytest.mark.slow
def test_time_out_with_some_workers_continues(tmp_path, acme_log, two_of_three):
    """Two of three jobs fit the node's memory; the set-up goes on with them."""
    partition, per_job = two_of_three
    client = slurm_cluster_setup(
        partition=partition,
        n_workers=3,
        n_workers_startup=3,
        mem_per_worker=f"{per_job}MB",
        timeout=15,
        interactive=False,
    )
    try:
        assert len(client.scheduler_info(n_workers=-1)["workers"]) == 2
        assert "Only 2 of 3 SLURM workers started within 15 seconds" in acme_log.text
    finally:
        cluster_cleanup(client)
    no_jobs_left(tmp_path)
