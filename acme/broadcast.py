"""Argument broadcasting, pure code: ``func``'s signature and arguments -> calls.

:func:`plan_calls` splits vectors into one element per call, shares the rest and
returns ACME's per-call tables ``argv``/``kwargv``; :func:`call_arguments` turns
those tables (maybe edited since) into what each call receives. It exceeds its
250-line guide because ACME's broadcasting rules, each with its own message, form
one pure unit that splitting would only scatter (the size walk is in
:mod:`acme._sizes`).
"""

from __future__ import annotations

import enum
import functools
import inspect
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._checks import must_be
from ._logging import get_logger
from .errors import AcmeTypeError, AcmeValueError, BroadcastError

__all__ = [
    "TASK_ID",
    "ArgKind",
    "CallArgs",
    "CallPlan",
    "FuncSpec",
    "call_arguments",
    "func_name",
    "inspect_func",
    "plan_calls",
]

TASK_ID = "taskID"
logger = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FuncSpec:
    """The roles of ``func``'s parameters."""

    name: str
    positional: tuple[str, ...]
    keywords: Mapping[str, Any]
    required_keywords: tuple[str, ...]
    var_positional: bool
    var_keyword: bool
    has_task_id: bool


@dataclass(frozen=True, slots=True)
class CallPlan:
    """The calls to run: their number and the per-call tables."""

    n_calls: int
    argv: list[Any]
    kwargv: dict[str, Any]


class ArgKind(enum.Enum):
    """How one argument reaches the calls."""

    SHARED = "shared"  # one value for every call, listed once in ``CallArgs.shared``
    PER_CALL = "per-call"  # a sequence with one element per call


@dataclass(frozen=True, slots=True)
class CallArgs:
    """Every call's arguments: ``(SHARED, slot in shared)`` or ``(PER_CALL, entry)``."""

    n_calls: int
    shared: list[Any]
    positional: list[tuple[ArgKind, Any]]
    keywords: dict[str, tuple[ArgKind, Any]]

    def for_call(
        self, index: int, resolved: Sequence[Any]
    ) -> tuple[list[Any], dict[str, Any]]:
        """Arguments of call ``index``; ``resolved`` stands in for ``shared``."""
        _, args, kwargs = next(self.calls([index], resolved))
        return args, kwargs

    def calls(
        self, indices: Sequence[int], resolved: Sequence[Any]
    ) -> Iterator[tuple[int, list[Any], dict[str, Any]]]:
        """``(index, args, kwargs)`` of each call, built an argument at a time."""
        names = list(self.keywords)
        entries = [*self.positional, *(self.keywords[name] for name in names)]
        columns = [_column(kind, item, indices, resolved) for kind, item in entries]
        split = 1 + len(self.positional)
        for row in zip(indices, *columns, strict=False):  # shared ones repeat
            yield row[0], list(row[1:split]), dict(zip(names, row[split:], strict=True))


def _column(
    kind: ArgKind, item: Any, indices: Sequence[int], resolved: Sequence[Any]
) -> Iterable[Any]:
    """One argument's values for the calls ``indices``."""
    if kind is ArgKind.SHARED:
        return itertools.repeat(resolved[item])
    return [item[index] for index in indices]


def func_name(func: Callable[..., Any]) -> str:
    """Name of ``func`` used in messages and file names (before sanitising).

    >>> func_name(functools.partial(print, 1))
    'print'
    """
    while isinstance(func, functools.partial):
        func = func.func
    name = getattr(func, "__name__", None)
    return name if isinstance(name, str) else type(func).__name__


def _is_async(func: Callable[..., Any]) -> bool:
    """An ``async def`` or async generator function (or a partial of one).

    ``__wrapped__`` is not followed: users are told to wrap with ``asyncio.run``.
    """
    while isinstance(func, functools.partial):
        func = func.func
    candidates: list[Any] = [func]
    if not inspect.isroutine(func) and not inspect.isclass(func):
        candidates.append(getattr(func, "__call__", None))  # noqa: B004  an instance
    return any(
        inspect.iscoroutinefunction(c) or inspect.isasyncgenfunction(c)
        for c in candidates
    )


def inspect_func(func: Callable[..., Any]) -> FuncSpec:
    """Classify ``func``'s parameters (``functools.wraps`` is followed).

    AcmeTypeError for an ``async def`` function (no worker awaits its coroutines)
    and for a builtin without a signature (``max``, ``getattr``, ``range``).
    """
    if _is_async(func):
        allowed = (
            "a regular function; an `async def` function only returns a coroutine "
            "that no worker awaits, so wrap it, e.g. "
            "`def run(x): return asyncio.run(coroutine_function(x))`"
        )
        raise AcmeTypeError("<ParallelMap> " + must_be("`func`", allowed, func))
    try:
        params = inspect.signature(func).parameters.values()
    except ValueError as exc:  # builtins without an introspectable signature
        allowed = (
            "a callable whose signature can be inspected; wrap the builtin in a "
            "def or lambda naming its parameters, e.g. `lambda x, y: max(x, y)`"
        )
        raise AcmeTypeError(
            "<ParallelMap> " + must_be("`func`", allowed, func) + f" ({exc})"
        ) from exc
    # a taskID that can be passed by name is acme's, whatever its kind
    rest = [p for p in params if p.name != TASK_ID or p.kind is p.POSITIONAL_ONLY]
    kinds = {p.kind for p in rest}
    named = [p for p in rest if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    required = [p for p in named if p.default is p.empty]
    return FuncSpec(
        name=func_name(func),
        positional=tuple(p.name for p in required if p.kind is not p.KEYWORD_ONLY),
        keywords={p.name: p.default for p in named if p.default is not p.empty},
        required_keywords=tuple(p.name for p in required if p.kind is p.KEYWORD_ONLY),
        var_positional=inspect.Parameter.VAR_POSITIONAL in kinds,
        var_keyword=inspect.Parameter.VAR_KEYWORD in kinds,
        has_task_id=len(rest) < len(params),
    )


def _names(names: Sequence[str]) -> str:
    return "(" + ", ".join(repr(n) for n in names) + ")"


def _split_keywords(
    spec: FuncSpec, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """Fill the positional slots, by name first; the rest are keywords."""
    kwargs = dict(kwargs)
    if spec.has_task_id and TASK_ID in kwargs:
        kwargs.pop(TASK_ID)
        logger.debug("Dropped user-provided `taskID`; acme passes the call index")
    named = {name: kwargs.pop(name) for name in spec.positional if name in kwargs}
    unnamed = iter(args)
    values = [
        named[name] if name in named else next(unnamed, _MISSING)
        for name in spec.positional
    ]
    extra = list(unnamed)
    if any(v is _MISSING for v in values) or (extra and not spec.var_positional):
        raise AcmeValueError(
            f"<ParallelMap> {spec.name} expects {len(spec.positional)} positional "
            f"arguments {_names(spec.positional)}, found {len(args) + len(named)}"
        )
    return values + extra, kwargs


_MISSING: Any = object()


def _check_keywords(spec: FuncSpec, kwargs: Mapping[str, Any]) -> None:
    """Unknown and missing keyword names."""
    accepted = (*spec.keywords, *spec.required_keywords)
    unknown = [key for key in kwargs if key not in accepted]
    if unknown and not spec.var_keyword:
        detail = f"unknown: {_names(unknown)}, accepted: {_names(accepted)}"
        if len(kwargs) > len(accepted):
            raise AcmeValueError(
                f"<ParallelMap> {spec.name} accepts at maximum {len(accepted)} "
                f"keyword arguments {_names(accepted)}, found {len(kwargs)}; {detail}"
            )
        raise AcmeValueError(
            f"<ParallelMap> {spec.name} got unknown keyword argument(s); {detail}"
        )
    missing = [key for key in spec.required_keywords if key not in kwargs]
    if missing:
        raise AcmeValueError(
            f"<ParallelMap> {spec.name} is missing required keyword argument(s) "
            f"{_names(missing)}"
        )


def _check_binding(
    func: Callable[..., Any], spec: FuncSpec, values: list[Any], kw: dict[str, Any]
) -> None:
    """What the checks above let through must bind, else every call would fail.

    (Extra positional values fill defaulted parameters before ``*args``.)
    """
    task_id = {TASK_ID: 0} if spec.has_task_id else {}
    try:
        inspect.signature(func).bind(*values, **kw, **task_id)
    except TypeError as exc:
        raise AcmeValueError(
            f"<ParallelMap> {spec.name} cannot be called with these arguments: {exc}"
        ) from exc


def _vector_length(value: Any) -> int | None:
    if isinstance(value, list | tuple):
        return len(value)
    if isinstance(value, np.ndarray) and value.squeeze().ndim == 1:
        return int(value.size)
    return None


def _keyword_length(value: Any, default: Any) -> int | None:
    """Length of a keyword vector candidate (not a vector like its default), or None."""
    length = _vector_length(value)
    if isinstance(value, np.ndarray) and isinstance(default, np.ndarray):
        return None
    if isinstance(value, list | tuple) and isinstance(default, list | tuple):
        return None if len(default) == length else length
    return length


def _count_calls(lengths: list[int], n_inputs: int | None) -> int:
    """The number of calls from the candidates' lengths."""
    if n_inputs is None:
        if len(set(lengths)) != 1 or lengths[0] == 0:
            low, high = (min(lengths), max(lengths)) if lengths else (0, 0)
            raise BroadcastError(
                f"<ParallelMap> automatic input distribution failed: found "
                f"{len(lengths)} objects containing {low} to {high} elements. "
                f"Please specify `n_inputs` manually."
            )
        return lengths[0]
    if n_inputs in lengths or all(length == 1 for length in lengths):
        return n_inputs
    raise BroadcastError(
        f"<ParallelMap> No object has required length of {n_inputs} matching "
        f"`n_inputs`."
    )


def _entry(value: Any, n_inputs: int, splittable: bool) -> Any:
    """The ``argv``/``kwargv`` entry of one argument: itself if split, else ``[it]``."""
    split = splittable or not isinstance(value, np.ndarray)
    return value if split and _vector_length(value) == n_inputs else [value]


def _no_range(value: Any) -> Any:
    return list(value) if isinstance(value, range) else value


def plan_calls(
    func: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    n_inputs: int | None,
) -> CallPlan:
    """Broadcast ``args``/``kwargs`` over ``n_inputs`` calls (None: infer it).

    >>> def f(x, y, z=3): ...
    >>> plan = plan_calls(f, [[2, 4, 6, 8], 4], {}, None)
    >>> plan.n_calls, plan.argv
    (4, [[2, 4, 6, 8], [4]])
    """
    spec = inspect_func(func)
    kwargs = {key: _no_range(value) for key, value in kwargs.items()}
    values, kw = _split_keywords(spec, [*map(_no_range, args)], kwargs)
    _check_keywords(spec, kw)
    _check_binding(func, spec, values, kw)
    defaults = [spec.keywords.get(key, _MISSING) for key in kw]
    lengths = [
        *map(_vector_length, values),
        *map(_keyword_length, kw.values(), defaults),
    ]
    n_calls = _count_calls([n for n in lengths if n is not None], n_inputs)
    argv = [_entry(value, n_calls, True) for value in values]
    kwargv = {
        key: _entry(value, n_calls, not isinstance(spec.keywords.get(key), np.ndarray))
        for key, value in kw.items()
    }
    return CallPlan(n_calls, argv, kwargv)


def _classify(
    entry: Any, n_inputs: int, name: str, shared: list[Any]
) -> tuple[ArgKind, Any]:
    """An entry split per call, or its value appended to ``shared``; checks lengths."""
    if n_inputs != 1 and _vector_length(entry) == n_inputs:
        if isinstance(entry, np.ndarray):
            entry = entry.squeeze()  # a view: (1, n) and (n, 1) split as (n,)
        return ArgKind.PER_CALL, entry
    is_array = isinstance(entry, np.ndarray) and entry.ndim >= 1
    if (is_array or isinstance(entry, list | tuple)) and len(entry) == 1:
        shared.append(entry[0])
        return ArgKind.SHARED, len(shared) - 1
    raise BroadcastError(
        f"<ParallelMap> {name} has to be a sequence of length 1 or {n_inputs} "
        f"(`n_inputs`), not {type(entry).__name__} of length "
        f"{len(entry) if hasattr(entry, '__len__') else 'n/a'}"
    )


def call_arguments(
    argv: Sequence[Any], kwargv: Mapping[str, Any], n_inputs: int
) -> CallArgs:
    """The per-call tables as split and shared arguments (BroadcastError: bad length).

    >>> call_args = call_arguments([[1, 2], [10]], {"z": [5]}, 2)
    >>> call_args.shared
    [10, 5]
    >>> call_args.for_call(1, call_args.shared)
    ([2, 10], {'z': 5})
    """
    shared: list[Any] = []
    positional = [
        _classify(entry, n_inputs, f"`argv[{j}]`", shared)
        for j, entry in enumerate(argv)
    ]
    keywords = {
        key: _classify(entry, n_inputs, f"`kwargv[{key!r}]`", shared)
        for key, entry in kwargv.items()
    }
    return CallArgs(n_inputs, shared, positional, keywords)
