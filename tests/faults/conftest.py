"""Helpers of the fault tests: child processes that hold acme's locks."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

AGENT = Path(__file__).with_name("agent.py")
REPLY_TIMEOUT = 60.0


class Agent:
    """A child Python process taking locks on command (``agent.py``)."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "HDF5_USE_FILE_LOCKING"}
        self.proc = subprocess.Popen(
            [sys.executable, str(AGENT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.pid = self.proc.pid

    def send(self, op: str, **args: Any) -> None:
        """Send a command without waiting for its answer."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()

    def reply(self) -> dict[str, Any]:
        """The answer to the oldest command not yet answered."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], REPLY_TIMEOUT)
        if not ready:
            pytest.fail(f"agent {self.proc.pid} gave no answer in {REPLY_TIMEOUT} s")
        line = self.proc.stdout.readline()
        if not line:
            pytest.fail(f"agent {self.proc.pid} died (exit {self.proc.wait()})")
        return dict(json.loads(line))

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        """Send a command and return its answer."""
        self.send(op, **args)
        return self.reply()

    def kill(self) -> None:
        """SIGKILL the agent: the kernel drops its locks, its files stay."""
        self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def agents() -> Iterator[Callable[[int], list[Agent]]]:
    """Start ``n`` agents; all are stopped after the test."""
    started: list[Agent] = []

    def start(n: int) -> list[Agent]:
        new = [Agent() for _ in range(n)]
        started.extend(new)
        for agent in new:  # started together, then wait for each to be ready
            assert agent.reply() == {"pid": agent.pid}
        return new

    yield start
    for agent in started:
        agent.close()
