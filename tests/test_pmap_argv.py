"""End-to-end ``argv``/``kwargv`` and execution guarantees on real LocalClusters
(user guide). Results are gathered in memory.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from signatures import compute_in_memory, f, h, kw_only

from acme import ParallelMap
from acme.errors import BroadcastError

# -- user functions (module level, so process-based workers can unpickle them) ---


def m(x, offset=0):
    return x, offset


def rnd(x):
    return random.random()


def tally(x, path):
    with open(path, "a") as handle:
        handle.write(f"{x}\n")
    return x


def peek(x, data, meta=None):
    return x, data, meta


# -- argv / kwargv ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "n_inputs", "argv", "kwargv"),
    [
        (f, ([2, 4, 6, 8], 4), {}, 4, [[2, 4, 6, 8], [4]], {}),
        (f, (0, 4), {"z": [3, 4, 5, 6]}, 4, [[0], [4]], {"z": [3, 4, 5, 6]}),
        (f, ([2, 4, 6, 8],), {"y": 4}, 4, [[2, 4, 6, 8], [4]], {}),
        (f, ([2, 4, 6, 8], [2, 2]), {"n_inputs": 2}, 2, [[[2, 4, 6, 8]], [2, 2]], {}),
        (f, (2, 3), {"n_inputs": 4}, 4, [[2], [3]], {}),
        (f, ("abc", [1, 2, 3]), {}, 3, [["abc"], [1, 2, 3]], {}),
        (f, (range(3), {"a": 1}), {}, 3, [[0, 1, 2], [{"a": 1}]], {}),
        (f, ([1, 2], 0), {"z": 5}, 2, [[1, 2], [0]], {"z": [5]}),
        (h, ([1, 2],), {"extra": [5, 6]}, 2, [[1, 2]], {"extra": [5, 6]}),
        (kw_only, ([1, 2],), {"scale": 3}, 2, [[1, 2]], {"scale": [3]}),
    ],
)
def test_argv_kwargv_forms(client, func, args, kwargs, n_inputs, argv, kwargv):
    pmap = ParallelMap(func, *args, write_worker_results=False, **kwargs)
    with pmap as daemon:
        assert pmap.n_inputs == n_inputs
        assert type(pmap.n_inputs) is int
        assert pmap.argv == argv
        assert pmap.kwargv == kwargv
        assert type(pmap.argv) is list
        assert type(pmap.kwargv) is dict
        assert daemon.config.argv is pmap.argv
        assert daemon.config.kwargv is pmap.kwargv
        assert daemon.config.n_calls == n_inputs
        assert len(pmap.compute()) == n_inputs


def test_argv_holds_the_users_objects(client):
    xs, shared = [1, 2, 3], np.arange(6).reshape(2, 3)
    row = np.arange(3).reshape(1, 3)
    pmap = ParallelMap(f, xs, shared, z=row, write_worker_results=False)
    with pmap:
        assert pmap.argv[0] is xs
        assert pmap.argv[1][0] is shared
        assert pmap.kwargv["z"] is row
        pmap.compute()


def test_kwargv_holds_only_user_keywords(client):
    pmap = ParallelMap(m, [1, 2], offset=3, write_worker_results=False)
    with pmap:
        pmap.compute()
        assert pmap.kwargv == {"offset": [3]}


def test_kwargv_edit_shares_one_value(client):
    pmap = ParallelMap(f, 0, 4, z=[3, 4, 5, 6], write_worker_results=False)
    with pmap:
        pmap.kwargv["z"] = [[3, 4, 5, 6]]
        assert pmap.compute() == [(0, 4, [3, 4, 5, 6])] * 4
        pmap.kwargv["z"] = [7]
        assert pmap.compute() == [(0, 4, 7)] * 4


def test_kwargv_edit_adds_keyword(client):
    pmap = ParallelMap(f, [1, 2], 0, write_worker_results=False)
    with pmap:
        pmap.kwargv["z"] = [10]
        assert pmap.compute() == [(1, 0, 10), (2, 0, 10)]


def test_argv_edit_shares_positional_list(client):
    pmap = ParallelMap(f, [2, 4, 6, 8], [1, 2, 3, 4], write_worker_results=False)
    with pmap:
        pmap.argv[0] = [[2, 4, 6, 8]]
        assert pmap.compute() == [([2, 4, 6, 8], y, 3) for y in (1, 2, 3, 4)]


def test_edited_entry_of_bad_length_raises(client):
    pmap = ParallelMap(m, [1, 2, 3, 4], offset=0, write_worker_results=False)
    with pmap:
        pmap.kwargv["offset"] = [1, 2]
        with pytest.raises(BroadcastError) as info:
            pmap.compute()
        assert "offset" in str(info.value)
        assert pmap.kwargv == {"offset": [1, 2]}
        pmap.kwargv["offset"] = [5]
        assert pmap.compute() == [(1, 5), (2, 5), (3, 5), (4, 5)]


def test_compute_does_not_modify_tables(client):
    xs, data = [1, 2, 3], np.arange(8.0).reshape(2, 4)
    pmap = ParallelMap(peek, xs, data, meta={"k": [1, 2]}, write_worker_results=False)
    with pmap:
        argv, kwargv = pmap.argv, pmap.kwargv
        entries = list(argv)
        shallow = [list(entry) for entry in argv]
        keyword_entries = dict(kwargv)
        first = pmap.compute()
        second = pmap.compute()
        assert pmap.argv is argv
        assert pmap.kwargv is kwargv
        assert all(a is b for a, b in zip(argv, entries, strict=True))
        assert len(argv) == len(shallow)
        for entry, before in zip(argv, shallow, strict=True):
            assert all(a is b for a, b in zip(entry, before, strict=True))
        assert kwargv.keys() == keyword_entries.keys()
        assert kwargv["meta"] is keyword_entries["meta"]
        assert kwargv["meta"] == [{"k": [1, 2]}]
    assert xs == [1, 2, 3]
    np.testing.assert_array_equal(data, np.arange(8.0).reshape(2, 4))
    assert [(x, meta) for x, _, meta in first] == [(i, {"k": [1, 2]}) for i in xs]
    assert [(x, meta) for x, _, meta in second] == [(x, meta) for x, _, meta in first]


# -- execution guarantees --------------------------------------------------------


def test_identical_calls_run_exactly_once_each(process_client):
    with ParallelMap(rnd, 1, n_inputs=4, write_worker_results=False) as pmap:
        first = pmap.compute()
        second = pmap.compute()
    assert len(first) == len(second) == 4
    assert len(set(first) | set(second)) == 8


def test_every_call_runs_exactly_once(client, tmp_path):
    path = tmp_path / "tally.txt"
    assert compute_in_memory(tally, 1, str(path), n_inputs=5) == [1] * 5
    assert path.read_text().splitlines() == ["1"] * 5
    path.unlink()
    assert compute_in_memory(tally, list(range(6)), str(path)) == list(range(6))
    assert sorted(path.read_text().splitlines()) == [str(i) for i in range(6)]


def test_shared_objects_reach_every_call_unchanged(process_client):
    data = np.random.default_rng(7).random((1000, 500))
    original = data.copy()
    meta = {"name": "abc", "values": [1, 2, 3], "nested": {"a": (1, 2)}}
    with ParallelMap(
        peek, [0, 1, 2, 3], data, meta=meta, write_worker_results=False
    ) as pmap:
        results = pmap.compute()
    assert [x for x, _, _ in results] == [0, 1, 2, 3]
    for _, received, received_meta in results:
        assert received.dtype == data.dtype
        np.testing.assert_array_equal(received, original)
        assert received_meta == meta
    np.testing.assert_array_equal(data, original)
