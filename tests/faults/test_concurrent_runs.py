"""Runs that meet: two processes in one folder, housekeeping beside a live run,
readers of the single file, many writers of it, a worker killed mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from distributed import Client, LocalCluster

from acme import ParallelMap
from acme.errors import ComputationError

SCRIPT = """
import os, sys, time
from distributed import Client
from acme import ParallelMap
from acme.errors import OutputExistsError

def slow(x, state):
    with open(os.path.join(state, f"ran-{x}-{os.getpid()}"), "w"):
        pass
    return x + 1

def wait_for(path):
    while not os.path.exists(path):
        time.sleep(0.001)

if __name__ == "__main__":
    base, rounds = sys.argv[1], int(sys.argv[2])
    with Client(processes=False, n_workers=1, threads_per_worker=2,
                dashboard_address=None):
        for k in range(rounds):
            out, state = os.path.join(base, f"out{k}"), os.path.join(base, f"state{k}")
            open(os.path.join(base, f"ready{k}-{os.getpid()}"), "w").close()
            wait_for(os.path.join(base, f"go{k}"))  # both copies start together
            try:
                with ParallelMap(slow, list(range(4)), state, output_dir=out,
                                 setup_interactive=False, verbose=False) as pmap:
                    pmap.compute()
                print(k, "RAN", flush=True)
            except OutputExistsError as exc:
                print(k, "REFUSED", exc, flush=True)
"""


def test_two_copies_of_a_script_on_one_folder(tmp_path):
    rounds = 12
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    for k in range(rounds):
        (tmp_path / f"state{k}").mkdir()
    copies = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path), str(rounds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    pids = {copy.pid for copy in copies}
    for k in range(rounds):
        deadline = time.monotonic() + 60
        ready = {tmp_path / f"ready{k}-{pid}" for pid in pids}
        while not all(path.exists() for path in ready):
            if time.monotonic() > deadline or any(c.poll() is not None for c in copies):
                for copy in copies:
                    copy.kill()
                outputs = [copy.communicate()[0] for copy in copies]
                pytest.fail(f"round {k}: a copy did not get ready: {outputs}")
            time.sleep(0.001)
        (tmp_path / f"go{k}").touch()
    outputs = [copy.communicate(timeout=120)[0] for copy in copies]
    assert [copy.returncode for copy in copies] == [0, 0], outputs
    lines = sorted(line for text in outputs for line in text.splitlines())
    for k in range(rounds):
        verdicts = [line.split()[1] for line in lines if line.split()[0] == str(k)]
        assert sorted(verdicts) == ["RAN", "REFUSED"], (k, outputs)
        runs = sorted(p.name.split("-")[1] for p in (tmp_path / f"state{k}").iterdir())
        assert runs == ["0", "1", "2", "3"]  # exactly one copy ran each call
        with h5py.File(tmp_path / f"out{k}" / "slow.h5", "r") as h5:
            assert [h5[f"comp_{i}/result_0"][()].tolist() for i in range(4)] == [
                [i + 1] for i in range(4)
            ]


def plus(x):
    return x + 1


HOLD = """
import sys, time
from pathlib import Path
from acme.results._locks import RunLock

lock = RunLock(Path(sys.argv[1]))
lock.acquire()
print("held", flush=True)
time.sleep(0.5)  # as long as a refused constructor might, and much longer
lock.release()
"""


def test_compute_waits_out_a_brief_holder_of_the_lock(client, tmp_path):
    # a second copy of the script takes the lock between this run's constructor
    # and its compute(), only to find the folder taken and refuse: this run
    # must not be refused for that
    out = tmp_path / "out"
    pmap = ParallelMap(plus, [1, 2], output_dir=out, setup_interactive=False)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(out / ".acme_plus.lock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with pmap:
            results = pmap.compute()
    finally:
        holder.wait(30)
    assert results == [str(out / "plus_payload" / f"plus_{i}.h5") for i in range(2)]


def test_housekeeping_never_deletes_a_constructed_run(process_client, tmp_path):
    import dask.config

    base = tmp_path / "base"
    base.mkdir()
    with dask.config.set({"acme.output-base": str(base)}):
        first = ParallelMap(plus, [1, 2])
        folder = Path(first.config.output_dir)
        time.sleep(1.1)
        with ParallelMap(plus, [3, 4], cleanup_threshold_days=0) as second:
            assert folder.is_dir()
            second.compute()
        with first:
            files = first.compute()
    with h5py.File(files[1], "r") as h5:
        assert h5["result_0"][()].tolist() == [3]


def hold_open(path: Path, seconds: float) -> subprocess.Popen[str]:
    """A process that keeps ``path`` open for reading with HDF5's file locking."""
    code = (
        "import sys, time, h5py\n"
        "f = h5py.File(sys.argv[1], 'r')\n"
        "print('open', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "HDF5_USE_FILE_LOCKING"}
    reader = subprocess.Popen(
        [sys.executable, "-c", code, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert reader.stdout is not None and reader.stdout.readline() == "open\n"
    return reader


def test_single_file_waits_for_a_reader(process_client, tmp_path):
    out = tmp_path / "out"
    with ParallelMap(plus, list(range(4)), output_dir=out, single_file=True) as pmap:
        reader = hold_open(out / "plus.h5", 3.0)
        started = time.monotonic()
        files = pmap.compute()
        waited = time.monotonic() - started
    reader.wait(timeout=30)
    assert waited > 1.0  # the writers waited for the reader to close the file
    with h5py.File(files[0], "r") as h5:
        assert [h5[f"comp_{i}/result_0"][()].tolist() for i in range(4)] == [
            [1],
            [2],
            [3],
            [4],
        ]


def test_single_file_names_a_reader_that_never_closes(process_client, tmp_path):
    import dask.config

    out = tmp_path / "out"
    with dask.config.set({"acme.single-file.lock-timeout": 1}):
        # the workers read the time-out from their own config
        process_client.run(dask.config.set, {"acme.single-file.lock-timeout": 1})
        with ParallelMap(plus, [1, 2], output_dir=out, single_file=True) as pmap:
            reader = hold_open(out / "plus.h5", 60.0)
            try:
                with pytest.raises(ComputationError) as info:
                    pmap.compute()
            finally:
                reader.kill()
    assert info.value.failed == [0, 1]
    text = str(info.value)
    assert str(out / "plus.h5") in text and "another process" in text


def slab(x):
    return np.full((16, 16), float(x)), x * 3


def test_single_file_eight_writers_two_hundred_calls(tmp_path):
    cluster = LocalCluster(
        n_workers=8, threads_per_worker=1, processes=True, dashboard_address=None
    )
    out = tmp_path / "out"
    with Client(cluster):
        with ParallelMap(slab, list(range(200)), output_dir=out, single_file=True) as p:
            files = p.compute()
    cluster.close()
    with h5py.File(files[0], "r") as h5:
        assert len(h5) == 200
        for i in range(200):
            np.testing.assert_array_equal(h5[f"comp_{i}/result_0"][()], float(i))
            assert h5[f"comp_{i}/result_1"][()] == 3 * i


def napping(x, state):
    time.sleep(0.3)
    with open(os.path.join(state, f"done-{x}-{os.getpid()}"), "w"):
        pass
    return np.arange(1000) * x


def test_worker_killed_mid_run(process_client, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    out = tmp_path / "out"
    victim = next(iter(process_client.run(os.getpid).values()))
    with ParallelMap(napping, list(range(12)), str(state), output_dir=out) as pmap:

        def kill_soon() -> None:
            while not any(state.iterdir()):
                time.sleep(0.01)
            os.kill(victim, signal.SIGKILL)

        killer = threading.Thread(target=kill_soon)
        killer.start()
        files = pmap.compute()
        killer.join()
    assert len(files) == 12
    for i, path in enumerate(files):
        with h5py.File(path, "r") as h5:
            np.testing.assert_array_equal(h5["result_0"][()], np.arange(1000) * i)
    assert not [p for p in out.rglob(".*.tmp")]
