"""Property tests of argument broadcasting (user guide, "Argument broadcasting").

Generated argument combinations for functions with positional, keyword,
defaulted, ``*args`` and ``**kwargs`` parameters either give the documented plan
or a documented acme exception, never anything else. An independent model of the
rules (:func:`expected_plan`) predicts the number of calls and what each call
receives; :func:`plan_calls` and :func:`call_arguments` must agree with it.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from signatures import f, g, h, kw_only, kw_only_default, one, pos_only, star, t

from acme import ParallelMap
from acme.broadcast import call_arguments, plan_calls
from acme.errors import AcmeTypeError, AcmeValueError, BroadcastError


def seq_default(x, z=(1, 2, 3)):
    return x, z


def everything(x, y=None, *rest, k=0, **more):
    return x, y, rest, k, more


FUNCS = [f, g, h, t, one, star, kw_only, kw_only_default, pos_only, seq_default]
FUNCS.append(everything)
SPARE_NAMES = ["x", "y", "z", "w", "k", "scale", "extra", "taskID", "c"]

# -- generated values -------------------------------------------------------------

scalars = st.one_of(
    st.integers(-5, 5),
    st.floats(allow_nan=False, width=32),
    st.booleans(),
    st.none(),
    st.text(max_size=4),
    st.binary(max_size=3),
)
DTYPES = st.sampled_from(["int8", "int64", "float32", "float64", "bool", "complex128"])


def arrays(length: int | None = None) -> st.SearchStrategy[np.ndarray]:
    """NumPy arrays: 1-D of ``length``, or of assorted shapes (0-d to 3-D)."""
    if length is None:
        shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
    else:
        shapes = st.sampled_from([(length,), (1, length), (length, 1), (1, length, 1)])
    return DTYPES.flatmap(
        lambda dtype: hnp.arrays(
            dtype, shapes, elements={"allow_nan": False} if "float" in dtype else None
        )
    )


def vectors(length: int) -> st.SearchStrategy[Any]:
    """Vector candidates of ``length`` elements."""
    return st.one_of(
        st.lists(scalars, min_size=length, max_size=length),
        st.lists(scalars, min_size=length, max_size=length).map(tuple),
        st.lists(
            st.lists(st.integers(0, 9), max_size=3), min_size=length, max_size=length
        ),
        st.just(range(length)),
        arrays(length),
    )


def generator() -> Any:
    return (i for i in range(3))


def others() -> st.SearchStrategy[Any]:
    """Values of any length, or none: shared unless a length happens to match."""
    return st.one_of(
        scalars,
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=3),
        st.builds(generator),
        st.integers(0, 5).map(range),
        st.lists(scalars, max_size=5),
        st.sampled_from([[], (), {}, set(), frozenset(), "", b""]),
        st.builds(lambda: np.empty(0)),
        arrays(),
    )


@st.composite
def call_inputs(draw: st.DrawFn) -> tuple[Any, list[Any], dict[str, Any], Any]:
    """A function, its arguments as given to ``ParallelMap`` and ``n_inputs``."""
    func = draw(st.sampled_from(FUNCS))
    length = draw(st.integers(0, 5))
    value = st.one_of(vectors(length), others())
    params = inspect.signature(func).parameters.values()
    named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    no_default = [p for p in named if p.default is p.empty]
    n_required = sum(p.kind != p.KEYWORD_ONLY for p in no_default)
    # mostly well-formed calls, so that most examples reach the broadcasting rules
    n_positional = n_required
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        n_positional += draw(st.integers(0, 2))
    if draw(st.integers(0, 4)) == 0:
        n_positional = draw(st.integers(0, 4))
    args = [draw(value) for _ in range(n_positional)]
    keys = [p.name for p in no_default if p.kind == p.KEYWORD_ONLY]
    if keys and draw(st.integers(0, 4)) == 0:
        keys = []
    optional = [p.name for p in named if p.default is not p.empty]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        optional.append("extra")
    if optional:
        keys += draw(st.lists(st.sampled_from(optional), max_size=2))
    if draw(st.integers(0, 4)) == 0:
        keys.append(draw(st.sampled_from(SPARE_NAMES)))
    kwargs = {key: draw(value) for key in dict.fromkeys(keys)}
    n_inputs = draw(st.one_of(st.none(), st.integers(1, 6)))
    return func, args, kwargs, n_inputs


# -- the model of the rules ---------------------------------------------------------


class RejectedError(Exception):
    """The model expects an acme error of this class."""

    def __init__(self, kind: type[Exception]) -> None:
        super().__init__(kind.__name__)
        self.kind = kind


def _length(value: Any) -> int | None:
    if isinstance(value, list | tuple):
        return len(value)
    if isinstance(value, np.ndarray) and value.squeeze().ndim == 1:
        return value.size
    return None


def expected_plan(
    func: Any, args: list[Any], kwargs: dict[str, Any], n_inputs: int | None
) -> tuple[int, list[tuple[Any, bool]], dict[str, tuple[Any, bool]]]:
    """Number of calls and, per argument, (value, split?), from the documented rules."""
    params = list(inspect.signature(func).parameters.values())
    var_pos = any(p.kind is p.VAR_POSITIONAL for p in params)
    var_kw = any(p.kind is p.VAR_KEYWORD for p in params)
    task_id = any(
        p.name == "taskID" and p.kind is not p.POSITIONAL_ONLY for p in params
    )
    params = [p for p in params if not (p.name == "taskID" and task_id)]
    named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    required = [
        p.name for p in named if p.default is p.empty and p.kind != p.KEYWORD_ONLY
    ]
    required_kw = [
        p.name for p in named if p.default is p.empty and p.name not in required
    ]
    defaults = {p.name: p.default for p in named if p.default is not p.empty}

    def unrange(value: Any) -> Any:
        return list(value) if isinstance(value, range) else value

    kwargs = {key: unrange(value) for key, value in kwargs.items()}
    if task_id:
        kwargs.pop("taskID", None)
    by_name = {name: kwargs.pop(name) for name in required if name in kwargs}
    unnamed = [unrange(value) for value in args]
    n_free = len(required) - len(by_name)
    if len(unnamed) < n_free or (len(unnamed) > n_free and not var_pos):
        raise RejectedError(AcmeValueError)
    slots = iter(unnamed)
    positional = [by_name[n] if n in by_name else next(slots) for n in required]
    positional += list(slots)
    # extra positional values fill the defaulted parameters before *args first
    before_star = [p.name for p in named if p.kind == p.POSITIONAL_OR_KEYWORD]
    n_filled = len(positional) - len(required)
    filled = [n for n in before_star if n not in required][:n_filled]
    accepted = [*defaults, *required_kw]
    if not var_kw and any(key not in accepted for key in kwargs):
        raise RejectedError(AcmeValueError)
    if any(key not in kwargs for key in required_kw):
        raise RejectedError(AcmeValueError)
    if any(name in kwargs for name in filled):
        raise RejectedError(AcmeValueError)  # given twice

    lengths = [_length(v) for v in positional]
    for key, value in kwargs.items():
        default = defaults.get(key)
        length = _length(value)
        if isinstance(value, np.ndarray) and isinstance(default, np.ndarray):
            length = None
        elif isinstance(value, list | tuple) and isinstance(default, list | tuple):
            length = None if len(default) == length else length
        lengths.append(length)
    found = [n for n in lengths if n is not None]
    if n_inputs is None:
        if len(set(found)) != 1 or found[0] == 0:
            raise RejectedError(BroadcastError)
        n_calls = found[0]
    elif n_inputs in found or all(n == 1 for n in found):
        n_calls = n_inputs
    else:
        raise RejectedError(BroadcastError)

    def entry(value: Any, array_default: bool) -> tuple[Any, bool]:
        split = _length(value) == n_calls
        if split and isinstance(value, np.ndarray) and array_default:
            split = False
        return value, split

    return (
        n_calls,
        [entry(value, False) for value in positional],
        {
            key: entry(value, isinstance(defaults.get(key), np.ndarray))
            for key, value in kwargs.items()
        },
    )


def element(value: Any, split: bool, index: int) -> Any:
    """What call ``index`` receives of an argument."""
    if not split:
        return value
    if isinstance(value, np.ndarray):
        return value.squeeze()[index]
    return value[index]


def same(received: Any, expected: Any) -> bool:
    """The same object, or (NumPy elements) of the same type and value."""
    if received is expected:
        return True
    if isinstance(expected, np.generic | np.ndarray):
        return type(received) is type(expected) and np.array_equal(
            received, expected, equal_nan=expected.dtype.kind in "fc"
        )
    # range arguments arrive as lists, whose int elements are interned alike
    return type(received) is type(expected) and received == expected


def check_entry(entry: Any, value: Any, split: bool) -> None:
    """An ``argv``/``kwargv`` entry: the value itself if split, else ``[value]``."""
    if split:
        assert entry is value or (isinstance(value, list) and entry == value)
    else:
        assert isinstance(entry, list) and len(entry) == 1
        assert entry[0] is value or same(entry[0], value)


# -- the properties -------------------------------------------------------------------

ACME_ERRORS = (BroadcastError, AcmeValueError, AcmeTypeError)


@settings(max_examples=1500, deadline=None)
@given(call_inputs())
def test_plan_matches_the_rules_or_is_a_documented_error(inputs):
    func, args, kwargs, n_inputs = inputs
    try:
        n_calls, positional, keywords = expected_plan(func, args, kwargs, n_inputs)
    except RejectedError as rejected:
        with pytest.raises(ACME_ERRORS) as info:
            plan_calls(func, args, kwargs, n_inputs)
        assert type(info.value) is rejected.kind, info.value
        event(f"rejected: {rejected.kind.__name__}")
        return
    plan = plan_calls(func, args, kwargs, n_inputs)
    event(f"planned: {n_calls} calls")
    splits = [s for _, s in positional] + [s for _, s in keywords.values()]
    event(f"split {sum(splits)} of {len(splits)}")
    assert plan.n_calls == n_calls
    assert len(plan.argv) == len(positional)
    assert list(plan.kwargv) == list(keywords)
    for entry, (value, split) in zip(plan.argv, positional, strict=True):
        check_entry(entry, value, split)
    for key, (value, split) in keywords.items():
        check_entry(plan.kwargv[key], value, split)
    call_args = call_arguments(plan.argv, plan.kwargv, plan.n_calls)
    assert call_args.n_calls == n_calls
    for index in range(n_calls):
        got_args, got_kwargs = call_args.for_call(index, call_args.shared)
        assert len(got_args) == len(positional)
        for got, (value, split) in zip(got_args, positional, strict=True):
            assert same(got, element(value, split, index)), (index, got, value)
        assert list(got_kwargs) == list(keywords)
        for key, (value, split) in keywords.items():
            assert same(got_kwargs[key], element(value, split, index))


@settings(max_examples=400, deadline=None)
@given(call_inputs(), st.lists(st.integers(0, 3), min_size=1, max_size=3))
def test_edited_tables_give_calls_or_a_broadcast_error(inputs, new_lengths):
    """Entries replaced by sequences of other lengths: accepted iff length 1 or n."""
    func, args, kwargs, n_inputs = inputs
    try:
        plan = plan_calls(func, args, kwargs, n_inputs)
    except ACME_ERRORS:
        return
    argv = list(plan.argv)
    replaced = range(min(len(argv), len(new_lengths)))
    for position in replaced:
        argv[position] = list(range(new_lengths[position]))
    fits = all(len(entry) in (1, plan.n_calls) for entry in argv) and all(
        _length(entry) in (1, plan.n_calls) for entry in plan.kwargv.values()
    )
    if not fits:
        with pytest.raises(BroadcastError):
            call_arguments(argv, plan.kwargv, plan.n_calls)
        return
    call_args = call_arguments(argv, plan.kwargv, plan.n_calls)
    for index in range(plan.n_calls):
        got, _ = call_args.for_call(index, call_args.shared)
        for position in replaced:
            entry = argv[position]
            assert got[position] is entry[index if len(entry) == plan.n_calls else 0]


# -- end to end on a cluster ------------------------------------------------------


def echo(x, y, *rest, z=3, **more):
    return x, y, rest, z, more


small = st.one_of(st.integers(-3, 3), st.text(max_size=2), st.none())


@st.composite
def echo_inputs(draw: st.DrawFn) -> tuple[list[Any], dict[str, Any], int]:
    n = draw(st.integers(1, 4))
    value = st.one_of(
        st.lists(small, min_size=n, max_size=n),
        small,
        st.just(np.arange(n, dtype=float).reshape(1, n)) if n > 1 else small,
    )
    args = [draw(value) for _ in range(draw(st.integers(2, 3)))]
    kwargs = {key: draw(value) for key in draw(st.sets(st.sampled_from("zab")))}
    return args, kwargs, n


@settings(
    max_examples=8,
    deadline=None,
    # one cluster for every example: the calls keep no state between examples
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(echo_inputs())
def test_end_to_end_calls_receive_the_planned_arguments(client, inputs):
    args, kwargs, n = inputs
    n_calls, positional, keywords = expected_plan(echo, args, kwargs, n)
    with ParallelMap(
        echo, *args, n_inputs=n, write_worker_results=False, **kwargs
    ) as pmap:
        results = pmap.compute()
    assert len(results) == n_calls
    for index, (x, y, rest, z, more) in enumerate(results):
        expected = [element(v, s, index) for v, s in positional]
        assert [x, y, *rest] == expected
        want = {k: element(v, s, index) for k, (v, s) in keywords.items()}
        assert z == want.pop("z", 3)
        assert more == want
