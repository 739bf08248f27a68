"""Prompts on a real (pseudo-)terminal: timed questions and background processes."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import textwrap
import time

TIMED = """
from acme._interactive import ask_yes_no
print("ANSWER", ask_yes_no("continue? [Y/n] ", default=True, wait=1.0), flush=True)
print("NEXT", input(), flush=True)
"""

GROUPS = """
import os, pty, sys

pid, master = pty.fork()
if pid == 0:  # a session leader whose controlling terminal is the pty
    from acme._interactive import is_interactive

    foreground = is_interactive(True)
    child = os.fork()
    if child == 0:
        os.setpgid(0, 0)  # its own process group: the terminal's background
        print("BACKGROUND", is_interactive(True), flush=True)
        os._exit(0)
    os.waitpid(child, 0)
    print("FOREGROUND", foreground, flush=True)
    os._exit(0)
output = b""
while True:
    try:
        data = os.read(master, 1024)
    except OSError:
        break
    if not data:
        break
    output += data
os.waitpid(pid, 0)
sys.stdout.write(output.decode())
"""


def read_until(fd: int, text: str, timeout: float = 20) -> str:
    seen, deadline = "", time.monotonic() + timeout
    while text not in seen:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(left, 0))
        assert ready, f"{text!r} not seen within {timeout} s: {seen!r}"
        seen += os.read(fd, 1024).decode(errors="replace")
    return seen


def test_an_expired_prompt_does_not_swallow_the_next_line():
    master, slave = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(TIMED)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    try:
        read_until(master, "continue? [Y/n]")
        read_until(master, "ANSWER True")  # the wait expired: the default
        os.write(master, b"hello\n")
        read_until(master, "NEXT hello")  # the next reader got the line
        assert child.wait(timeout=30) == 0
    finally:
        child.kill()
        os.close(master)


def test_a_background_process_does_not_prompt():
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(GROUPS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "FOREGROUND True" in done.stdout, done.stdout
    assert "BACKGROUND False" in done.stdout, done.stdout
