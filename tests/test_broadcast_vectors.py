"""Broadcasting, pure: which arguments are vector candidates and the number of
calls (user guide, "Which values are vectors", "The number of calls").
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from signatures import (
    Scaler,
    array_default,
    calls,
    f,
    g,
    list_default,
    none_default,
    one,
    plan,
    seq_default,
)

from acme.errors import AcmeValueError, BroadcastError


def _counter():
    yield from range(3)


# -- 3.2 vector candidates -----------------------------------------------------


@pytest.mark.parametrize(
    ("value", "length"),
    [
        ([1, 2, 3], 3),
        ((1, 2, 3), 3),
        ([[1, 2], [3, 4]], 2),
        ([1], 1),
        (np.arange(3), 3),
        (np.arange(3).reshape(1, 3), 3),
        (np.arange(3).reshape(3, 1), 3),
        (np.arange(3).reshape(1, 3, 1), 3),
        (np.array(["a", "b"]), 2),
    ],
    ids=repr,
)
def test_positional_candidates(value, length):
    p = plan(f, value, 0)
    assert p.n_calls == length
    assert p.argv[0] is value


@pytest.mark.parametrize(
    "value",
    [
        5,
        2.5,
        None,
        "abc",
        b"abc",
        bytearray(b"abc"),
        {"a": 1, "b": 2, "c": 3},
        {1, 2, 3},
        frozenset({1, 2, 3}),
        np.float64(1.0),
        np.array(3.0),
        np.array([7]),
        np.ones((1, 1)),
        np.ones((2, 3)),
        np.ones((3, 3)),
        np.ones((3, 2, 1)),
        one,
        Scaler(),
    ],
    ids=lambda v: (
        type(v).__name__ + (str(v.shape) if isinstance(v, np.ndarray) else "")
    ),
)
def test_positional_shared(value):
    with pytest.raises(
        BroadcastError, match="found 0 objects containing 0 to 0 elements"
    ):
        plan(f, value, 0)
    p = plan(f, value, 0, n_inputs=3)
    assert len(p.argv[0]) == 1
    assert p.argv[0][0] is value
    assert all(c[0][0] is value for c in calls(p))


@pytest.mark.parametrize(
    "value", [5, "abc", {"a": 1, "b": 2, "c": 3}, {1, 2, 3}, np.ones((2, 3))]
)
def test_keyword_shared(value):
    with pytest.raises(
        BroadcastError, match="found 0 objects containing 0 to 0 elements"
    ):
        plan(f, 0, 0, z=value)
    p = plan(f, 0, 0, z=value, n_inputs=3)
    assert p.kwargv["z"][0] is value
    assert all(c[1]["z"] is value for c in calls(p))


def test_generator_is_shared_not_consumed():
    gen = _counter()
    p = plan(f, [1, 2, 3], gen)
    assert p.n_calls == 3
    assert all(c[0][1] is gen for c in calls(p))
    assert list(gen) == [0, 1, 2]


def test_string_of_matching_length_is_not_split():
    p = plan(f, "abc", [1, 2, 3])
    assert p.argv == [["abc"], [1, 2, 3]]
    assert calls(p) == [(["abc", 1], {}), (["abc", 2], {}), (["abc", 3], {})]


def test_dict_is_always_shared():
    d = {"a": 1, "b": 2}
    p = plan(f, [1, 2], d)
    assert p.argv[1][0] is d
    assert all(c[0][1] is d for c in calls(p))


def test_h5py_dataset_is_shared(tmp_path):
    with h5py.File(tmp_path / "data.h5", "w") as handle:
        dset = handle.create_dataset("d", data=np.arange(3))
        with pytest.raises(BroadcastError, match="found 0 objects"):
            plan(f, dset, 0)
        p = plan(f, dset, 0, n_inputs=3)
        assert all(c[0][0] is dset for c in calls(p))


@pytest.mark.parametrize(
    ("func", "value"),
    [
        # default a list/tuple of the same length: not a candidate
        (seq_default, [4, 5, 6]),
        (seq_default, (4, 5, 6)),
        (list_default, [4, 5]),
        (list_default, (4, 5)),
        # default an ndarray: never a candidate
        (array_default, np.arange(3)),
        (array_default, np.arange(5)),
        (array_default, np.arange(5).reshape(5, 1)),
        (g, np.ones(3)),
    ],
)
def test_keyword_not_candidate_because_of_default(func, value):
    kwargs = {"w" if func is g else "z": value}
    args = (0, 0) if func is g else (0,)
    with pytest.raises(
        BroadcastError, match="found 0 objects containing 0 to 0 elements"
    ):
        plan(func, *args, **kwargs)


@pytest.mark.parametrize(
    ("func", "value", "length"),
    [
        (seq_default, [4, 5], 2),  # default of another length
        (seq_default, (4, 5, 6, 7), 4),
        (list_default, [4, 5, 6], 3),
        (none_default, [4, 5, 6], 3),
        (f, [4, 5, 6], 3),  # default an int
        (seq_default, np.arange(3), 3),  # array, default a tuple
        (none_default, np.arange(4).reshape(4, 1), 4),
        (array_default, [4, 5, 6], 3),  # list, default an ndarray
    ],
)
def test_keyword_candidate_despite_default(func, value, length):
    args = (0, 0) if func is f else (0,)
    p = plan(func, *args, z=value)
    assert p.n_calls == length
    assert p.kwargv["z"] is value


def test_keyword_with_same_length_default_still_split_when_n_inputs_matches():
    p = plan(seq_default, [1, 2, 3], z=[4, 5, 6])
    assert p.n_calls == 3
    assert calls(p) == [([1], {"z": 4}), ([2], {"z": 5}), ([3], {"z": 6})]
    p = plan(seq_default, 0, z=[4, 5, 6], n_inputs=3)
    assert calls(p) == [([0], {"z": 4}), ([0], {"z": 5}), ([0], {"z": 6})]


def test_keyword_array_with_array_default_is_shared_even_with_matching_length():
    value = np.arange(3)
    p = plan(array_default, [1, 2, 3], z=value)
    assert p.kwargv["z"][0] is value
    assert all(c[1]["z"] is value for c in calls(p))


# -- 3.3 number of calls -------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "fragment"),
    [
        ((2, 3), {}, "found 0 objects containing 0 to 0 elements"),
        (([2, 4, 6, 8], [2, 2]), {}, "found 2 objects containing 2 to 4 elements"),
        (
            ([1, 2], [1, 2, 3]),
            {"z": [1, 2, 3, 4]},
            "found 3 objects containing 2 to 4 elements",
        ),
        (([2, 4, 6, 8], np.ones(3)), {}, "found 2 objects containing 3 to 4 elements"),
        ((np.ones((2, 3)), 3), {}, "found 0 objects containing 0 to 0 elements"),
        (([1], [1, 2]), {}, "found 2 objects containing 1 to 2 elements"),
    ],
)
def test_auto_distribution_failure(args, kwargs, fragment):
    with pytest.raises(BroadcastError) as info:
        plan(f, *args, **kwargs)
    message = str(info.value)
    assert f"<ParallelMap> automatic input distribution failed: {fragment}" in message
    assert "Please specify `n_inputs` manually." in message
    assert isinstance(info.value, AcmeValueError)
    assert isinstance(info.value, ValueError)


def test_auto_zips_candidates_of_equal_length():
    p = plan(f, [1, 2, 3], (4, 5, 6), z=np.array([7, 8, 9]))
    assert p.n_calls == 3
    assert calls(p) == [([1, 4], {"z": 7}), ([2, 5], {"z": 8}), ([3, 6], {"z": 9})]


@pytest.mark.parametrize(
    ("args", "kwargs", "n_inputs", "expected"),
    [
        # a candidate has length N; others are shared whole
        (
            ([2, 4, 6, 8], [2, 2]),
            {},
            2,
            [([[2, 4, 6, 8], 2], {}), ([[2, 4, 6, 8], 2], {})],
        ),
        (
            ([1, 2], [3, 4, 5]),
            {},
            3,
            [([[1, 2], 3], {}), ([[1, 2], 4], {}), ([[1, 2], 5], {})],
        ),
        # no candidate at all
        ((2, 3), {}, 4, [([2, 3], {})] * 4),
        # every candidate has length 1
        (([1], [2]), {}, 3, [([[1], [2]], {})] * 3),
        (([1], 0), {"z": (5,)}, 2, [([[1], 0], {"z": (5,)})] * 2),
        # n_inputs=1: a length-1 list is split, which means the same
        (([5], 0), {}, 1, [([5, 0], {})]),
        (([5], [6]), {}, None, [([5, 6], {})]),
    ],
)
def test_explicit_n_inputs(args, kwargs, n_inputs, expected):
    p = plan(f, *args, n_inputs=n_inputs, **kwargs)
    assert p.n_calls == len(expected)
    assert calls(p) == expected


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "n_inputs"),
    [
        (f, ([2, 4, 6, 8], [2, 2]), {}, 3),
        (f, ([1, 2, 3], 0), {}, 1),
        (f, ([1, 2], [1]), {}, 3),
        (g, ([2, 4, 6, 8], [2, 2]), {"w": np.ones((8, 1))}, 8),
        (seq_default, (0,), {"z": [1, 2]}, 3),
    ],
)
def test_explicit_n_inputs_unsatisfiable(func, args, kwargs, n_inputs):
    with pytest.raises(BroadcastError) as info:
        plan(func, *args, n_inputs=n_inputs, **kwargs)
    message = str(info.value)
    fragment = f"No object has required length of {n_inputs} matching `n_inputs`."
    assert f"<ParallelMap> {fragment}" in message
