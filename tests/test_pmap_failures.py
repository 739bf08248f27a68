"""Failing calls, debug mode and workerless clients on real LocalClusters."""

from __future__ import annotations

from collections import Counter

import pytest

from acme import ParallelMap
from acme._execution import INLINE_BYTES
from acme.errors import ComputationError, NoWorkersError


class UnpicklableError(Exception):
    def __init__(self, message, handle):
        super().__init__(message)
        self.handle = handle

    def __reduce__(self):
        raise TypeError("cannot pickle this exception")


def fail_odd(x):
    if x % 2:
        raise ValueError(f"odd input {x}")
    return x * 10


def fail_all(x):
    raise KeyError(x)


def fail_unpicklable(x):
    raise UnpicklableError(f"bad {x}", handle=lambda: None)


def test_failed_calls_are_listed(client):
    with ParallelMap(fail_odd, list(range(6)), write_worker_results=False) as pmap:
        with pytest.raises(ComputationError) as info:
            pmap.compute()
    error = info.value
    message = str(error)
    assert message.startswith(
        "Parallel computation failed: 3/6 tasks failed or stalled"
    )
    for index in (1, 3, 5):
        assert f"call {index}: ValueError: odd input {index}" in message
    assert "Traceback" in message and "raise ValueError" in message
    assert error.failed == [1, 3, 5]
    assert sorted(error.exceptions) == [1, 3, 5]
    assert isinstance(error.__cause__, ValueError)
    assert str(error.__cause__) == "odd input 1"
    assert error.results == [0, None, 20, None, 40, None]
    assert isinstance(error, RuntimeError)


def test_summary_lists_at_most_ten_calls(client):
    with ParallelMap(fail_all, list(range(13)), write_worker_results=False) as pmap:
        with pytest.raises(ComputationError) as info:
            pmap.compute()
    message = str(info.value)
    assert "13/13 tasks" in message
    assert "call 9: KeyError: 9" in message
    assert "call 10:" not in message
    assert "... and 3 more" in message


def test_unpicklable_exception_is_reported(process_client):
    with ParallelMap(fail_unpicklable, [1, 2], write_worker_results=False) as pmap:
        with pytest.raises(ComputationError) as info:
            pmap.compute()
    assert info.value.failed == [0, 1]
    assert "UnpicklableError: bad 1" in str(info.value)


def test_client_survives_failures(client):
    with ParallelMap(fail_odd, [1, 2], write_worker_results=False) as pmap:
        with pytest.raises(ComputationError):
            pmap.compute()
        assert client.status == "running"
    assert client.submit(sum, [1, 2]).result() == 3


def test_debug_runs_in_process_and_raises_unwrapped(client, caplog):
    seen = []

    def record(x):
        seen.append(x)
        if x == 2:
            raise ValueError("two")
        return x

    with ParallelMap(record, [1, 2, 3], write_worker_results=False) as pmap:
        with pytest.raises(ValueError, match="two"):
            pmap.compute(debug=True)
    # the closure ran here (worker processes could not append to this list);
    # the call after the failing one did not run
    assert seen == [1, 2]
    assert "Running in debug mode" in caplog.text


def test_debug_returns_what_normal_mode_returns(client):
    with ParallelMap(fail_odd, [0, 2, 4], write_worker_results=False) as pmap:
        assert pmap.compute(debug=True) == pmap.compute() == [0, 20, 40]


def test_debug_must_be_bool(client):
    from acme.errors import AcmeTypeError

    with ParallelMap(fail_odd, [0, 2], write_worker_results=False) as pmap:
        with pytest.raises(AcmeTypeError, match="`debug` has to be `True` or `False`"):
            pmap.compute(debug="yes")


def test_no_workers_error():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=0, processes=False, dashboard_address=":0")
    with Client(cluster) as client:
        with ParallelMap(fail_odd, [0, 2], write_worker_results=False) as pmap:
            assert pmap.client is client
            with pytest.raises(NoWorkersError, match="no active workers found") as info:
                pmap.compute()
    cluster.close()
    assert isinstance(info.value, ComputationError)
    assert "acme.cluster_cleanup()" in str(info.value)


def die_on_one(x):
    import os

    if x == 1:
        os._exit(3)  # the worker process dies, as when the OS kills it
    return x


def die_once(x, marker, offset, ballast=b""):
    import os
    from pathlib import Path

    if x == 1 and not Path(marker).exists():
        Path(marker).touch()
        os._exit(3)  # the only worker dies with the shared values it holds
    return x + offset


@pytest.mark.parametrize("scattered", [True, False], ids=["large", "small"])
def test_shared_values_lost_with_the_only_worker_are_sent_again(
    tmp_path, acme_log, scattered
):
    from distributed import Client, LocalCluster

    marker = tmp_path / "died"
    cluster = LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    # only shared values above INLINE_BYTES are sent to the workers ahead of
    # the tasks; smaller ones travel inside every task and cannot be lost
    ballast = b"x" * (2 * INLINE_BYTES if scattered else 10)
    with (
        Client(cluster),
        # the nanny starts a new worker, which has never seen the shared values
        ParallelMap(
            die_once,
            [0, 1, 2],
            str(marker),
            10,
            ballast=ballast,
            write_worker_results=False,
        ) as pmap,
    ):
        results = pmap.compute()
    cluster.close()
    assert marker.exists()
    assert results == [10, 11, 12]
    assert ("The shared arguments were lost" in acme_log.text) is scattered


def count_starts_and_die_once(x, folder, dies):
    import os
    import time
    import uuid
    from pathlib import Path

    Path(folder, f"{x}-{uuid.uuid4().hex}").touch()
    if x == dies and not Path(folder, "died").exists():
        Path(folder, "died").touch()
        time.sleep(2)  # the results of the calls before have reached the client
        os._exit(3)  # and dask still held them in this worker's memory
    return x


def test_calls_finished_before_a_worker_dies_are_not_run_again(tmp_path):
    import dask.config
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    with (
        Client(cluster),
        dask.config.set({"acme.batch-size": 1}),  # a task per call
        ParallelMap(
            count_starts_and_die_once,
            list(range(6)),
            str(tmp_path),
            4,
            write_worker_results=False,
        ) as pmap,
    ):
        results = pmap.compute()
    cluster.close()
    assert results == list(range(6))
    starts = Counter(p.name.split("-")[0] for p in tmp_path.iterdir())
    assert starts.pop("died") == 1
    assert starts == {"0": 1, "1": 1, "2": 1, "3": 1, "4": 2, "5": 1}


def test_dead_worker_is_reported_as_such():
    import dask.config
    from distributed import Client, LocalCluster

    # one call per task: the dying call's task holds no other call (in memory,
    # the values of the others in its task would die with the worker too)
    settings = {"distributed.scheduler.allowed-failures": 0, "acme.batch-size": 1}
    with dask.config.set(settings):
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        with (
            Client(cluster),
            ParallelMap(die_on_one, [0, 1, 2], write_worker_results=False) as pmap,
        ):
            with pytest.raises(ComputationError) as info:
                pmap.compute()
        cluster.close()
    error = info.value
    assert error.failed == [1]
    assert error.results == [0, None, 2]
    assert "call 1: RuntimeError: the worker running this call died" in str(error)
    assert "exceeding its memory" in str(error)
