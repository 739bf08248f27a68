"""Ctrl-C during ``compute()`` (user guide): SIGINT sent to a child Python process.

The child processes come from the ``run_child`` fixture (``children.py``).
"""

from __future__ import annotations

import os
import signal

import psutil
import pytest
from children import Child, descendants, still_running

MARKER = "ACME-TEST: computing"
STARTED = "ACME-TEST: call started"

_COMMON = r"""
import faulthandler
import signal
import sys
import time

from distributed import Client, LocalCluster

from acme import ParallelMap


faulthandler.register(signal.SIGUSR1, all_threads=True)  # stacks for a hang


def say(line):  # one write per line, so lines of processes do not interleave
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def slow_func(x):
    say(f"STARTED {x}")  # worker processes share the child's stdout
    time.sleep(30)
    return x


def tasks_of(dask_scheduler):
    return sorted(str(key) for key in dask_scheduler.tasks)
"""

_OWNED_MAIN = r"""
if __name__ == "__main__":
    with ParallelMap(
        slow_func, list(range(8)), write_worker_results=False, n_workers=2
    ) as pmap:
        say("MARKER")
        pmap.compute()
"""

_USER_MAIN = r"""
if __name__ == "__main__":
    cluster = LocalCluster(n_workers=2, threads_per_worker=2, dashboard_address=":0")
    client = Client(cluster)
    with ParallelMap(slow_func, [1, 2], write_worker_results=False) as pmap:
        say("MARKER")
        try:
            pmap.compute()
        except KeyboardInterrupt:
            say("ACME-TEST: caught KeyboardInterrupt")
        say(f"ACME-TEST: status {client.status}")
        probe = client.submit(lambda: 1, key="acme-test-probe")
        say(f"ACME-TEST: probe {probe.result(timeout=20)}")
        say(f"ACME-TEST: tasks {client.run_on_scheduler(tasks_of)}")
        del probe
    say(f"ACME-TEST: after cleanup {client.status}")
    client.close()
    cluster.close()
"""

# A client from local_cluster_setup, and a Ctrl-C (to the whole process group, as a
# terminal and Jupyter send it) while no map runs: its workers must live on.
_HELPER_MAIN = r"""
from acme import cluster_cleanup, local_cluster_setup

if __name__ == "__main__":
    client = local_cluster_setup(n_workers=2, interactive=False)
    say("MARKER")
    try:
        say("ACME-TEST: waiting")
        time.sleep(60)
    except KeyboardInterrupt:
        say("ACME-TEST: caught KeyboardInterrupt")
    with ParallelMap(lambda x: x + 1, [1, 2], write_worker_results=False) as pmap:
        say(f"ACME-TEST: results {pmap.compute()}")
    cluster_cleanup(client)
"""

# A Ctrl-C that arrives while the main thread runs a gc callback (distributed installs
# one) must not be lost: Python prints and drops exceptions raised inside such
# callbacks, so compute() has to notice SIGINT itself. The callback below holds the
# main thread for a few seconds once, so that the test can send SIGINT inside it.
_GC_MAIN = r"""
import gc
import threading

ARMED = []
DEFAULT_THRESHOLD = gc.get_threshold()


def hold_main_thread(phase, info):
    main = threading.current_thread() is threading.main_thread()
    if phase == "start" and ARMED and main:
        ARMED.clear()
        gc.set_threshold(*DEFAULT_THRESHOLD)
        say("ACME-TEST: in gc callback")
        time.sleep(3)


if __name__ == "__main__":
    with ParallelMap(
        slow_func, list(range(8)), write_worker_results=False, n_workers=2
    ) as pmap:
        say("MARKER")
        gc.callbacks.append(hold_main_thread)

        def arm():  # once compute() waits for results, collect at once
            ARMED.append(True)
            gc.set_threshold(1)

        threading.Timer(2.0, arm).start()
        pmap.compute()
        say("ACME-TEST: compute returned")
"""


# Ctrl-C outside the submit/wait block: while compute() fingerprints the
# arguments. The shared value's second pickling (the first is the constructor's
# fingerprint) announces itself and blocks, so SIGINT lands there.
_FINGERPRINT_MAIN = r"""
class Slow:
    pickled = 0

    def __reduce__(self):
        Slow.pickled += 1
        if Slow.pickled == 2:
            say("ACME-TEST: fingerprinting")
            time.sleep(30)
        return (Slow, ())


def plus(x, slow):
    return x + 1


if __name__ == "__main__":
    pmap = ParallelMap(plus, [1, 2, 3], Slow(), n_workers=2, output_dir="out")
    say("MARKER")
    client = pmap.daemon.client
    try:
        pmap.compute()
    except KeyboardInterrupt:
        say("ACME-TEST: caught KeyboardInterrupt")
    say(f"ACME-TEST: status {client.status}")
"""


# A cluster whose shutdown takes SECONDS (the first time), so that a Ctrl-C can be
# pressed while acme shuts it down; a real shutdown is not slow on demand.
_SLOW_CLOSE_MAIN = r"""
CLOSE = LocalCluster.close


def slow_close(self, *args, **kwargs):
    if not getattr(self, "acme_test_slowed", False):
        self.acme_test_slowed = True
        say("ACME-TEST: closing")
        time.sleep(SECONDS)
    return CLOSE(self, *args, **kwargs)


if __name__ == "__main__":
    LocalCluster.close = slow_close
    with ParallelMap(
        slow_func, list(range(8)), write_worker_results=False, n_workers=2
    ) as pmap:
        say("MARKER")
        pmap.compute()
"""


def _script(main: str) -> str:
    source = _COMMON + main
    return source.replace("STARTED", STARTED).replace("MARKER", MARKER)


OWNED_CLIENT = _script(_OWNED_MAIN)
USER_CLIENT = _script(_USER_MAIN)
HELPER_CLIENT = _script(_HELPER_MAIN)
GC_CALLBACK = _script(_GC_MAIN)
FINGERPRINTING = _script(_FINGERPRINT_MAIN)


def slow_close(seconds: float) -> str:
    return _script(_SLOW_CLOSE_MAIN).replace("SECONDS", str(seconds))


def _interrupt_after(
    child: Child, *lines: tuple[str, str], group: bool = False
) -> list[psutil.Process]:
    """SIGINT once the child printed ``lines`` ((stream, text) pairs, in order).

    ``group`` sends it to the child's whole process group, its local workers
    too, as a terminal's Ctrl-C and a Jupyter interrupt do. Returns the child's
    processes (the cluster's) at that moment.
    """
    for stream, text in (("out", MARKER), *lines):
        child.wait_for(stream, text)
    family = descendants(child.process.pid)
    assert family, "the cluster's worker processes should be running"
    if group:
        os.killpg(child.process.pid, signal.SIGINT)
    else:
        child.process.send_signal(signal.SIGINT)
    return family


def _interrupt_during_compute(
    child: Child, group: bool = False
) -> list[psutil.Process]:
    # the calls run: SIGINT hits the wait for them
    return _interrupt_after(child, ("err", "Preparing"), ("out", STARTED), group=group)


@pytest.mark.slow
def test_ctrl_c_shuts_down_the_client_acme_started(run_child):
    child = run_child(OWNED_CLIENT)
    family = _interrupt_during_compute(child)
    returncode = child.finish()
    err = child.err()
    assert returncode != 0, child.text()
    assert "Successfully shut down" in err, child.text()
    assert "KeyboardInterrupt" in err, child.text()
    assert "Preparing 8 parallel calls of `slow_func` using 2 workers" in err
    assert still_running(family) == []


@pytest.mark.slow
def test_ctrl_c_keeps_a_client_the_user_started(run_child):
    child = run_child(USER_CLIENT)
    family = _interrupt_during_compute(child)
    returncode = child.finish()
    out, err = child.out(), child.err()
    assert returncode == 0, child.text()
    assert "ACME-TEST: caught KeyboardInterrupt" in out, child.text()
    assert "ACME-TEST: status running" in out, child.text()
    assert "ACME-TEST: probe 1" in out, child.text()
    # none of the map's tasks stays on the scheduler
    assert "ACME-TEST: tasks ['acme-test-probe']" in out, child.text()
    assert "ACME-TEST: after cleanup running" in out, child.text()
    assert "Successfully shut down" not in err, child.text()
    assert still_running(family) == []


@pytest.mark.slow
def test_ctrl_c_to_the_process_group_keeps_the_users_workers(run_child):
    child = run_child(USER_CLIENT)
    family = _interrupt_during_compute(child, group=True)
    returncode = child.finish()
    out = child.out()
    assert returncode == 0, child.text()
    assert "ACME-TEST: caught KeyboardInterrupt" in out, child.text()
    assert "ACME-TEST: probe 1" in out, child.text()  # its workers are alive
    assert "ACME-TEST: tasks ['acme-test-probe']" in out, child.text()
    assert still_running(family) == []


@pytest.mark.slow
def test_ctrl_c_between_maps_keeps_the_workers_of_local_cluster_setup(run_child):
    child = run_child(HELPER_CLIENT)
    family = _interrupt_after(child, ("out", "ACME-TEST: waiting"), group=True)
    returncode = child.finish()
    out = child.out()
    assert returncode == 0, child.text()
    assert "ACME-TEST: caught KeyboardInterrupt" in out, child.text()
    assert "ACME-TEST: results [2, 3]" in out, child.text()
    assert "Successfully shut down" in child.err(), child.text()
    assert still_running(family) == []


@pytest.mark.slow
def test_ctrl_c_during_a_gc_callback_is_not_lost(run_child):
    child = run_child(GC_CALLBACK)
    family = _interrupt_after(child, ("out", "ACME-TEST: in gc callback"))
    returncode = child.finish(timeout=25, repeat_dropped=False)
    assert "ACME-TEST: compute returned" not in child.out(), child.text()
    assert returncode != 0, child.text()
    assert "Successfully shut down" in child.err(), child.text()
    assert child.err().rstrip().endswith("KeyboardInterrupt"), child.text()
    assert still_running(family) == []


@pytest.mark.slow
def test_ctrl_c_while_fingerprinting_shuts_down_the_client_acme_started(run_child):
    child = run_child(FINGERPRINTING)
    family = _interrupt_after(child, ("out", "ACME-TEST: fingerprinting"))
    returncode = child.finish()
    out, err = child.out(), child.err()
    assert returncode == 0, child.text()
    assert "ACME-TEST: caught KeyboardInterrupt" in out, child.text()
    assert "ACME-TEST: status closed" in out, child.text()
    assert "Successfully shut down" in err, child.text()
    assert still_running(family) == []


def _interrupt_during_shutdown(child: Child) -> list[psutil.Process]:
    """SIGINT during compute(), and again while acme shuts the cluster down."""
    family = _interrupt_during_compute(child)
    child.wait_for("out", "ACME-TEST: closing")
    child.process.send_signal(signal.SIGINT)
    return family


@pytest.mark.slow
def test_second_ctrl_c_waits_for_the_shutdown(run_child):
    child = run_child(slow_close(3))
    family = _interrupt_during_shutdown(child)
    returncode = child.finish(repeat_dropped=False)
    err = child.err()
    assert returncode != 0, child.text()
    assert "Still shutting down LocalCluster" in err, child.text()
    assert "press Ctrl-C again to abandon it" in err, child.text()
    assert "Successfully shut down" in err, child.text()
    assert err.rstrip().endswith("KeyboardInterrupt"), child.text()
    assert still_running(family) == []


@pytest.mark.slow
def test_third_ctrl_c_abandons_a_shutdown_that_hangs(run_child):
    child = run_child(slow_close(120))
    family = _interrupt_during_shutdown(child)
    child.wait_for("err", "press Ctrl-C again to abandon it")
    child.process.send_signal(signal.SIGINT)
    returncode = child.finish(timeout=30, repeat_dropped=False)
    err = child.err()
    assert returncode != 0, child.text()
    assert "Successfully shut down" not in err, child.text()
    assert "KeyboardInterrupt" in err, child.text()
    assert still_running(family) == []  # the workers had been stopped already
