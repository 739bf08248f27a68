"""Broadcasting, pure: the worked examples (user guide, "Worked examples")."""

from __future__ import annotations

import numpy as np
import pytest
from signatures import (
    calls,
    f,
    g,
    h,
    plan,
    t,
)

from acme.errors import AcmeValueError, BroadcastError

# -- worked examples, pure ------------------------------------------------------


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "n_inputs", "expected"),
    [
        (f, ([2, 4, 6, 8], 4), {}, None, [([x, 4], {}) for x in (2, 4, 6, 8)]),
        (
            f,
            (0, 4),
            {"z": [3, 4, 5, 6]},
            None,
            [([0, 4], {"z": z}) for z in (3, 4, 5, 6)],
        ),
        (f, ([2, 4, 6, 8],), {"y": 4}, None, [([x, 4], {}) for x in (2, 4, 6, 8)]),
        (f, ([2, 4, 6, 8], [2, 2]), {}, 2, [([[2, 4, 6, 8], 2], {})] * 2),
        (f, (2, 3), {}, 4, [([2, 3], {})] * 4),
        (f, ([[1, 2], [3, 4]], 0), {}, None, [([[1, 2], 0], {}), ([[3, 4], 0], {})]),
        (
            f,
            (np.arange(3).reshape(1, 3), 10),
            {},
            None,
            [([i, 10], {}) for i in range(3)],
        ),
        (f, (1, 2), {"z": np.zeros((3, 1))}, None, [([1, 2], {"z": 0.0})] * 3),
        (f, ("abc", [1, 2, 3]), {}, None, [(["abc", i], {}) for i in (1, 2, 3)]),
        (f, (range(3), {"a": 1}), {}, None, [([i, {"a": 1}], {}) for i in range(3)]),
        (
            h,
            ([1, 2],),
            {"extra": [5, 6]},
            None,
            [([1], {"extra": 5}), ([2], {"extra": 6})],
        ),
        (t, ([5, 6, 7],), {"taskID": 99}, None, [([x], {}) for x in (5, 6, 7)]),
    ],
)
def test_worked_examples(func, args, kwargs, n_inputs, expected):
    p = plan(func, *args, n_inputs=n_inputs, **kwargs)
    assert p.n_calls == len(expected)
    assert calls(p) == expected


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "n_inputs", "error", "fragment"),
    [
        (
            f,
            ([2, 4, 6, 8], [2, 2]),
            {},
            None,
            BroadcastError,
            "found 2 objects containing 2 to 4 elements",
        ),
        (
            f,
            (2, 3),
            {},
            None,
            BroadcastError,
            "found 0 objects containing 0 to 0 elements",
        ),
        (
            f,
            (np.ones((2, 3)), 3),
            {},
            None,
            BroadcastError,
            "automatic input distribution failed",
        ),
        (
            f,
            ([2, 4, 6, 8], np.ones(3)),
            {},
            None,
            BroadcastError,
            "automatic input distribution failed",
        ),
        (
            g,
            ([2, 4, 6, 8], [2, 2]),
            {"w": np.ones((8, 1))},
            8,
            BroadcastError,
            "No object has required length of 8 matching",
        ),
        (
            f,
            (4, 4),
            {"z": 3, "w": 4},
            None,
            AcmeValueError,
            "f accepts at maximum 1 keyword arguments ('z'), found 2",
        ),
        (
            f,
            ([1, 2], 0),
            {"w": 1},
            None,
            AcmeValueError,
            "f got unknown keyword argument(s)",
        ),
        (
            f,
            (4,),
            {},
            None,
            AcmeValueError,
            "f expects 2 positional arguments ('x', 'y'), found 1",
        ),
    ],
)
def test_worked_example_errors(func, args, kwargs, n_inputs, error, fragment):
    with pytest.raises(error) as info:
        plan(func, *args, n_inputs=n_inputs, **kwargs)
    assert fragment in str(info.value)


def test_worked_examples_with_n_inputs_share_whole_arrays():
    two_d = np.ones((2, 3))
    p = plan(f, two_d, 3, n_inputs=2)
    assert all(c[0][0] is two_d for c in calls(p))
    vec = np.ones(3)
    p = plan(f, [2, 4, 6, 8], vec, n_inputs=4)
    assert [c[0][0] for c in calls(p)] == [2, 4, 6, 8]
    assert all(c[0][1] is vec for c in calls(p))
