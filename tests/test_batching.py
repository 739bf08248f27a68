"""Batching: many calls per dask task; results, failures and resume stay per call."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter

import dask.config
import h5py
import numpy as np
import pytest
from distributed import get_worker

from acme import ParallelMap
from acme._batching import (
    MAX_BYTES,
    MIN_SECONDS,
    PROBE_BYTES,
    PROBE_SECONDS,
    TARGET_SECONDS,
    BatchSizer,
    batch_size,
)
from acme.errors import AcmeValueError, ComputationError
from acme.results._batch import BatchOptions, Budget, Packed, SharedSlot
from acme.results._worker import run_batch
from acme.results.memory import MemorySink


def task_key(x):
    """The dask task that runs this call."""
    return get_worker().get_current_task()


def fails_at_17(x, state):
    with open(f"{state}/ran-{x}", "a") as stream:
        stream.write("x")
    if x == 17:
        raise ValueError("call 17 fails")
    return x * 2


def dies_once_at_5(x, state):
    with open(os.path.join(state, f"ran-{x}-{time.monotonic_ns()}"), "w"):
        pass
    if x == 5 and not os.path.exists(os.path.join(state, "died")):
        open(os.path.join(state, "died"), "w").close()
        os.kill(os.getpid(), signal.SIGKILL)  # the worker dies mid-batch
    return x * 2


def lock_at_3(x):
    return threading.Lock() if x == 3 else x


def slow(x):
    time.sleep(0.2)
    return get_worker().get_current_task()


def plus(x, y):
    return x + y


# --- the size of each task --------------------------------------------------


def test_the_first_task_of_each_thread_is_a_probe_with_its_share_of_the_calls():
    sizer = BatchSizer(None, slots=2)
    assert sizer.probing
    assert [sizer.next(10_000), sizer.next(5_000)] == [5_000, 5_000]  # even shares
    sizer.observe(1, 0.01)
    assert not sizer.probing


def test_a_probe_carries_at_most_probe_bytes_of_arguments():
    sizer = BatchSizer(None, slots=2)
    assert sizer.next(10_000, call_bytes=PROBE_BYTES / 10) == 10
    assert sizer.next(10_000, call_bytes=10 * PROBE_BYTES) == 1


def test_a_fixed_size_has_no_probes():
    assert not BatchSizer(3, slots=2).probing


def test_cheap_calls_are_shared_by_the_worker_threads_in_one_task_each():
    sizer = BatchSizer(None, slots=2)
    assert sizer.next(10_001) == 5001  # the probe
    sizer.observe(4, 4e-6)  # 1 µs per call: 0.01 s for all of them
    assert sizer.next(10_000) == 5001  # half of the run's calls, per thread
    assert sizer.next(4999) == 4999  # the rest, not halved again


def test_calls_keep_four_tasks_per_thread_while_those_are_worth_sending():
    sizer = BatchSizer(None, slots=2)
    sizer.observe(1, 0.01)  # 10 ms per call
    assert sizer.next(80) == 10  # 80 / (4 tasks x 2 threads)
    assert sizer.next(16) == 5  # MIN_SECONDS of work, not 2 calls


def test_tasks_never_carry_less_work_than_min_seconds_unless_the_calls_run_out():
    sizer = BatchSizer(None, slots=2)
    sizer.observe(1, 0.001)  # 1 ms per call
    assert sizer.next(100) == int(MIN_SECONDS / 0.001)  # not 100 / 8
    assert sizer.next(20) == 20


def test_call_times_set_the_size_of_a_task():
    sizer = BatchSizer(None, slots=2)
    sizer.observe(10, 10 * 0.01)  # 10 ms per call
    assert sizer.next(1_000_000) == int(TARGET_SECONDS / 0.01)
    sizer = BatchSizer(None, slots=2)
    sizer.observe(2, 0.5)  # long calls: one per task
    assert sizer.next(1_000_000) == 1


def test_large_arguments_keep_tasks_small():
    sizer = BatchSizer(None, slots=1)
    sizer.observe(10, 1e-5)
    sizer.observe_input(1, MAX_BYTES // 4)
    assert sizer.next(1_000_000) == 4


def test_a_fixed_size_is_kept_and_everything_may_be_in_flight():
    sizer = BatchSizer(7, slots=2)
    assert [sizer.next(100), sizer.next(3)] == [7, 3]
    assert sizer.in_flight == float("inf")


def test_one_task_per_thread_until_a_call_was_timed_then_two():
    sizer = BatchSizer(None, slots=3)
    assert sizer.in_flight == 3  # the probes that time the calls
    sizer.observe(1, 0.01)
    assert sizer.in_flight == 6  # each thread has its next task waiting


@pytest.mark.parametrize("value", ["auto", 1, 50, "12"])
def test_batch_size_setting(value):
    expected = None if value == "auto" else int(value)
    assert batch_size(value) == expected


@pytest.mark.parametrize("value", [0, -3, 1.5, True, "many", None, [4]])
def test_bad_batch_size_names_the_key_the_value_and_what_is_allowed(value):
    with pytest.raises(AcmeValueError) as info:
        batch_size(value)
    message = str(info.value)
    assert "acme.batch-size" in message
    assert repr(value) in message
    assert '"auto" or a positive integer' in message


# --- the worker's side --------------------------------------------------------


def test_a_task_hands_back_the_calls_past_its_budget():
    calls = Packed([(i, [i, SharedSlot(0)], {}) for i in range(5)])
    budget = Budget(0.0, 10**9)
    options = BatchOptions(budget=budget)
    done = run_batch(plus, MemorySink(5, None), options, [100], calls)
    assert done.done == [0]
    assert done.unrun == [1, 2, 3, 4]
    assert [(c.index, c.value) for c in done.outcomes(Counter(range(5)))] == [(0, 100)]


def test_a_task_runs_all_its_calls_without_a_budget():
    calls = Packed([(i, [i], {"y": SharedSlot(0)}) for i in range(5)])
    done = run_batch(plus, MemorySink(5, None), BatchOptions(capture=100), [10], calls)
    outcomes = done.outcomes(Counter(range(5)))
    assert [c.value for c in outcomes] == [10, 11, 12, 13, 14]
    assert done.unrun == []
    # what was measured of each call: run here, not on a dask worker
    measured = done.measured
    assert measured.calls == [0, 1, 2, 3, 4]
    assert measured.where is not None and measured.where[1] is None  # no worker
    assert all(c.measured is measured for c in outcomes)
    assert all(measured.of(i)[1] >= 0 for i in range(5))
    assert measured.of(7) is None


# --- end to end on a process-based cluster -----------------------------------


def test_cheap_calls_share_tasks(process_client):
    with ParallelMap(task_key, list(range(2000)), write_worker_results=False) as pmap:
        keys = pmap.compute()
    assert len(keys) == 2000
    assert len(set(keys)) < 200  # far fewer tasks than calls


def test_long_calls_keep_one_task_each(process_client):
    with ParallelMap(slow, list(range(8)), write_worker_results=False) as pmap:
        keys = pmap.compute()
    assert len(set(keys)) == 8


def test_cheap_calls_finish_in_the_probes(process_client):
    # each probe gets half of the calls and runs them all within PROBE_SECONDS
    with ParallelMap(task_key, list(range(200)), write_worker_results=False) as pmap:
        keys = pmap.compute()
    assert [keys.count(key) for key in dict.fromkeys(keys)] == [100, 100]
    assert [record.attempt for record in pmap.records] == [1] * 200


def sleep_then_key(x):
    time.sleep(PROBE_SECONDS * 2)
    return get_worker().get_current_task()


def test_a_probe_runs_one_long_call_and_hands_the_others_back(process_client):
    with ParallelMap(sleep_then_key, list(range(6)), write_worker_results=False) as p:
        keys = p.compute()
    probes = {keys[0], keys[3]}  # the first call of each half
    assert keys.count(keys[0]) == 1 and keys.count(keys[3]) == 1
    assert len(probes) == 2
    assert [record.attempt for record in p.records] == [1] * 6  # handed back: no retry


def test_a_fixed_batch_size_is_used(process_client):
    with dask.config.set({"acme.batch-size": 25}):
        with ParallelMap(task_key, list(range(100)), write_worker_results=False) as p:
            keys = p.compute()
    assert [keys.count(key) for key in dict.fromkeys(keys)] == [25] * 4


def test_one_failing_call_in_a_batch_of_fifty_fails_only_itself(
    process_client, tmp_path
):
    state = tmp_path / "state"
    state.mkdir()
    out = tmp_path / "out"
    with dask.config.set({"acme.batch-size": 50}):
        pmap = ParallelMap(
            fails_at_17, list(range(50)), str(state), output_dir=str(out)
        )
        with pmap, pytest.raises(ComputationError) as info:
            pmap.compute()
    assert info.value.failed == [17]
    assert isinstance(info.value.exceptions[17], ValueError)
    with h5py.File(out / "fails_at_17.h5", "r") as h5:
        for i in set(range(50)) - {17}:
            assert h5[f"comp_{i}/result_0"][()].tolist() == [2 * i]
    manifest = json.loads((out / ".acme_fails_at_17.json").read_text())
    statuses = [call["status"] for call in manifest["calls"]]
    assert statuses == ["failed" if i == 17 else "done" for i in range(50)]

    with dask.config.set({"acme.batch-size": 50}):
        again = ParallelMap(
            fails_at_17, list(range(50)), str(state), output_dir=str(out), resume=True
        )
        with again, pytest.raises(ComputationError) as info:
            again.compute()
    assert info.value.failed == [17]
    runs = {p.name: p.read_text() for p in state.iterdir()}
    assert runs.pop("ran-17") == "xx"  # resume ran only the failed call again
    assert set(runs.values()) == {"x"}


def test_a_value_that_cannot_travel_fails_only_its_call(process_client):
    with dask.config.set({"acme.batch-size": 10}):
        pmap = ParallelMap(lock_at_3, list(range(10)), write_worker_results=False)
        with pmap, pytest.raises(ComputationError) as info:
            pmap.compute()
    assert info.value.failed == [3]
    assert info.value.results[:3] == [0, 1, 2]
    assert info.value.results[4:] == list(range(4, 10))


def test_a_bad_batch_size_is_refused_before_anything_runs(client, tmp_path):
    out = tmp_path / "out"
    with ParallelMap(plus, [1, 2, 3], 1, output_dir=str(out)) as pmap:
        pmap.compute()
        before = sorted(p.name for p in (out / "plus_payload").iterdir())
        with dask.config.set({"acme.batch-size": "many"}):
            with pytest.raises(AcmeValueError, match=r"acme\.batch-size"):
                pmap.compute()
    assert sorted(p.name for p in (out / "plus_payload").iterdir()) == before
    manifest = json.loads((out / ".acme_plus.json").read_text())
    assert [call["status"] for call in manifest["calls"]] == ["done"] * 3


@pytest.mark.parametrize("pickled", [False, True], ids=["hdf5", "pickle"])
def test_a_dead_worker_costs_only_the_unfinished_calls_of_its_batch(
    process_client, tmp_path, pickled
):
    state, out = tmp_path / "state", tmp_path / "out"
    state.mkdir()
    with dask.config.set({"acme.batch-size": 10}):
        pmap = ParallelMap(
            dies_once_at_5,
            list(range(10)),
            str(state),
            output_dir=str(out),
            write_pickle=pickled,
        )
        with pmap:
            files = pmap.compute()
    ran = [p.name.split("-")[1] for p in state.iterdir() if p.name != "died"]
    counts = {i: ran.count(str(i)) for i in range(10)}
    assert counts == {i: 2 if i == 5 else 1 for i in range(10)}
    assert len(files) == 10
    if not pickled:
        with h5py.File(out / "dies_once_at_5.h5", "r") as h5:
            values = [h5[f"comp_{i}/result_0"][()].tolist() for i in range(10)]
        assert values == [[2 * i] for i in range(10)]
    manifest = json.loads((out / ".acme_dies_once_at_5.json").read_text())
    assert [c["status"] for c in manifest["calls"]] == ["done"] * 10
    # the calls of the lost task from 5 on were handed out again; 0-4 were kept
    assert [r.attempt for r in pmap.records] == [1] * 5 + [2] * 5
    assert [c["record"]["attempt"] for c in manifest["calls"]] == [1] * 5 + [2] * 5
    assert all(r.seconds is not None for r in pmap.records[5:])


def row_or_wrong_shape(x):
    return np.zeros(3) + x if x != 7 else np.zeros(4)


def test_single_file_writes_of_a_batch_fail_per_call(process_client, tmp_path):
    out = tmp_path / "out"
    with dask.config.set({"acme.batch-size": 50}):
        pmap = ParallelMap(
            row_or_wrong_shape,
            list(range(50)),
            output_dir=str(out),
            single_file=True,
            result_shape=(None, 3),
        )
        with pmap, pytest.raises(ComputationError) as info:
            pmap.compute()
    assert info.value.failed == [7]
    assert "cannot be stored in the `result_shape` slot" in str(info.value)
    with h5py.File(out / "row_or_wrong_shape.h5", "r") as h5:
        data = h5["result_0"][()]
    for i in set(range(50)) - {7}:
        np.testing.assert_array_equal(data[i], np.zeros(3) + i)
    assert np.isnan(data[7]).all()  # the failed call's slot reads the fill value
