"""The ``partition="auto"`` memory estimate never leaves its profiling child behind.

The estimate runs one call of the user's function in a child Python process on
the login node. A Jupyter interrupt signals only the kernel (not its process
group) and a killed parent signals nobody, so acme itself must end the child.
The test runs the real path: a script whose ``ParallelMap`` selects SLURM with
``partition="auto"`` on the project's SLURM, and is interrupted (SIGINT to the
script's process only) or SIGKILLed while its function runs in the child.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest
from slurm_helpers import jobs_below, wait_until

pytestmark = [pytest.mark.slurm, pytest.mark.usefixtures("no_leftover_jobs")]

SCRIPT = r"""
import os
import sys
import time
from pathlib import Path

from acme import ParallelMap


def profiled(x, marker):
    Path(marker).write_text(str(os.getpid()))
    time.sleep(120)
    return x


if __name__ == "__main__":
    ParallelMap(
        profiled, [0, 1], sys.argv[1], partition="auto", write_worker_results=False
    )
    print("ACME-TEST: constructed", flush=True)
"""


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["int", "kill"])
def test_profiling_child_ends_with_its_parent(tmp_path, signum):
    script, marker = tmp_path / "estimate.py", tmp_path / "profiling-pid"
    script.write_text(SCRIPT)
    env = {**os.environ, "DASK_ACME__CLUSTER": "slurm"}
    parent = subprocess.Popen(
        [sys.executable, str(script), str(marker)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        wait_until(lambda: marker.exists() and marker.read_text(), 60, "the estimate")
        child = int(marker.read_text())
        assert _running(child)
        parent.send_signal(signum)  # the parent's process only, as Jupyter does
        out, err = parent.communicate(timeout=60)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    assert parent.returncode != 0
    assert "ACME-TEST: constructed" not in out
    if signum == signal.SIGINT:
        assert "KeyboardInterrupt" in err, err
    wait_until(lambda: not _running(child), 10, f"profiling child {child} to end")
    assert jobs_below(tmp_path) == []  # interrupted before any job was submitted
