"""Partial failures and ``resume`` on LocalClusters: only unfinished calls run again.

The user functions are in ``resume_funcs.py``.
"""

from __future__ import annotations

import inspect
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

import h5py
import numpy as np
import pytest
from resume_funcs import (
    BROKEN,
    N_CALLS,
    SECOND_RUN,
    calls,
    fix,
    flaky,
    flaky_row,
    gated,
    h5_value,
    hidden_entries,
    manifest,
    ran,
    resume,
    run_failing,
    statuses,
)

from acme import ParallelMap

# -- partial failures and resume ---------------------------------------------------


def test_partial_failure_keeps_finished_results(client, tmp_path, state):
    out = tmp_path / "out"
    error = run_failing(out, state)
    assert ran(state) == list(range(N_CALLS))
    assert error.failed == list(BROKEN)
    assert str(error).startswith(
        f"Parallel computation failed: 2/{N_CALLS} tasks failed or stalled"
    )
    for index in BROKEN:
        assert f"call {index}: ValueError: broken call {index}" in str(error)
    payload = out / "flaky_payload"
    expected = [
        None if i in BROKEN else str(payload / f"flaky_{i}.h5") for i in range(N_CALLS)
    ]
    assert error.results == expected
    for i, path in enumerate(expected):
        if path is not None:
            assert h5_value(path) == [i * 10]
    assert sorted(p.name for p in payload.iterdir()) == [
        f"flaky_{i}.h5" for i in (0, 2, 3, 5)
    ]
    # the container stays as created; links of failed calls dangle
    with h5py.File(out / "flaky.h5", "r") as h5:
        assert sorted(h5) == sorted(f"comp_{i}" for i in range(N_CALLS))
        assert h5["comp_2"]["result_0"][()].tolist() == [20]
        with pytest.raises(KeyError):
            h5["comp_1"]["result_0"]
    data = manifest(out)
    assert [c["status"] for c in data["calls"]] == [
        "failed" if i in BROKEN else "done" for i in range(N_CALLS)
    ]
    for i in (0, 2, 3, 5):
        assert data["calls"][i]["file"] == f"flaky_payload/flaky_{i}.h5"
    assert hidden_entries(out) == []


def test_resume_runs_only_failed_calls(client, tmp_path, state, acme_log):
    out = tmp_path / "out"
    run_failing(out, state)
    ran(state)
    fix(state)
    acme_log.records.clear()
    results = resume(out, state)
    assert ran(state) == list(BROKEN)
    assert "Preparing 2 parallel calls of `flaky` using 2 workers" in acme_log.text
    resumed = [r for r in acme_log.records if "Resuming" in r.getMessage()]
    assert len(resumed) == 1 and resumed[0].levelname == "INFO"
    assert f"4/{N_CALLS}" in resumed[0].getMessage()
    payload = out / "flaky_payload"
    assert results == [str(payload / f"flaky_{i}.h5") for i in range(N_CALLS)]
    with h5py.File(out / "flaky.h5", "r") as h5:
        for i in range(N_CALLS):
            assert h5[f"comp_{i}"]["result_0"][()].tolist() == [i * 10]
    assert statuses(out) == ["done"] * N_CALLS
    assert hidden_entries(out) == []

    # the same list (relative to the folder) and data as an uninterrupted run
    other = tmp_path / "other"
    with ParallelMap(flaky, list(range(N_CALLS)), state, output_dir=other) as pmap:
        fresh = pmap.compute()
    assert [os.path.relpath(p, other) for p in fresh] == [
        os.path.relpath(p, out) for p in results
    ]
    assert [h5_value(p) for p in fresh] == [h5_value(p) for p in results]
    files = [{k: v for k, v in c.items() if k != "record"} for c in calls(other)]
    assert files == [{k: v for k, v in c.items() if k != "record"} for c in calls(out)]
    # the calls that failed first ran twice; the record is that of the second run
    attempts = [c["record"]["attempt"] for c in calls(out)]
    assert attempts == [2 if i in BROKEN else 1 for i in range(N_CALLS)]
    assert [c["record"]["attempt"] for c in calls(other)] == [1] * N_CALLS


def test_resume_rebuilds_stacked_container(client, tmp_path, state):
    out = tmp_path / "out"
    shape = {"result_shape": (None, 3)}
    run_failing(out, state, func=flaky_row, **shape)
    ran(state)
    fix(state)
    resume(out, state, func=flaky_row, **shape)
    assert ran(state) == list(BROKEN)
    with h5py.File(out / "flaky_row.h5", "r") as h5:
        assert h5["result_0"].is_virtual
        stacked = h5["result_0"][()]
    expected = np.repeat(np.arange(N_CALLS)[:, None] * 10.0, 3, axis=1)
    np.testing.assert_array_equal(stacked, expected)


def test_stacked_container_after_partial_failure_maps_finished_calls(
    client, tmp_path, state
):
    out = tmp_path / "out"
    run_failing(out, state, func=flaky_row, result_shape=(None, 3))
    with h5py.File(out / "flaky_row.h5", "r") as h5:
        assert h5["result_0"].is_virtual
        partial = h5["result_0"][()]
    for i in range(N_CALLS):
        if i not in BROKEN:
            assert partial[i].tolist() == [i * 10.0] * 3


def test_resume_single_file(client, tmp_path, state, acme_log):
    out = tmp_path / "out"
    error = run_failing(out, state, single_file=True)
    container = out / "flaky.h5"
    assert error.results == [
        None if i in BROKEN else str(container) for i in range(N_CALLS)
    ]
    with h5py.File(container, "r") as h5:
        for i in range(N_CALLS):
            assert len(h5[f"comp_{i}"]) == (0 if i in BROKEN else 1)
    data = manifest(out)
    assert [c["status"] for c in data["calls"]] == [
        "failed" if i in BROKEN else "done" for i in range(N_CALLS)
    ]
    assert {c["file"] for c in data["calls"] if c["status"] == "done"} == {"flaky.h5"}
    ran(state)
    fix(state)
    acme_log.records.clear()
    results = resume(out, state, single_file=True)
    assert ran(state) == list(BROKEN)
    assert "Preparing 2 parallel calls" in acme_log.text
    assert results == [str(container)]
    assert sorted(p.name for p in out.glob("*.h5")) == ["flaky.h5"]
    for i in range(N_CALLS):
        assert h5_value(container, f"comp_{i}") == [i * 10]
    assert statuses(out) == ["done"] * N_CALLS
    assert hidden_entries(out) == []


def test_resume_pickles_across_processes(process_client, tmp_path, state, acme_log):
    out = tmp_path / "out"
    error = run_failing(out, state, write_pickle=True)
    expected = [str(out / f"flaky_{i}.pickle") for i in range(N_CALLS)]
    assert error.results == [
        None if i in BROKEN else path for i, path in enumerate(expected)
    ]
    assert sorted(p.name for p in out.glob("*.pickle")) == [
        f"flaky_{i}.pickle" for i in (0, 2, 3, 5)
    ]
    data = manifest(out)
    assert [c["status"] for c in data["calls"]] == [
        "failed" if i in BROKEN else "done" for i in range(N_CALLS)
    ]
    assert data["calls"][3]["file"] == "flaky_3.pickle"
    ran(state)
    fix(state)
    acme_log.records.clear()
    results = resume(out, state, write_pickle=True)
    assert ran(state) == list(BROKEN)
    assert "Preparing 2 parallel calls" in acme_log.text
    assert results == expected
    for i, path in enumerate(results):
        with open(path, "rb") as handle:
            assert pickle.load(handle) == i * 10
    assert statuses(out) == ["done"] * N_CALLS
    assert hidden_entries(out) == []


def test_resume_reruns_calls_whose_files_vanished(client, tmp_path, state):
    out = tmp_path / "out"
    fix(state)
    with ParallelMap(flaky, list(range(N_CALLS)), state, output_dir=out) as pmap:
        pmap.compute()
    ran(state)
    (out / "flaky_payload" / "flaky_2.h5").unlink()
    results = resume(out, state)
    assert ran(state) == [2]
    assert h5_value(results[2]) == [20]


CHILD = """
import sys
sys.path.insert(0, {root!r})
from distributed import Client, LocalCluster
from acme import ParallelMap
from {module} import gated

if __name__ == "__main__":
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    client = Client(cluster)
    pmap = ParallelMap(gated, list(range(8)), {state!r}, output_dir={out!r})
    pmap.compute()
"""


def _wait_for_done(out: Path, child: subprocess.Popen, count: int, log: Path) -> None:
    """Poll the child's manifest until ``count`` calls are done (60 s deadline)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            pytest.fail(f"child ended early ({child.returncode}):\n{log.read_text()}")
        try:
            calls = manifest(out, "gated")["calls"]
        except (FileNotFoundError, KeyError, ValueError):
            calls = []
        if sum(call["status"] == "done" for call in calls) >= count:
            return
        time.sleep(0.05)
    pytest.fail(f"manifest never showed {count} finished calls:\n{log.read_text()}")


def test_resume_after_killed_run(client, tmp_path, state, acme_log):
    out = tmp_path / "out"
    root = Path(inspect.getfile(gated)).parents[gated.__module__.count(".")]
    script = tmp_path / "child.py"
    script.write_text(
        textwrap.dedent(
            CHILD.format(
                root=str(root), module=gated.__module__, state=state, out=str(out)
            )
        )
    )
    log = tmp_path / "child.log"
    # the throttle (acme.manifest.write-interval) would hold back the last updates;
    # a task per call: calls 2 and 3 must not wait in a batch with a blocked call
    env = {
        **os.environ,
        "DASK_ACME__MANIFEST__WRITE_INTERVAL": "0",
        "DASK_ACME__BATCH_SIZE": "1",
    }
    with open(log, "wb") as output:
        child = subprocess.Popen(
            [sys.executable, str(script)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        _wait_for_done(out, child, 4, log)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(30)
    before = manifest(out, "gated")
    assert [c["status"] for c in before["calls"][:4]] == ["done"] * 4
    assert all(c["status"] == "pending" for c in before["calls"][4:])
    assert sorted(p.name for p in (out / "gated_payload").iterdir()) == [
        f"gated_{i}.h5" for i in range(4)
    ]
    assert ran(state)[:4] == [0, 1, 2, 3]

    Path(state, "release").touch()
    with ParallelMap(
        gated, list(range(8)), state, output_dir=out, resume=True, **SECOND_RUN
    ) as pm:
        results = pm.compute()
    assert ran(state) == [4, 5, 6, 7]
    assert "Preparing 4 parallel calls of `gated`" in acme_log.text
    payload = out / "gated_payload"
    assert results == [str(payload / f"gated_{i}.h5") for i in range(8)]
    with h5py.File(out / "gated.h5", "r") as h5:
        for i in range(8):
            assert h5[f"comp_{i}"]["result_0"][()].tolist() == [i * 10]
    assert statuses(out, "gated") == ["done"] * 8
    assert hidden_entries(out) == []


def test_resume_gets_its_own_log(client, tmp_path, state):
    out = tmp_path / "out"
    run_failing(out, state)
    fix(state)
    # logs of earlier runs under every name the next seconds would give
    now = datetime.now()
    earlier = set()
    for second in range(10):
        stamp = f"{now + timedelta(seconds=second):%Y%m%d-%H%M%S}"
        path = out / f"ACME_flaky_{stamp}.log"
        if not path.exists():
            path.write_text("earlier run\n")
            earlier.add(path)
    with ParallelMap(
        flaky, list(range(N_CALLS)), state, output_dir=out, resume=True
    ) as pmap:
        pmap.compute()
    assert all(path.read_text() == "earlier run\n" for path in earlier)
    logs = [p for p in out.glob("ACME_flaky_*.log") if p not in earlier]
    assert any("Resuming" in p.read_text() for p in logs)
