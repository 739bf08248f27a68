"""Broadcasting, pure: the per-call tables ``argv``/``kwargv`` (user guide) and
:func:`call_arguments`, which reads them back as ``compute()`` does.
"""

from __future__ import annotations

import numpy as np
import pytest
from signatures import (
    calls,
    f,
    g,
    plan,
)

from acme.broadcast import call_arguments
from acme.errors import BroadcastError

# -- 3.4 per-call tables -------------------------------------------------------


def test_split_entries_are_the_values_themselves():
    xs, ys, zs = [1, 2], (3, 4), np.array([5, 6])
    p = plan(f, xs, ys, z=zs)
    assert p.argv[0] is xs
    assert p.argv[1] is ys
    assert p.kwargv["z"] is zs


def test_shared_entries_are_one_element_lists():
    big = list(range(5))
    p = plan(f, [1, 2], big, z="s", n_inputs=2)
    assert type(p.argv[1]) is list
    assert len(p.argv[1]) == 1
    assert p.argv[1][0] is big
    assert p.kwargv == {"z": ["s"]}


@pytest.mark.parametrize(
    ("shape", "n_inputs"),
    [((4,), None), ((1, 4), None), ((4, 1), None), ((1, 4, 1), None), ((4, 1), 4)],
)
def test_vector_array_split_along_long_axis(shape, n_inputs):
    value = np.arange(4, dtype=np.float64).reshape(shape)
    p = plan(f, value, 10, n_inputs=n_inputs)
    assert p.n_calls == 4
    assert p.argv[0] is value
    received = [c[0][0] for c in calls(p)]
    assert received == [0.0, 1.0, 2.0, 3.0]
    assert all(np.ndim(r) == 0 for r in received)


def test_column_array_keyword_split_into_scalars():
    p = plan(f, 1, 2, z=np.zeros((3, 1)))
    assert p.n_calls == 3
    received = [c[1]["z"] for c in calls(p)]
    assert all(type(r) is np.float64 and r == 0.0 for r in received)


@pytest.mark.parametrize(
    "value",
    [np.array(3.0), np.array([7]), np.ones((1, 1)), np.ones((2, 3)), np.ones(3)],
    ids=lambda v: str(v.shape),
)
def test_non_vector_array_shared_whole(value):
    p = plan(f, [1, 2, 3, 4], value, n_inputs=4)
    assert p.argv[1][0] is value
    assert all(c[0][1] is value for c in calls(p))


def test_array_default_keyword_shared_whole():
    w = np.ones((3, 1))
    p = plan(g, [1, 2, 3], 0, w=w)
    assert p.n_calls == 3
    assert p.kwargv["w"][0] is w
    assert calls(p) == [([1, 0], {"w": w}), ([2, 0], {"w": w}), ([3, 0], {"w": w})]
    assert all(c[1]["w"] is w for c in calls(p))


def test_nested_lists_split_on_outer_axis():
    p = plan(f, [[1, 2], [3, 4]], 0)
    assert calls(p) == [([[1, 2], 0], {}), ([[3, 4], 0], {})]


# -- call_arguments: the tables as compute() reads them ------------------------


@pytest.mark.parametrize(
    ("argv", "kwargv", "n_inputs", "expected"),
    [
        ([[1, 2], [10]], {"z": [5]}, 2, [([1, 10], {"z": 5}), ([2, 10], {"z": 5})]),
        ([(1, 2), [[3, 4]]], {}, 2, [([1, [3, 4]], {}), ([2, [3, 4]], {})]),
        (
            [[1, 2, 3]],
            {"z": [[4, 5, 6]]},
            3,
            [([i], {"z": [4, 5, 6]}) for i in (1, 2, 3)],
        ),
        ([[7]], {"z": [8]}, 1, [([7], {"z": 8})]),
        ([[[7]]], {}, 1, [([[7]], {})]),
        ([np.arange(3)], {}, 3, [([i], {}) for i in range(3)]),
        ([np.arange(3).reshape(3, 1)], {}, 3, [([i], {}) for i in range(3)]),
        ([np.array([4])], {}, 3, [([4], {})] * 3),
        ([], {"z": (1, 2)}, 2, [([], {"z": 1}), ([], {"z": 2})]),
    ],
)
def test_call_arguments(argv, kwargv, n_inputs, expected):
    call_args = call_arguments(argv, kwargv, n_inputs)
    got = [call_args.for_call(i, call_args.shared) for i in range(n_inputs)]
    assert [(list(a), dict(k)) for a, k in got] == expected


@pytest.mark.parametrize(
    ("argv", "kwargv", "n_inputs", "name"),
    [
        ([[1, 2], [1, 2, 3]], {}, 2, "argv[1]"),
        ([[1, 2]], {"offset": [1, 2, 3]}, 2, "offset"),
        ([[1, 2]], {"offset": []}, 2, "offset"),
        ([[1, 2, 3]], {"offset": 5}, 3, "offset"),
        ([[1, 2, 3]], {"offset": np.ones((2, 3))}, 3, "offset"),
        ([[]], {}, 2, "argv[0]"),
    ],
)
def test_call_arguments_bad_length_names_entry(argv, kwargv, n_inputs, name):
    with pytest.raises(BroadcastError) as info:
        call_arguments(argv, kwargv, n_inputs)
    assert name in str(info.value)


def test_call_arguments_does_not_modify_tables():
    arr = np.arange(3)
    inner = [4, 5, 6]
    argv = [[1, 2, 3], [inner], arr]
    kwargv = {"z": ["s"]}
    before = (list(argv), dict(kwargv))
    call_args = call_arguments(argv, kwargv, 3)
    for i in range(3):
        call_args.for_call(i, call_args.shared)
    assert all(a is b for a, b in zip(argv, before[0], strict=True))
    assert argv[:2] == [[1, 2, 3], [[4, 5, 6]]]
    assert argv[1][0] is inner
    assert kwargv == before[1]
    assert kwargv["z"] is before[1]["z"]
    assert inner == [4, 5, 6]
    np.testing.assert_array_equal(arr, [0, 1, 2])


def test_shared_values_listed_once_and_passed_by_identity():
    big = np.zeros((100, 100))
    call_args = call_arguments([[1, 2, 3], [big]], {"d": [{"k": 1}]}, 3)
    assert len(call_args.shared) == 2
    assert call_args.shared[0] is big
    for i in range(3):
        args, kwargs = call_args.for_call(i, call_args.shared)
        assert args[1] is big
        assert kwargs["d"] is call_args.shared[1]


def test_for_call_uses_resolved_shared_values():
    call_args = call_arguments([[1, 2], ["local"]], {}, 2)
    assert call_args.for_call(1, ["remote"]) == ([2, "remote"], {})
