"""Pure tests of ``acme.broadcast``: API.md sections 3.1-3.4 and 1.4 (``sizeOf``).

``calls(plan)`` expands a :class:`CallPlan` into what each call receives, through
:func:`call_arguments`, exactly as ``compute()`` does, so every rule is checked on
the arguments the user function would get.
"""

from __future__ import annotations

import functools
import logging
import sys

import h5py
import numpy as np
import pytest

from acme.broadcast import call_arguments, func_name, inspect_func, plan_calls, size_of
from acme.errors import AcmeError, AcmeValueError, BroadcastError

# -- user functions (the signatures of API.md section 3.6) ---------------------


def f(x, y, z=3):
    return x, y, z


def g(x, y, z=3, w=np.zeros((3, 1))):  # noqa: B008  the documented signature
    return x, y, z, w


def h(x, **kw):
    return x, kw


def t(x, taskID=None):  # noqa: N803  ACME's parameter name
    return x, taskID


def one(x):
    return x


def star(x, *rest):
    return x, rest


def only_star(*items, **named):
    return items, named


def kw_only(x, *, scale):
    return x, scale


def kw_only_default(x, *, scale=2):
    return x, scale


def pos_only(a, b, /, c=1):
    return a, b, c


def seq_default(x, z=(1, 2, 3)):
    return x, z


def list_default(x, z=[1, 2]):  # noqa: B006  the default under test
    return x, z


def array_default(x, z=np.arange(3)):  # noqa: B008  the default under test
    return x, z


def none_default(x, z=None):
    return x, z


def task_required(x, taskID):  # noqa: N803
    return x, taskID


def task_kw_only(x, *, taskID):  # noqa: N803
    return x, taskID


def task_pos_only(taskID, /):  # noqa: N803
    return taskID


def task_var_kw(x, **kw):
    return x, kw


def _passthrough(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


wrapped_f = _passthrough(f)
wrapped_t = _passthrough(t)


class Scaler:
    def __call__(self, x, factor=2):
        return x * factor


# -- helpers -------------------------------------------------------------------


def plan(func, *args, n_inputs=None, **kwargs):
    return plan_calls(func, args, kwargs, n_inputs)


def calls(the_plan):
    """What each call receives: ``[(args, kwargs), ...]``."""
    call_args = call_arguments(the_plan.argv, the_plan.kwargv, the_plan.n_calls)
    return [
        (list(args), dict(kwargs))
        for args, kwargs in (
            call_args.for_call(i, call_args.shared) for i in range(the_plan.n_calls)
        )
    ]


def _counter():
    yield from range(3)


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


def test_task_id_keyword_without_task_id_parameter_is_a_plain_keyword():
    p = plan(task_var_kw, [1, 2], taskID=[7, 8])
    assert p.kwargv == {"taskID": [7, 8]}
    assert calls(p) == [([1], {"taskID": 7}), ([2], {"taskID": 8})]


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "fragments"),
    [
        (
            f,
            (4, 4),
            {"z": 3, "w": 4},
            [
                "<ParallelMap> f accepts at maximum 1 keyword arguments ('z'), found 2",
                "'w'",
            ],
        ),
        (
            f,
            ([1, 2], 0),
            {"w": 1},
            ["<ParallelMap> f got unknown keyword argument(s)", "'w'", "'z'"],
        ),
        (
            f,
            ([1, 2], 0),
            {"zz": 1},
            ["<ParallelMap> f got unknown keyword argument(s)", "'zz'", "'z'"],
        ),
        (
            one,
            ([1, 2],),
            {"z": 1},
            [
                "<ParallelMap> one accepts at maximum 0 keyword arguments",
                "found 1",
                "'z'",
            ],
        ),
        (
            g,
            ([1, 2], 0),
            {"z": 1, "q": 2},
            ["<ParallelMap> g got unknown keyword argument(s)", "'q'", "'z'", "'w'"],
        ),
        (
            g,
            ([1, 2], 0),
            {"a": 1, "b": 2, "c": 3},
            [
                "<ParallelMap> g accepts at maximum 2 keyword arguments ('z', 'w'), "
                "found 3"
            ],
        ),
        (
            kw_only,
            ([1, 2],),
            {"scale": 1, "other": 2},
            [
                "<ParallelMap> kw_only accepts at maximum 1 keyword arguments "
                "('scale'), found 2"
            ],
        ),
        (
            t,
            ([1, 2],),
            {"y": 1},
            ["<ParallelMap> t ", "'y'"],
        ),
    ],
)
def test_keyword_name_errors(func, args, kwargs, fragments):
    with pytest.raises(AcmeValueError) as info:
        plan(func, *args, **kwargs)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_unknown_keyword_is_a_value_error_not_key_error():
    with pytest.raises(ValueError) as info:
        plan(f, [1, 2], 0, w=1)
    assert not isinstance(info.value, KeyError)
    assert isinstance(info.value, AcmeError)


def two_required(x, *, scale, shift):
    return x, scale, shift


@pytest.mark.parametrize(
    ("func", "kwargs", "missing"),
    [
        (kw_only, {}, ["'scale'"]),
        (kw_only, {"scale": None}, []),
        (two_required, {}, ["'scale'", "'shift'"]),
        (two_required, {"shift": 1}, ["'scale'"]),
        (two_required, {"scale": 1, "shift": 1}, []),
    ],
)
def test_missing_required_keyword(func, kwargs, missing):
    if not missing:
        assert plan(func, [1, 2], **kwargs).n_calls == 2
        return
    with pytest.raises(AcmeValueError) as info:
        plan(func, [1, 2], **kwargs)
    message = str(info.value)
    assert (
        f"<ParallelMap> {func.__name__} is missing required keyword argument(s)"
        in message
    )
    for name in missing:
        assert name in message
    assert ("'shift'" in message) is ("'shift'" in missing)


def test_keyword_only_task_id_is_never_required():
    assert plan(task_kw_only, [1, 2]).n_calls == 2


def test_required_keyword_is_passed_by_name():
    p = plan(kw_only, [1, 2], scale=10)
    assert p.argv == [[1, 2]]
    assert p.kwargv == {"scale": [10]}
    assert calls(p) == [([1], {"scale": 10}), ([2], {"scale": 10})]


def test_required_keyword_is_a_vector_candidate():
    p = plan(kw_only, 0, scale=[1, 2, 3])
    assert p.n_calls == 3
    assert calls(p)[1] == ([0], {"scale": 2})


@pytest.mark.parametrize("func", [t, task_required, task_kw_only, wrapped_t])
@pytest.mark.parametrize("user_value", [None, 99, [1, 2], [1, 2, 3, 4]])
def test_task_id_value_of_user_is_dropped(func, user_value):
    kwargs = {} if user_value is None else {"taskID": user_value}
    p = plan(func, [5, 6, 7], **kwargs)
    assert p.n_calls == 3
    assert p.argv == [[5, 6, 7]]
    assert p.kwargv == {}
    assert calls(p) == [([5], {}), ([6], {}), ([7], {})]


def test_dropping_task_id_is_logged_at_debug(caplog):
    with caplog.at_level(logging.DEBUG, logger="ACME"):
        plan(t, [5, 6, 7], taskID=99)
    records = [r for r in caplog.records if r.name.startswith("ACME")]
    assert any(
        r.levelno == logging.DEBUG and "taskID" in r.getMessage() for r in records
    )


def test_positional_only_task_id_is_an_ordinary_positional():
    p = plan(task_pos_only, [1, 2])
    assert calls(p) == [([1], {}), ([2], {})]


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


# -- worked examples (API.md 3.6), pure ----------------------------------------


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


# -- size_of (API.md 1.4 sizeOf) -----------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [b"x" * 2_000_000, "abc", 12345, 1.5, np.zeros(1000), None],
    ids=lambda o: type(o).__name__,
)
def test_size_of_leaf_in_megabytes(obj):
    assert size_of(obj) == pytest.approx(sys.getsizeof(obj) / 1e6)


def test_size_of_large_bytes_over_two_mb():
    assert 2.0 < size_of(b"x" * 2_000_000) < 2.001


def test_size_of_follows_containers():
    a, b = b"a" * 1000, b"b" * 2000
    items = [a, (b, 3.5)]
    expected = sum(sys.getsizeof(o) for o in (items, a, items[1], b, 3.5))
    assert size_of(items) == pytest.approx(expected / 1e6)


def test_size_of_follows_dict_keys_and_values():
    key, value = "k" * 500, b"v" * 3000
    d = {key: value}
    expected = sys.getsizeof(d) + sys.getsizeof(key) + sys.getsizeof(value)
    assert size_of(d) == pytest.approx(expected / 1e6)


def test_size_of_follows_set_items():
    s = {"x" * 100, "y" * 200}
    expected = sys.getsizeof(s) + sum(sys.getsizeof(o) for o in s)
    assert size_of(s) == pytest.approx(expected / 1e6)


def test_size_of_counts_each_object_once():
    blob = b"z" * 100_000
    assert size_of([blob, blob, blob]) == pytest.approx(
        (sys.getsizeof([blob, blob, blob]) + sys.getsizeof(blob)) / 1e6
    )


def test_size_of_terminates_on_cycles():
    loop: list = []
    loop.append(loop)
    d: dict = {}
    d["self"] = d
    assert size_of(loop) == pytest.approx(sys.getsizeof(loop) / 1e6)
    assert size_of(d) == pytest.approx((sys.getsizeof(d) + sys.getsizeof("self")) / 1e6)


def test_size_of_does_not_follow_other_objects():
    class Holder:
        def __init__(self):
            self.payload = b"p" * 1_000_000

    holder = Holder()
    assert size_of(holder) == pytest.approx(sys.getsizeof(holder) / 1e6)


def test_size_of_limit_boundary():
    items = [object(), object(), object()]  # 4 objects with the list
    assert size_of(items, "v", max_calls=4) > 0
    with pytest.raises(RecursionError) as info:
        size_of(items, "myvar", max_calls=3)
    assert "maximum recursion depth 3 exceeded while processing myvar" in str(
        info.value
    )


def test_size_of_default_limit_is_one_million():
    with pytest.raises(RecursionError) as info:
        size_of(list(range(1_000_000)))
    assert "maximum recursion depth 1000000 exceeded while processing" in str(
        info.value
    )


def test_sizeof_shim_is_size_of():
    from acme.shared import sizeOf

    assert sizeOf([b"a" * 10, "b"]) == size_of([b"a" * 10, "b"])
    with pytest.raises(
        RecursionError, match="maximum recursion depth 2 exceeded while processing big"
    ):
        sizeOf([1, 2, 3], "big", max_calls=2)
