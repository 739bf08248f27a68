"""End-to-end argument broadcasting on real LocalClusters (user guide).

The user functions return their arguments, so each test asserts exactly what
every call received. Results are gathered in memory (``write_worker_results=False``).
"""

from __future__ import annotations

import numpy as np
import pytest
from signatures import compute_in_memory, f, g, h, kw_only, passthrough, wrapped_f

from acme import ParallelMap
from acme.errors import AcmeValueError, BroadcastError

# -- user functions (module level, so process-based workers can unpickle them) ---


def echo(*args, **kwargs):
    return args, kwargs


# -- the worked examples, every row ---------------------------------------------


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
    assert compute_in_memory(func, *args, **kwargs) == expected


def test_row_array_elements_are_scalars(client):
    results = compute_in_memory(f, np.arange(3).reshape(1, 3), 10)
    assert [np.ndim(x) for x, _, _ in results] == [0, 0, 0]


def test_column_array_keyword_gives_float64_scalars(client):
    results = compute_in_memory(f, 1, 2, z=np.zeros((3, 1)))
    assert [type(z) for _, _, z in results] == [np.float64] * 3


def test_two_d_array_reaches_both_calls_whole(client):
    results = compute_in_memory(f, np.ones((2, 3)), 3, n_inputs=2)
    assert len(results) == 2
    for x, y, z in results:
        np.testing.assert_array_equal(x, np.ones((2, 3)))
        assert (y, z) == (3, 3)


def test_short_vector_shared_whole_with_n_inputs(client):
    results = compute_in_memory(f, [2, 4, 6, 8], np.ones(3), n_inputs=4)
    assert [x for x, _, _ in results] == [2, 4, 6, 8]
    for _, y, _ in results:
        assert y.shape == (3,)
        np.testing.assert_array_equal(y, np.ones(3))


def test_keyword_with_array_default_is_shared_whole(client):
    results = compute_in_memory(g, [1, 2, 3], 0, w=np.ones((3, 1)))
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
    assert compute_in_memory(echo, [1, 2], 5, k=[3, 4]) == [
        ((1, 5), {"k": 3}),
        ((2, 5), {"k": 4}),
    ]


def test_required_keyword_only_passed_by_name(client):
    assert compute_in_memory(kw_only, [1, 2], scale=10) == [(1, 10), (2, 10)]
    assert compute_in_memory(kw_only, 0, scale=[1, 2, 3]) == [(0, 1), (0, 2), (0, 3)]


def test_wrapped_function_takes_signature_of_wrapped(client):
    pmap = ParallelMap(wrapped_f, [1, 2], y=4, write_worker_results=False)
    with pmap:
        assert pmap.argv == [[1, 2], [4]]
        assert pmap.kwargv == {}
        assert pmap.compute() == [(1, 4, 3), (2, 4, 3)]
    with pytest.raises(AcmeValueError, match="got unknown keyword argument"):
        ParallelMap(wrapped_f, [1, 2], 0, w=1, write_worker_results=False)


def test_wrapped_function_with_task_id(client, tmp_path):
    record = tmp_path / "ids.txt"

    def t(x, taskID=None):  # noqa: N803
        with open(record, "a") as handle:
            handle.write(f"{x} {taskID}\n")

    with ParallelMap(passthrough(t), [5, 6], write_worker_results=False) as pmap:
        assert pmap.compute() is None
    assert sorted(record.read_text().splitlines()) == ["5 0", "6 1"]
