"""Broadcasting, pure: the roles of ``func``'s parameters and how positional
slots are filled (user guide, "Roles of func's parameters").
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from signatures import (
    Scaler,
    calls,
    f,
    g,
    h,
    kw_only,
    kw_only_default,
    none_default,
    one,
    only_star,
    plan,
    pos_only,
    seq_default,
    star,
    t,
    task_kw_only,
    task_pos_only,
    task_required,
    wrapped_f,
    wrapped_t,
)

from acme.broadcast import func_name, inspect_func
from acme.errors import AcmeValueError, BroadcastError

# -- 3.1 roles of the parameters -----------------------------------------------


@pytest.mark.parametrize(
    ("func", "positional", "keywords", "required", "var_pos", "var_kw", "task_id"),
    [
        (f, ("x", "y"), {"z": 3}, (), False, False, False),
        (h, ("x",), {}, (), False, True, False),
        (t, ("x",), {}, (), False, False, True),
        (one, ("x",), {}, (), False, False, False),
        (star, ("x",), {}, (), True, False, False),
        (only_star, (), {}, (), True, True, False),
        (kw_only, ("x",), {}, ("scale",), False, False, False),
        (kw_only_default, ("x",), {"scale": 2}, (), False, False, False),
        (pos_only, ("a", "b"), {"c": 1}, (), False, False, False),
        (seq_default, ("x",), {"z": (1, 2, 3)}, (), False, False, False),
        (none_default, ("x",), {"z": None}, (), False, False, False),
        (task_required, ("x",), {}, (), False, False, True),
        (task_kw_only, ("x",), {}, (), False, False, True),
        (task_pos_only, ("taskID",), {}, (), False, False, False),
        (wrapped_f, ("x", "y"), {"z": 3}, (), False, False, False),
        (wrapped_t, ("x",), {}, (), False, False, True),
        (functools.partial(f, 1), ("y",), {"z": 3}, (), False, False, False),
        (Scaler(), ("x",), {"factor": 2}, (), False, False, False),
    ],
    ids=lambda v: getattr(v, "__name__", None) if callable(v) else None,
)
def test_inspect_func_roles(
    func, positional, keywords, required, var_pos, var_kw, task_id
):
    spec = inspect_func(func)
    assert spec.positional == positional
    assert dict(spec.keywords) == keywords
    assert spec.required_keywords == required
    assert spec.var_positional is var_pos
    assert spec.var_keyword is var_kw
    assert spec.has_task_id is task_id


def test_inspect_func_keeps_default_objects():
    spec = inspect_func(g)
    assert spec.keywords["w"] is g.__defaults__[1]


@pytest.mark.parametrize(
    ("func", "name"),
    [
        (f, "f"),
        (wrapped_f, "f"),
        (functools.partial(f, 1), "f"),
        (functools.partial(functools.partial(f, 1), 2), "f"),
        (Scaler(), "Scaler"),
    ],
)
def test_func_name(func, name):
    assert func_name(func) == name
    assert inspect_func(func).name == name


def test_wrapped_function_takes_signature_of_wrapped():
    # With the wrapper's own (*args, **kwargs) signature y would stay a keyword.
    p = plan(wrapped_f, [1, 2], y=4)
    assert p.argv == [[1, 2], [4]]
    assert p.kwargv == {}
    with pytest.raises(AcmeValueError, match="f got unknown keyword argument"):
        plan(wrapped_f, [1, 2], 0, w=1)
    with pytest.raises(AcmeValueError, match="expects 2 positional arguments"):
        plan(wrapped_f, [1, 2])


# -- 3.1 parsing steps ---------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "argv"),
    [
        ((range(3), 0), {}, [[0, 1, 2], [0]]),
        ((range(3),), {"y": 0}, [[0, 1, 2], [0]]),
        ((range(1, 4),), {"y": range(3)}, [[1, 2, 3], [0, 1, 2]]),
        ((0,), {"y": range(2)}, [[0], [0, 1]]),
    ],
)
def test_range_becomes_list(args, kwargs, argv):
    p = plan(f, *args, **kwargs)
    assert p.argv == argv
    assert all(type(entry) is list for entry in p.argv)


def test_range_keyword_becomes_list():
    p = plan(f, [1, 2, 3], 0, z=range(3))
    assert p.kwargv == {"z": [0, 1, 2]}
    assert type(p.kwargv["z"]) is list
    assert calls(p)[2] == ([3, 0], {"z": 2})


def test_range_of_other_length_is_shared_as_list():
    p = plan(f, [1, 2, 3], range(2), n_inputs=3)
    assert p.argv[1] == [[0, 1]]
    assert type(p.argv[1][0]) is list
    assert [c[0][1] for c in calls(p)] == [[0, 1]] * 3


@pytest.mark.parametrize(
    ("args", "kwargs", "argv", "kwargv"),
    [
        (([2, 4, 6, 8],), {"y": 4}, [[2, 4, 6, 8], [4]], {}),
        (([2, 4],), {"x": 0}, [[0], [2, 4]], {}),
        ((), {"x": [1, 2], "y": 0}, [[1, 2], [0]], {}),
        ((), {"y": 0, "x": [1, 2], "z": 5}, [[1, 2], [0]], {"z": [5]}),
        (([1, 2],), {"y": 0, "z": [7, 8]}, [[1, 2], [0]], {"z": [7, 8]}),
    ],
)
def test_keyword_fills_positional_slot(args, kwargs, argv, kwargv):
    p = plan(f, *args, **kwargs)
    assert p.argv == argv
    assert p.kwargv == kwargv


def test_positional_only_parameter_given_by_name_fills_its_slot():
    p = plan(pos_only, 0, a=[1, 2])
    assert p.argv == [[1, 2], [0]]
    assert p.kwargv == {}
    assert calls(p) == [([1, 0], {}), ([2, 0], {})]


def test_keyword_only_with_default_is_an_optional_keyword():
    p = plan(kw_only_default, 0, scale=[1, 2, 3])
    assert p.n_calls == 3
    assert calls(p) == [([0], {"scale": s}) for s in (1, 2, 3)]
    assert plan(kw_only_default, [1, 2]).kwargv == {}


def test_keyword_slot_then_unnamed_left_to_right():
    def three(a, b, c):
        return a, b, c

    p = plan(three, 1, [2, 3], b=0)
    assert p.argv == [[1], [0], [2, 3]]
    assert calls(p) == [([1, 0, 2], {}), ([1, 0, 3], {})]


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "fragment"),
    [
        (
            f,
            (4,),
            {},
            "<ParallelMap> f expects 2 positional arguments ('x', 'y'), found 1",
        ),
        (
            f,
            (),
            {},
            "<ParallelMap> f expects 2 positional arguments ('x', 'y'), found 0",
        ),
        (
            f,
            (1, 2, 3),
            {},
            "<ParallelMap> f expects 2 positional arguments ('x', 'y'), found 3",
        ),
        (
            f,
            (1, 2),
            {"y": 3},
            "<ParallelMap> f expects 2 positional arguments ('x', 'y'), found 3",
        ),
        (
            f,
            (),
            {"y": 3},
            "<ParallelMap> f expects 2 positional arguments ('x', 'y'), found 1",
        ),
        (
            one,
            (1, 2),
            {},
            "<ParallelMap> one expects 1 positional arguments ('x'), found 2",
        ),
        (
            star,
            (),
            {},
            "<ParallelMap> star expects 1 positional arguments ('x'), found 0",
        ),
        (
            kw_only,
            (),
            {"scale": 1},
            "<ParallelMap> kw_only expects 1 positional arguments",
        ),
        (
            pos_only,
            (1,),
            {},
            "<ParallelMap> pos_only expects 2 positional arguments ('a', 'b')",
        ),
        (
            t,
            (),
            {"taskID": 1},
            "<ParallelMap> t expects 1 positional arguments ('x'), found 0",
        ),
        (
            t,
            ([5, 6, 7], 99),
            {},
            "<ParallelMap> t expects 1 positional arguments ('x'), found 2",
        ),
        (
            functools.partial(f, 1),
            (),
            {},
            "<ParallelMap> f expects 1 positional arguments ('y'), found 0",
        ),
        (
            Scaler(),
            (),
            {},
            "<ParallelMap> Scaler expects 1 positional arguments ('x'), found 0",
        ),
    ],
)
def test_positional_count_error(func, args, kwargs, fragment):
    with pytest.raises(AcmeValueError) as info:
        plan(func, *args, **kwargs)
    assert fragment in str(info.value)
    assert not isinstance(info.value, BroadcastError)


@pytest.mark.parametrize(
    ("args", "n_inputs", "argv"),
    [
        ((1,), 1, [[1]]),
        ((1,), 3, [[1]]),
        (([1, 2], 5), None, [[1, 2], [5]]),
        (([1, 2], 5, [7, 8], "s"), None, [[1, 2], [5], [7, 8], ["s"]]),
    ],
)
def test_var_positional_takes_extra_positionals(args, n_inputs, argv):
    p = plan(star, *args, n_inputs=n_inputs)
    assert p.argv == argv


def test_var_positional_items_are_handled_like_positionals():
    p = plan(star, [1, 2], 5, [7, 8])
    assert p.n_calls == 2
    assert calls(p) == [([1, 5, 7], {}), ([2, 5, 8], {})]
    with pytest.raises(
        BroadcastError, match="found 2 objects containing 2 to 3 elements"
    ):
        plan(star, [1, 2], 5, [7, 8, 9])


def test_var_positional_and_var_keyword_only():
    p = plan(only_star, [1, 2], 5, k=[3, 4], s="ab")
    assert p.n_calls == 2
    assert calls(p) == [([1, 5], {"k": 3, "s": "ab"}), ([2, 5], {"k": 4, "s": "ab"})]


@pytest.mark.parametrize(
    ("kwargs", "n_inputs", "expected"),
    [
        ({"extra": [5, 6]}, 2, [([1], {"extra": 5}), ([2], {"extra": 6})]),
        (
            {"extra": (5, 6), "other": 0},
            2,
            [([1], {"extra": 5, "other": 0}), ([2], {"extra": 6, "other": 0})],
        ),
        ({"extra": np.array([5, 6])}, 2, [([1], {"extra": 5}), ([2], {"extra": 6})]),
    ],
)
def test_var_keyword_accepts_unknown_names(kwargs, n_inputs, expected):
    p = plan(h, [1, 2], **kwargs)
    assert p.n_calls == n_inputs
    assert calls(p) == expected


def test_var_keyword_values_have_no_default():
    # Unmatched keywords have "no default": a list counts when inferring n_inputs.
    p = plan(h, 0, extra=[5, 6, 7])
    assert p.n_calls == 3
    assert p.argv == [[0]]
    assert p.kwargv == {"extra": [5, 6, 7]}
