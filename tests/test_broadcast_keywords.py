"""Broadcasting, pure: keyword names, required keywords and ``taskID``
(user guide, "Roles of func's parameters").
"""

from __future__ import annotations

import logging

import pytest
from signatures import (
    calls,
    f,
    g,
    kw_only,
    one,
    plan,
    t,
    task_kw_only,
    task_pos_only,
    task_required,
    task_var_kw,
    wrapped_t,
)

from acme.errors import AcmeError, AcmeValueError


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
