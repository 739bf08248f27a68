"""End-to-end: results collected in memory on real LocalClusters."""

from __future__ import annotations

import numpy as np

from acme import ParallelMap


def f(x, y, z=3):
    return (x + y) * z


def pair(x):
    return x, x * 10


def test_results_in_call_order(client):
    with ParallelMap(f, [2, 4, 6, 8], 4, write_worker_results=False) as pmap:
        assert pmap.compute() == [18, 24, 30, 36]


def test_results_on_process_cluster(process_client):
    with ParallelMap(
        f, [2, 4, 6, 8], y=4, z=[1, 2, 3, 4], write_worker_results=False
    ) as pmap:
        assert pmap.compute() == [6, 16, 30, 48]


def test_tuples_stay_tuples(client):
    with ParallelMap(pair, [1, 2], write_worker_results=False) as pmap:
        assert pmap.compute() == [(1, 10), (2, 20)]


def test_stacked_result_shape(client):
    def row(x):
        return np.full(3, x)

    with ParallelMap(
        row, [1, 2], write_worker_results=False, result_shape=(None, 3)
    ) as pmap:
        result = pmap.compute()
    np.testing.assert_array_equal(result, [[1, 1, 1], [2, 2, 2]])
    assert result.dtype == np.float64


def test_stacked_with_extra_values(client):
    def row(x):
        return np.full(2, x), x + 100, "s"

    with ParallelMap(
        row,
        [1, 2],
        write_worker_results=False,
        result_shape=(2, None),
        result_dtype="float16",
    ) as pmap:
        result = pmap.compute()
    stacked, *extras = result
    assert stacked.dtype.name == "float16"
    np.testing.assert_array_equal(stacked, [[1, 2], [1, 2]])
    assert extras == [101, "s", 102, "s"]
