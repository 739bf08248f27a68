"""End-to-end argument broadcasting on real LocalClusters (API.md 2.4, 3, 4.4).

The user functions return their arguments, so each test asserts exactly what
every call received. Results are gathered in memory (``write_worker_results=False``).
"""

from __future__ import annotations

import functools
import random

import numpy as np
import pytest

from acme import ParallelMap
from acme.errors import AcmeValueError, BroadcastError

# -- user functions (module level, so process-based workers can unpickle them) ---


def f(x, y, z=3):
    return x, y, z


def g(x, y, z=3, w=np.zeros((3, 1))):  # noqa: B008  the documented signature
    return x, y, z, w


def h(x, **kw):
    return x, kw


def m(x, offset=0):
    return x, offset


def echo(*args, **kwargs):
    return args, kwargs


def kw_only(x, *, scale):
    return x, scale


def rnd(x):
    return random.random()


def tally(x, path):
    with open(path, "a") as handle:
        handle.write(f"{x}\n")
    return x


def peek(x, data, meta=None):
    return x, data, meta


def _passthrough(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


@_passthrough
def wrapped(x, y, z=3):
    return x, y, z


def run(func, *args, **kwargs):
    """``compute()`` of a map gathered in memory."""
    with ParallelMap(func, *args, write_worker_results=False, **kwargs) as pmap:
        return pmap.compute()


# -- API.md 3.6, every row -------------------------------------------------------


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "expected"),
    [
        pytest.param(
            f,
            ([2, 4, 6, 8], 4),
            {},
            [(2, 4, 3), (4, 4, 3), (6, 4, 3), (8, 4, 3)],
            id="vector-and-scalar",
        ),
        pytest.param(
            f,
            (0, 4),
            {"z": [3, 4, 5, 6]},
            [(0, 4, 3), (0, 4, 4), (0, 4, 5), (0, 4, 6)],
            id="keyword-vector",
        ),
        pytest.param(
            f,
            ([2, 4, 6, 8],),
            {"y": 4},
            [(2, 4, 3), (4, 4, 3), (6, 4, 3), (8, 4, 3)],
            id="positional-by-name",
        ),
        pytest.param(
            f,
            ([2, 4, 6, 8], [2, 2]),
            {"n_inputs": 2},
            [([2, 4, 6, 8], 2, 3), ([2, 4, 6, 8], 2, 3)],
            id="n_inputs-picks-vector",
        ),
        pytest.param(f, (2, 3), {"n_inputs": 4}, [(2, 3, 3)] * 4, id="no-vector"),
        pytest.param(
            f,
            ([[1, 2], [3, 4]], 0),
            {},
            [([1, 2], 0, 3), ([3, 4], 0, 3)],
            id="nested-list",
        ),
        pytest.param(
            f,
            (np.arange(3).reshape(1, 3), 10),
            {},
            [(0, 10, 3), (1, 10, 3), (2, 10, 3)],
            id="row-array",
        ),
        pytest.param(
            f,
            (1, 2),
            {"z": np.zeros((3, 1))},
            [(1, 2, 0.0)] * 3,
            id="column-array-keyword",
        ),
        pytest.param(
            f,
            ("abc", [1, 2, 3]),
            {},
            [("abc", 1, 3), ("abc", 2, 3), ("abc", 3, 3)],
            id="string-shared",
        ),
        pytest.param(
            f,
            (range(3), {"a": 1}),
            {},
            [(0, {"a": 1}, 3), (1, {"a": 1}, 3), (2, {"a": 1}, 3)],
            id="range-and-dict",
        ),
        pytest.param(
            h,
            ([1, 2],),
            {"extra": [5, 6]},
            [(1, {"extra": 5}), (2, {"extra": 6})],
            id="var-keyword",
        ),
    ],
)
def test_worked_example_calls(client, func, args, kwargs, expected):
    assert run(func, *args, **kwargs) == expected


def test_row_array_elements_are_scalars(client):
    results = run(f, np.arange(3).reshape(1, 3), 10)
    assert [np.ndim(x) for x, _, _ in results] == [0, 0, 0]


def test_column_array_keyword_gives_float64_scalars(client):
    results = run(f, 1, 2, z=np.zeros((3, 1)))
    assert [type(z) for _, _, z in results] == [np.float64] * 3


def test_two_d_array_reaches_both_calls_whole(client):
    results = run(f, np.ones((2, 3)), 3, n_inputs=2)
    assert len(results) == 2
    for x, y, z in results:
        np.testing.assert_array_equal(x, np.ones((2, 3)))
        assert (y, z) == (3, 3)


def test_short_vector_shared_whole_with_n_inputs(client):
    results = run(f, [2, 4, 6, 8], np.ones(3), n_inputs=4)
    assert [x for x, _, _ in results] == [2, 4, 6, 8]
    for _, y, _ in results:
        assert y.shape == (3,)
        np.testing.assert_array_equal(y, np.ones(3))


def test_keyword_with_array_default_is_shared_whole(client):
    results = run(g, [1, 2, 3], 0, w=np.ones((3, 1)))
    assert [(x, y, z) for x, y, z, _ in results] == [(1, 0, 3), (2, 0, 3), (3, 0, 3)]
    for *_, w in results:
        assert w.shape == (3, 1)
        np.testing.assert_array_equal(w, np.ones((3, 1)))


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "error", "fragment"),
    [
        pytest.param(
            f,
            ([2, 4, 6, 8], [2, 2]),
            {},
            BroadcastError,
            "found 2 objects containing 2 to 4 elements",
            id="two-lengths",
        ),
        pytest.param(
            f,
            (2, 3),
            {},
            BroadcastError,
            "found 0 objects containing 0 to 0 elements",
            id="no-vector",
        ),
        pytest.param(
            f,
            (np.ones((2, 3)), 3),
            {},
            BroadcastError,
            "automatic input distribution failed",
            id="two-d-array",
        ),
        pytest.param(
            f,
            ([2, 4, 6, 8], np.ones(3)),
            {},
            BroadcastError,
            "found 2 objects containing 3 to 4 elements",
            id="three-vs-four",
        ),
        pytest.param(
            g,
            ([2, 4, 6, 8], [2, 2]),
            {"w": np.ones((8, 1)), "n_inputs": 8},
            BroadcastError,
            "No object has required length of 8 matching",
            id="array-default-not-counted",
        ),
        pytest.param(
            f,
            (4, 4),
            {"z": 3, "w": 4},
            AcmeValueError,
            "f accepts at maximum 1 keyword arguments ('z'), found 2",
            id="too-many-keywords",
        ),
        pytest.param(
            f,
            ([1, 2], 0),
            {"w": 1},
            AcmeValueError,
            "f got unknown keyword argument(s)",
            id="unknown-keyword",
        ),
        pytest.param(
            f,
            (4,),
            {},
            AcmeValueError,
            "f expects 2 positional arguments ('x', 'y'), found 1",
            id="missing-positional",
        ),
    ],
)
def test_worked_example_errors(func, args, kwargs, error, fragment):
    with pytest.raises(error) as info:
        ParallelMap(func, *args, write_worker_results=False, **kwargs)
    assert fragment in str(info.value)
    assert "<ParallelMap>" in str(info.value)


def test_task_id_replaces_user_value(client, tmp_path):
    record = tmp_path / "calls.txt"

    def t(x, taskID=None):  # noqa: N803  ACME's parameter name
        with open(record, "a") as handle:
            handle.write(f"{x} {taskID}\n")
        return "ignored"

    pmap = ParallelMap(t, [5, 6, 7], taskID=99, write_worker_results=False)
    with pmap:
        assert pmap.kwargv == {}
        assert pmap.compute() is None
    assert sorted(record.read_text().splitlines()) == ["5 0", "6 1", "7 2"]


# -- more signatures ------------------------------------------------------------


def test_function_sees_only_its_own_arguments(client):
    assert run(echo, [1, 2], 5, k=[3, 4]) == [((1, 5), {"k": 3}), ((2, 5), {"k": 4})]


def test_required_keyword_only_passed_by_name(client):
    assert run(kw_only, [1, 2], scale=10) == [(1, 10), (2, 10)]
    assert run(kw_only, 0, scale=[1, 2, 3]) == [(0, 1), (0, 2), (0, 3)]


def test_wrapped_function_takes_signature_of_wrapped(client):
    pmap = ParallelMap(wrapped, [1, 2], y=4, write_worker_results=False)
    with pmap:
        assert pmap.argv == [[1, 2], [4]]
        assert pmap.kwargv == {}
        assert pmap.compute() == [(1, 4, 3), (2, 4, 3)]
    with pytest.raises(AcmeValueError, match="got unknown keyword argument"):
        ParallelMap(wrapped, [1, 2], 0, w=1, write_worker_results=False)


def test_wrapped_function_with_task_id(client, tmp_path):
    record = tmp_path / "ids.txt"

    def t(x, taskID=None):  # noqa: N803
        with open(record, "a") as handle:
            handle.write(f"{x} {taskID}\n")

    with ParallelMap(_passthrough(t), [5, 6], write_worker_results=False) as pmap:
        assert pmap.compute() is None
    assert sorted(record.read_text().splitlines()) == ["5 0", "6 1"]


# -- argv / kwargv (API.md 2.4, 3.4) ----------------------------------------------


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


# -- execution guarantees (API.md 4.4) --------------------------------------------


def test_identical_calls_run_exactly_once_each(process_client):
    with ParallelMap(rnd, 1, n_inputs=4, write_worker_results=False) as pmap:
        first = pmap.compute()
        second = pmap.compute()
    assert len(first) == len(second) == 4
    assert len(set(first) | set(second)) == 8


def test_every_call_runs_exactly_once(client, tmp_path):
    path = tmp_path / "tally.txt"
    assert run(tally, 1, str(path), n_inputs=5) == [1] * 5
    assert path.read_text().splitlines() == ["1"] * 5
    path.unlink()
    assert run(tally, list(range(6)), str(path)) == list(range(6))
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
