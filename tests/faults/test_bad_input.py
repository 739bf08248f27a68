"""Bad input that used to escape as a raw error, or silently skip a check.

Each test fails without the fix it names: builtins without a signature, ``async``
functions, arguments nested too deep to pickle, and size estimates that missed
NumPy views and arguments of more than a million objects.
"""

from __future__ import annotations

import asyncio
import functools
import sys

import numpy as np
import pytest
from distributed import get_client

from acme import ParallelMap
from acme._sizes import measure, size_of
from acme.broadcast import plan_calls
from acme.errors import AcmeTypeError, AcmeValueError


def f(x, y):
    return x


def nested(depth: int) -> list:
    top: list = []
    inner = top
    for _ in range(depth):
        inner.append([])
        inner = inner[0]
    return top


async def coroutine_function(x):
    return x


async def async_generator_function(x):
    yield x


class AsyncCallable:
    async def __call__(self, x):
        return x


def assert_no_trace(tmp_path) -> None:
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError):
        get_client()


# -- builtins without a signature ------------------------------------------------


@pytest.mark.parametrize("func", [max, getattr, range], ids=lambda f: f.__name__)
def test_builtin_without_signature_is_an_acme_type_error(tmp_path, func):
    with pytest.raises(AcmeTypeError) as info:
        ParallelMap(func, [1, 2], [3, 4], write_worker_results=False)
    message = str(info.value)
    assert "`func`" in message
    assert "def or lambda" in message
    assert repr(func) in message
    assert isinstance(info.value, TypeError)
    assert_no_trace(tmp_path)


def test_builtin_with_signature_still_works():
    assert plan_calls(len, [[[1], [2, 3]]], {}, None).n_calls == 2


# -- async functions -----------------------------------------------------------------


@pytest.mark.parametrize(
    "func",
    [
        coroutine_function,
        async_generator_function,
        functools.partial(coroutine_function),
        AsyncCallable(),
    ],
    ids=["async-def", "async-generator", "partial", "async-call"],
)
def test_async_function_is_rejected_at_construction(tmp_path, func):
    with pytest.raises(AcmeTypeError) as info:
        ParallelMap(func, [1, 2], write_worker_results=False)
    assert "`func`" in str(info.value)
    assert "async def" in str(info.value)
    assert_no_trace(tmp_path)


def run_synchronously(coroutine):
    @functools.wraps(coroutine)
    def run(x):
        return asyncio.run(coroutine(x))

    return run


def test_synchronous_wrapper_of_async_function_runs(client):
    func = run_synchronously(coroutine_function)
    with ParallelMap(func, [1, 2], write_worker_results=False) as pmap:
        assert pmap.compute() == [1, 2]


# -- deeply nested arguments -------------------------------------------------------


def test_deeply_nested_argument_is_an_acme_value_error(tmp_path):
    deep = nested(50_000)
    with pytest.raises(AcmeValueError) as info:
        ParallelMap(f, [1, 2], deep, n_inputs=2)
    message = str(info.value)
    assert "positional argument 1" in message
    assert "50000 levels deep" in message
    assert f"at most {sys.getrecursionlimit() // 2} levels" in message
    assert_no_trace(tmp_path)


def test_deeply_nested_keyword_is_named(tmp_path):
    with pytest.raises(AcmeValueError, match="keyword argument 'y'"):
        ParallelMap(f, [1, 2], y={"a": nested(50_000)}, write_worker_results=False)
    assert_no_trace(tmp_path)


def test_moderately_nested_argument_runs(client):
    pmap = ParallelMap(f, [1, 2], nested(100), n_inputs=2, write_worker_results=False)
    with pmap:
        assert pmap.compute() == [1, 2]


# -- size estimate -----------------------------------------------------------------


def test_array_view_counts_its_data():
    base = np.zeros((1000, 1000))
    view = base[:500]
    assert size_of(view) == pytest.approx((sys.getsizeof(view) + view.nbytes) / 1e6)
    assert size_of(view) > 4


def test_large_view_triggers_the_size_warning(client, acme_log, monkeypatch):
    monkeypatch.setattr(ParallelMap, "_maxArgSize", 10)
    view = np.zeros((4000, 1000))[:2000]  # 16 MB of data behind a small header
    pmap = ParallelMap(f, [1, 2], view, write_worker_results=False)
    pmap.cleanup()
    assert "argument size 16.00 MB exceeds recommended limit of 10 MB" in acme_log.text


def test_measure_reports_a_lower_bound_when_it_gives_up():
    found = measure([b"x" * 1000] * 3 + [b"y" * 1000], max_objects=2)
    assert not found.complete
    assert found.mb > 0
    with pytest.raises(RecursionError) as info:
        size_of(list(range(10)), "v", max_calls=5)
    assert info.value.at_least_mb > 0  # type: ignore[attr-defined]


def test_argument_of_over_a_million_objects_still_warns(client, acme_log, monkeypatch):
    monkeypatch.setattr(ParallelMap, "_maxArgSize", 10)
    huge = list(range(1_000_001))  # about 36 MB counted before measuring stops
    pmap = ParallelMap(f, [1, 2], huge, n_inputs=2, write_worker_results=False)
    pmap.cleanup()
    assert "exceeds recommended limit of 10 MB" in acme_log.text
    assert "at least" in acme_log.text


# -- complex numbers where an integer is expected -------------------------------


@pytest.mark.parametrize("value", [np.complex128(3), np.complex64(2 + 1j)])
def test_complex_numpy_number_is_not_an_integer(tmp_path, value):
    with pytest.raises(AcmeTypeError, match="`n_workers`"):
        ParallelMap(f, [1, 2], 0, n_workers=value)
    assert_no_trace(tmp_path)


# -- a parameter filled by an extra positional value and given by name ----------------


def with_star(x, y=None, *rest):
    return x, y, rest


def test_parameter_given_twice_is_an_acme_value_error(tmp_path):
    with pytest.raises(AcmeValueError, match="multiple values for argument 'y'"):
        ParallelMap(with_star, [1, 2], 5, 6, y=7)
    assert_no_trace(tmp_path)
