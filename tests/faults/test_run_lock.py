"""The run lock ``<dir>/.acme_<f>.lock``: one holder at a time, across processes."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading

import pytest

from acme.errors import OutputError, OutputExistsError
from acme.results._locks import RunLock, run_is_live


@pytest.fixture
def lock_path(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder / ".acme_double.lock"


def recorded(path) -> dict:
    return json.loads(path.read_text())


def test_two_processes_race_exactly_one_wins(agents, lock_path):
    first, second = agents(2)
    for _ in range(10):
        first.send("lock", path=str(lock_path))
        second.send("lock", path=str(lock_path))
        replies = {first: first.reply(), second: second.reply()}
        won = [agent for agent, reply in replies.items() if reply["ok"]]
        assert len(won) == 1, replies
        (winner,) = won
        (loser,) = {first, second} - {winner}
        assert replies[loser]["type"] == "OutputExistsError"
        assert f"pid {winner.pid} " in replies[loser]["error"]
        assert str(lock_path.parent) in replies[loser]["error"]
        assert recorded(lock_path)["pid"] == winner.pid
        assert winner.call("unlock", path=str(lock_path)) == {"ok": True}
        assert not lock_path.exists()
    assert list(lock_path.parent.iterdir()) == []  # no temporary file left behind


def test_lock_records_host_pid_and_start(lock_path):
    with RunLock(lock_path) as lock:
        info = recorded(lock_path)
        assert info["pid"] == os.getpid()
        assert info["host"] == socket.gethostname()
        assert info["start"][:4].isdigit()
        assert lock.holder() == (
            f"pid {os.getpid()} on host {info['host']} (started {info['start']})"
        )
        assert os.listdir(lock_path.parent) == [lock_path.name]  # no temp file left
    assert lock.holder() == "nobody"


def test_live_holder_in_another_process_refuses(agents, lock_path):
    (agent,) = agents(1)
    assert agent.call("lock", path=str(lock_path))["ok"]
    with pytest.raises(OutputExistsError) as caught:
        RunLock(lock_path).acquire()
    message = str(caught.value)
    assert f"pid {agent.pid} on host {socket.gethostname()}" in message
    assert str(lock_path.parent) in message
    assert caught.value.path == str(lock_path.parent)
    assert recorded(lock_path)["pid"] == agent.pid  # the holder's file is untouched
    assert RunLock(lock_path).holder().startswith(f"pid {agent.pid} ")
    assert run_is_live(lock_path.parent)


def test_lock_of_killed_process_is_taken_over(agents, lock_path, acme_log):
    (agent,) = agents(1)
    assert agent.call("lock", path=str(lock_path))["ok"]
    agent.kill()
    assert recorded(lock_path)["pid"] == agent.pid  # left behind
    assert not run_is_live(lock_path.parent)
    lock = RunLock(lock_path)
    lock.acquire()
    try:
        assert recorded(lock_path)["pid"] == os.getpid()
        warnings = [r for r in acme_log.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "stale lock" in warnings[0].getMessage()
        assert f"pid {agent.pid} " in warnings[0].getMessage()
        assert run_is_live(lock_path.parent)
    finally:
        lock.release()
    assert not lock_path.exists()


def test_unreadable_stale_lock_is_taken_over(lock_path, acme_log):
    lock_path.write_text("not json")
    with RunLock(lock_path):
        assert recorded(lock_path)["pid"] == os.getpid()
    assert "an unknown process" in acme_log.text


def test_second_acquire_in_this_process_fails(agents, lock_path):
    held = RunLock(lock_path)
    held.acquire()
    try:
        with pytest.raises(OutputExistsError, match=f"pid {os.getpid()} "):
            RunLock(lock_path).acquire()
        with pytest.raises(OutputExistsError, match="this process"):
            held.acquire()
        errors: list[BaseException] = []

        def other_thread() -> None:
            try:
                RunLock(lock_path.parent / ".." / "out" / lock_path.name).acquire()
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert len(errors) == 1 and isinstance(errors[0], OutputExistsError)
        RunLock(lock_path).release()  # not the holder: must not let go
        assert lock_path.exists()
        (agent,) = agents(1)
        reply = agent.call("lock", path=str(lock_path))
        assert not reply["ok"] and f"pid {os.getpid()} " in reply["error"]
    finally:
        held.release()


def test_release_removes_the_file_and_is_idempotent(agents, lock_path):
    lock = RunLock(lock_path)
    lock.release()  # never held
    lock.acquire()
    lock.release()
    assert not lock_path.exists()
    lock.release()
    assert not run_is_live(lock_path.parent)
    (agent,) = agents(1)
    assert agent.call("lock", path=str(lock_path)) == {"ok": True}
    with pytest.raises(OutputExistsError):
        lock.acquire()
    assert agent.call("unlock", path=str(lock_path)) == {"ok": True}
    with lock:  # the same object can be taken again
        assert recorded(lock_path)["pid"] == os.getpid()
    assert not lock_path.exists()


def test_failed_acquire_leaves_nothing_held(tmp_path):
    lock_path = tmp_path / "missing" / ".acme_double.lock"
    with pytest.raises(OSError) as caught:
        RunLock(lock_path).acquire()
    assert not isinstance(caught.value, OutputError)
    lock_path.parent.mkdir()
    with RunLock(lock_path):
        assert lock_path.exists()


def test_run_is_live_without_locks(tmp_path):
    (tmp_path / ".acme_f.json").write_text("{}")
    assert not run_is_live(tmp_path)
