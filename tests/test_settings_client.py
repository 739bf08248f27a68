"""``ParallelMap``'s client options, verbosity, dry run and ``setup_interactive``
accepted forms and normalised values, read from ``pmap.config`` or
``settings()``.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from settings_cases import f, settings

from acme import ParallelMap

# -- n_workers, setup_timeout, stop_client, partition, mem_per_worker ------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("auto", None), (2, 2), (2.0, 2), (np.int64(2), 2), (np.float32(5.0), 5)],
)
def test_n_workers_normalised(value, expected):
    chosen = settings(n_workers=value).n_workers
    assert chosen == expected
    assert chosen is None or type(chosen) is int


def test_n_workers_ignored_when_attaching(client):
    with ParallelMap(f, [1, 2], 0, write_worker_results=False, n_workers=5) as pmap:
        assert pmap.config.n_workers == 2
        assert pmap.config.client is client


@pytest.mark.parametrize("value", [0, 30, 30.0, np.int64(7)])
def test_setup_timeout_accepted(client, value):
    with ParallelMap(
        f, [1, 2], 0, write_worker_results=False, setup_timeout=value
    ) as pmap:
        assert pmap.config.setup_timeout == value


@pytest.mark.parametrize(("value", "expected"), [("auto", False), (False, False)])
def test_stop_client_attached(client, value, expected):
    with ParallelMap(
        f, [1, 2], 0, write_worker_results=False, stop_client=value
    ) as pmap:
        assert pmap.config.stop_client is expected
    assert client.status == "running"


def test_stop_client_true(client):
    pmap = ParallelMap(f, [1, 2], 0, write_worker_results=False, stop_client=True)
    assert pmap.config.stop_client is True
    # the fixture owns this client: detach it so cleanup() leaves it alone
    pmap.config.client = None
    pmap.cleanup()
    assert client.status == "running"


@pytest.mark.parametrize("value", ["auto", "8GBXS", ""])
def test_partition_ignored_locally(client, value):
    with ParallelMap(f, [1, 2], 0, write_worker_results=False, partition=value) as pmap:
        assert pmap.config.partition is None
        assert pmap.config.has_slurm is False


@pytest.mark.parametrize(
    ("value", "megabytes"),
    [("auto", None), ("8GB", 8000), ("12000MB", 12000), ("1.5GB", 1500)],
)
def test_mem_per_worker_normalised(value, megabytes):
    assert settings(mem_per_worker=value).mem_per_worker_mb == megabytes


@pytest.mark.parametrize(("value", "config"), [("auto", None), ("8GB", "8000MB")])
def test_mem_per_worker_accepted_locally(client, value, config):
    with ParallelMap(
        f, [1, 2], 0, write_worker_results=False, mem_per_worker=value
    ) as pmap:
        assert pmap.config.mem_per_worker == config
        assert pmap.compute() == [3, 6]


# -- verbose, dryrun, setup_interactive ------------------------------------------------


@pytest.mark.parametrize(
    ("value", "level"),
    [(None, logging.INFO), (True, logging.DEBUG), (False, logging.WARNING)],
)
def test_verbose_levels(client, value, level):
    with ParallelMap(f, [1, 2], 0, write_worker_results=False, verbose=value) as pmap:
        assert pmap.config.verbose is value
        assert logging.getLogger("ACME").level == level


@pytest.mark.parametrize(
    ("requested", "terminal", "expected"),
    [
        (True, True, True),
        (True, False, False),
        (False, True, False),
        (False, False, False),
    ],
)
def test_setup_interactive_anded_with_tty(
    client, request, no_prompt, requested, terminal, expected
):
    request.getfixturevalue("tty" if terminal else "no_tty")
    with ParallelMap(
        f, [1, 2], 0, write_worker_results=False, setup_interactive=requested
    ) as pmap:
        assert pmap.config.setup_interactive is expected


def test_dryrun_runs_one_call_here(client, no_tty, no_prompt):
    seen: list[int] = []

    def record(x):
        seen.append(x)
        return x

    with ParallelMap(record, [10, 20], write_worker_results=False, dryrun=True) as pmap:
        assert pmap.config.dryrun is True
        assert len(seen) == 1
        assert seen[0] in (10, 20)
