"""Child Python processes for the tests that interrupt them (Ctrl-C): the
``run_child`` fixture, loaded as a plugin by ``conftest.py``.

``run_child(source)`` writes ``source`` to a script, starts it in its own
process group (as a terminal's job) and returns a :class:`Child` whose stdout
and stderr are read line by line; at the end of the test a child still
running is killed with its descendants (a failed test must not leave a cluster
behind).
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psutil
import pytest


@dataclass
class Child:
    """A child Python process whose stdout and stderr are read line by line."""

    process: subprocess.Popen
    lines: dict[str, list[str]] = field(default_factory=lambda: {"out": [], "err": []})
    events: queue.Queue = field(default_factory=queue.Queue)
    readers: list[threading.Thread] = field(default_factory=list)

    def read(self, name: str, stream) -> None:
        for line in stream:
            self.lines[name].append(line)
            self.events.put((name, line))
        self.events.put((name, None))

    def wait_for(self, name: str, text: str, timeout: float = 120) -> None:
        """Block until a line of stream ``name`` contains ``text``."""
        if any(text in line for line in self.lines[name]):
            return
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{text!r} not seen on std{name}: {self.text()}")
            try:
                stream, line = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if stream == name and line is not None and text in line:
                return
            if self.process.poll() is not None and self.events.empty():
                raise AssertionError(f"child exited before {text!r}: {self.text()}")

    def finish(self, timeout: float = 60, repeat_dropped: bool = True) -> int:
        """Wait for the child to exit after SIGINT.

        With ``repeat_dropped``, a SIGINT that Python demonstrably dropped (raised
        inside a gc callback, reported as "Exception ignored") is sent once more, as
        a user would press Ctrl-C again; that defect has its own test below.
        """
        deadline = time.monotonic() + timeout
        repeated = False
        while self.process.poll() is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.process.send_signal(signal.SIGUSR1)  # its threads' stacks
                time.sleep(2)
                raise AssertionError(
                    f"child still running {timeout} s after SIGINT: {self.text()}"
                )
            if repeat_dropped and not repeated and dropped_interrupt(self.err()):
                self.process.send_signal(signal.SIGINT)
                repeated = True
            try:  # wakes up on output, or re-checks the exit status
                self.events.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                pass
        for reader in self.readers:
            reader.join(timeout=10)
        return self.process.returncode

    def out(self) -> str:
        return "".join(self.lines["out"])

    def err(self) -> str:
        return "".join(self.lines["err"])

    def text(self) -> str:
        return f"\n--- stdout ---\n{self.out()}\n--- stderr ---\n{self.err()}"


@pytest.fixture
def run_child(tmp_path) -> Iterator:
    children: list[Child] = []

    def start(source: str) -> Child:
        script = tmp_path / "child.py"
        script.write_text(source)
        process = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            start_new_session=True,  # its own process group, as a terminal's job
        )
        child = Child(process)
        for name, stream in (("out", process.stdout), ("err", process.stderr)):
            reader = threading.Thread(
                target=child.read, args=(name, stream), daemon=True
            )
            reader.start()
            child.readers.append(reader)
        children.append(child)
        return child

    yield start
    for child in children:  # a failed test must not leave a cluster behind
        if child.process.poll() is None:
            family = [child.process, *descendants(child.process.pid)]
            for proc in family:
                proc.kill()
            child.process.wait(timeout=30)
        for stream in (child.process.stdout, child.process.stderr):
            stream.close()


def dropped_interrupt(err: str) -> bool:
    """True if the child printed a KeyboardInterrupt that Python ignored."""
    ignored = err.find("Exception ignored in")
    return ignored >= 0 and "KeyboardInterrupt: " in err[ignored:]


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def still_running(procs: list[psutil.Process]) -> list[psutil.Process]:
    """Processes that have not exited within ~10 s (zombies count as exited)."""
    _, alive = psutil.wait_procs(procs, timeout=10)
    running = []
    for proc in alive:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                running.append(proc)
        except psutil.NoSuchProcess:
            pass
    return running
