"""Writers of the single result file: ``exclusive`` and ``open_h5``."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
from pathlib import Path

import dask.config
import h5py
import pytest

from acme.errors import OutputError
from acme.results._locks import exclusive, open_h5

HOLD = 0.3  # seconds each writer keeps the lock, so that overlaps would show


@pytest.fixture
def container(tmp_path) -> Path:
    path = tmp_path / "double.h5"
    with h5py.File(path, "w") as h5:
        h5["data"] = [1, 2, 3]
    return path


def sidecar_is_free(path: Path) -> bool:
    """Probe the writer lock with a fresh open file description."""
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def assert_serial(log: Path, n: int) -> None:
    """``log`` holds n enter/exit pairs of n different writers, never overlapping."""
    lines = log.read_text().splitlines()
    assert len(lines) == 2 * n and len(set(lines)) == 2 * n, lines
    for enter, leave in zip(lines[0::2], lines[1::2], strict=True):
        assert enter.startswith("enter ") and leave == f"exit {enter[6:]}", lines


def test_exclusive_excludes_across_processes(agents, container, tmp_path):
    log = tmp_path / "log.txt"
    writers = agents(4)
    for agent in writers:
        agent.send("exclusive", path=str(container), log=str(log), hold=HOLD)
    assert [agent.reply() for agent in writers] == [{"ok": True}] * 4
    assert_serial(log, 4)
    assert {int(line.split()[1]) for line in log.read_text().splitlines()} == {
        agent.pid for agent in writers
    }
    assert sidecar_is_free(container)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".double.h5.lock",
        "double.h5",
        "log.txt",
    ]


def test_exclusive_excludes_threads_of_one_process(container, tmp_path):
    log = tmp_path / "log.txt"
    barrier = threading.Barrier(4)

    def write(name: str) -> None:
        barrier.wait()
        with exclusive(container):
            with log.open("a") as stream:
                stream.write(f"enter {name}\n")
            threading.Event().wait(HOLD)  # hold the lock; not a synchronisation
            with log.open("a") as stream:
                stream.write(f"exit {name}\n")

    threads = [threading.Thread(target=write, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert_serial(log, 4)


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_exclusive_released_after_an_error(agents, container, tmp_path, error):
    with pytest.raises(error):
        with exclusive(container):
            assert not sidecar_is_free(container)
            raise error("boom")
    assert sidecar_is_free(container)
    (agent,) = agents(1)
    log = tmp_path / "log.txt"
    assert agent.call("exclusive", path=str(container), log=str(log), hold=0) == {
        "ok": True
    }
    assert log.read_text() == f"enter {agent.pid}\nexit {agent.pid}\n"


def test_exclusive_waits_for_a_holder_in_another_process(agents, container):
    (agent,) = agents(1)
    assert agent.call("xlock", path=str(container)) == {"ok": True}
    assert not sidecar_is_free(container)
    entered: list[str] = []

    def write() -> None:
        with exclusive(container):
            entered.append("in")

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(HOLD)  # a broken lock lets it through at once
    assert writer.is_alive() and entered == []
    assert agent.call("xunlock") == {"ok": True}
    writer.join(30)
    assert entered == ["in"]
    assert sidecar_is_free(container)


def test_exclusive_without_file_locking_says_so(container, monkeypatch):
    # a file system without locks (NFS without lockd) is not at hand: fake flock
    def refuse(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr("acme.results._locks.fcntl.flock", refuse)
    open_fds = len(os.listdir("/proc/self/fd"))
    body = []
    with pytest.raises(OutputError, match="single_file=False") as caught:
        with exclusive(container):
            body.append("ran")
    assert body == [] and caught.value.path == str(container)
    assert str(container) in str(caught.value)
    assert len(os.listdir("/proc/self/fd")) == open_fds  # the sidecar's fd is closed


def test_exclusive_passes_errors_of_the_block_on(container):
    with pytest.raises(OSError) as caught:
        with exclusive(container):
            raise FileNotFoundError(errno.ENOENT, "inside the block")
    assert not isinstance(caught.value, OutputError)


class _Waiting(logging.Handler):
    """Sets ``event`` once open_h5 reports that it waits."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "waiting" in record.getMessage():
            self.event.set()


def test_open_h5_waits_for_a_reader_in_another_process(agents, container):
    (reader,) = agents(1)
    assert reader.call("h5open", path=str(container)) == {"ok": True}
    logger = logging.getLogger("ACME")
    logger.setLevel(logging.INFO)
    waiting = _Waiting()
    logger.addHandler(waiting)
    outcome: list[object] = []

    def write() -> None:
        try:
            with open_h5(container, "a") as h5:
                h5["written"] = 7
            outcome.append("written")
        except BaseException as exc:
            outcome.append(exc)

    writer = threading.Thread(target=write)
    try:
        writer.start()
        assert waiting.event.wait(30), outcome  # refused and retrying
        assert outcome == []
        assert reader.call("h5close") == {"ok": True}
        writer.join(30)
    finally:
        logger.removeHandler(waiting)
    assert outcome == ["written"]
    with h5py.File(container, "r") as h5:
        assert h5["written"][()] == 7 and list(h5["data"]) == [1, 2, 3]


def test_open_h5_gives_up_after_the_timeout(agents, container):
    (reader,) = agents(1)
    assert reader.call("h5open", path=str(container)) == {"ok": True}
    with dask.config.set({"acme.single-file.lock-timeout": 1}):
        with pytest.raises(OutputError) as caught:
            with open_h5(container, "a"):
                pytest.fail("opened a file another process holds")
    assert str(container) in str(caught.value)
    assert "another process" in str(caught.value)
    assert caught.value.path == str(container)
    assert isinstance(caught.value.__cause__, BlockingIOError)
    assert reader.call("h5close") == {"ok": True}
    with open_h5(container, "r+") as h5:
        assert "written" not in h5


@pytest.mark.parametrize(
    ("code", "text"),
    [(errno.ENOLCK, "No locks available"), (errno.ENOSYS, "Function not implemented")],
)
def test_open_h5_without_file_locking_hints_at_the_switch(
    container, monkeypatch, code, text
):
    # a file system without locks (NFS without lockd, Lustre) is not at hand: fake
    # h5py's error, as it words it
    calls = []

    def refuse(path, mode):
        calls.append(path)
        raise OSError(
            code,
            "Unable to synchronously open file (unable to lock file, "
            f"errno = {code}, error message = '{text}')",
        )

    monkeypatch.setattr(h5py, "File", refuse)
    with pytest.raises(OutputError, match="HDF5_USE_FILE_LOCKING=FALSE") as caught:
        with open_h5(container, "a"):
            pass
    assert str(container) in str(caught.value)
    assert len(calls) == 1  # no retries


def test_open_h5_passes_other_errors_on(tmp_path):
    with pytest.raises(FileNotFoundError):
        with open_h5(tmp_path / "missing.h5", "r"):
            pass


def test_open_h5_closes_the_file(container):
    with open_h5(container, "a") as h5:
        h5["more"] = 1
    assert not h5.id.valid
