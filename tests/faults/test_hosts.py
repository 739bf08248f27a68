"""acme inside other programs: a user's pytest suite, swapped stderr, several maps.

The pytest case runs a real pytest in a child process on a user-style test file.
"""

from __future__ import annotations

import contextlib
import io
import logging
import subprocess
import sys
import textwrap

import pytest

from acme import ParallelMap, _logging

USER_TESTS = """
import contextlib, io
from distributed import Client
from acme import ParallelMap


def double(x):
    return 2 * x


def run_a_map():
    with Client(processes=False, n_workers=1, dashboard_address=None):
        with ParallelMap(double, [1, 2], write_worker_results=False) as pmap:
            assert pmap.compute() == [2, 4]


def test_map_with_capsys(capsys):
    run_a_map()
    assert "Preparing 2 parallel calls of `double`" in capsys.readouterr().err


def test_map_after_capsys():
    run_a_map()


def test_map_with_capfd(capfd):
    run_a_map()
    assert "Preparing 2 parallel calls of `double`" in capfd.readouterr().err


def test_map_after_capfd():
    run_a_map()


def test_map_inside_redirect_stderr():
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        run_a_map()
    assert "Preparing 2 parallel calls of `double`" in buffer.getvalue()


def test_map_after_redirect_stderr():
    run_a_map()
"""


def test_a_users_pytest_suite_with_captured_stderr(tmp_path):
    path = tmp_path / "test_user_suite.py"
    path.write_text(textwrap.dedent(USER_TESTS))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout


def double(x):
    return 2 * x


def halve(x):
    return x / 2


def test_records_reach_only_their_own_runs_log(client, tmp_path):
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = ParallelMap(
        double, [1, 2], write_worker_results=False, logfile=str(first_log)
    )
    second = ParallelMap(
        halve, [1, 2], write_worker_results=False, logfile=str(second_log)
    )
    with first:
        assert first.compute() == [2, 4]
    with second:
        assert second.compute() == [0.5, 1.0]
    first_text, second_text = first_log.read_text(), second_log.read_text()
    assert "Preparing 2 parallel calls of `double`" in first_text
    assert "`double`" not in second_text
    assert "Preparing 2 parallel calls of `halve`" in second_text
    assert "`halve`" not in first_text
    # after cleanup() no log file stays open
    assert _logging.log_file() is None
    targets = [getattr(h, "target", None) for h in logging.getLogger("ACME").handlers]
    assert all(target is None for target in targets)


def test_console_follows_the_current_stderr(client):
    swapped = io.StringIO()
    with ParallelMap(double, [1], write_worker_results=False) as pmap:
        with contextlib.redirect_stderr(swapped):
            pmap.compute()
    assert "Preparing 1 parallel calls of `double`" in swapped.getvalue()
    swapped.close()  # as pytest closes its capture
    console = io.StringIO()
    with contextlib.redirect_stderr(console):
        with ParallelMap(double, [1], write_worker_results=False) as pmap:
            assert pmap.compute() == [2]
    assert "This is ACME v." in console.getvalue()


def test_map_whose_client_another_map_shut_down(tmp_path):
    from acme.errors import NoWorkersError

    owner = ParallelMap(double, [1, 2], write_worker_results=False, n_workers=1)
    guest = ParallelMap(halve, [1, 2], write_worker_results=False)
    assert guest.config.client is owner.config.client
    owner.cleanup()  # shuts down the cluster the owner started
    with pytest.raises(NoWorkersError, match="was shut down"):
        guest.compute()
    guest.cleanup()
