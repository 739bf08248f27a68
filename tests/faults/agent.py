"""A child process that takes acme's locks on command, for the fault tests.

Reads one JSON command per line on stdin and answers one JSON line on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import h5py

from acme.results._locks import RunLock, exclusive


def _exclusive(path: str, log: str, hold: float) -> None:
    with exclusive(Path(path)):
        with open(log, "a") as stream:
            stream.write(f"enter {os.getpid()}\n")
        time.sleep(hold)  # hold the lock a while so that overlaps would show
        with open(log, "a") as stream:
            stream.write(f"exit {os.getpid()}\n")


def _answer(reply: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()


def main() -> None:
    locks: dict[str, RunLock] = {}
    files: list[h5py.File] = []
    held = ExitStack()
    _answer({"pid": os.getpid()})
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        try:
            if op == "lock":
                locks[command["path"]] = RunLock(Path(command["path"]))
                locks[command["path"]].acquire()
            elif op == "unlock":
                locks.pop(command["path"]).release()
            elif op == "exclusive":
                _exclusive(command["path"], command["log"], command["hold"])
            elif op == "xlock":
                held.enter_context(exclusive(Path(command["path"])))
            elif op == "xunlock":
                held.close()
            elif op == "h5open":
                files.append(h5py.File(command["path"], "r"))
            elif op == "h5close":
                files.pop().close()
        except Exception as exc:
            reply: dict[str, object] = {
                "ok": False,
                "type": type(exc).__name__,
                "error": str(exc),
            }
        else:
            reply = {"ok": True}
        _answer(reply)


if __name__ == "__main__":
    main()
