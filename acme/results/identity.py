"""What a run computes, as digests: the function's identity and each call's arguments.

Resume compares both with the manifest of the previous run, so results of one
function or argument set are never mixed with those of another.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import pickle
from collections.abc import Callable, Iterator, Sequence
from types import CodeType
from typing import Any

from ..broadcast import ArgKind, CallArgs

__all__ = ["fingerprints", "func_identity"]


_PLAIN = (int, float, complex, str, bytes, bool, type(None))
_BLOCK = 2**20  # bytes of a non-contiguous array copied at a time to hash it


def _array_digest(array: Any) -> bytes:
    """SHA-256 of a plain array's dtype, shape and data, without copying it whole."""
    hasher = hashlib.sha256(f"ndarray:{array.dtype.str}:{array.shape}".encode())
    if array.flags.c_contiguous:
        hasher.update(array.reshape(-1).view("u1").data)
        return hasher.digest()
    rows = max(1, _BLOCK // max(1, array[:1].nbytes))
    for start in range(0, len(array), rows):
        block = array[start : start + rows].copy()  # one block at a time
        hasher.update(block.reshape(-1).view("u1").data)
    return hasher.digest()


def _digest(value: Any) -> bytes:
    """SHA-256 of ``value`` serialised with cloudpickle; buffers hashed in place."""
    import cloudpickle  # lazy: only runs that write files fingerprint
    import numpy as np

    if type(value) is np.ndarray and value.ndim and not value.dtype.hasobject:
        return _array_digest(value)
    if type(value) in _PLAIN:  # pickled as cloudpickle does, 9x faster
        return hashlib.sha256(pickle.dumps(value, protocol=5)).digest()
    hasher = hashlib.sha256()
    buffers: list[Any] = []
    try:
        hasher.update(
            cloudpickle.dumps(value, protocol=5, buffer_callback=buffers.append)
        )
    except Exception:  # unserialisable values fall back to their repr
        text = f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"
        return bytes(hashlib.sha256(text.encode()).digest())
    for buffer in buffers:
        hasher.update(buffer.raw())
    return hasher.digest()


def fingerprints(call_args: CallArgs) -> list[str]:
    """SHA-256 (hex) of every call's positional and keyword values."""
    shared = [_digest(value) for value in call_args.shared]
    result = []
    for index in range(call_args.n_calls):
        hasher = hashlib.sha256()
        for kind, item in call_args.positional:
            hasher.update(_part(kind, item, index, shared))
        for key in sorted(call_args.keywords):
            kind, item = call_args.keywords[key]
            hasher.update(key.encode() + b"=" + _part(kind, item, index, shared))
        result.append(hasher.hexdigest())
    return result


def _part(kind: ArgKind, item: Any, index: int, shared: Sequence[bytes]) -> bytes:
    if kind is ArgKind.SHARED:
        return bytes(shared[item])
    return _digest(item[index])  # a per-call array is squeezed already


def _code_parts(code: CodeType) -> Iterator[Any]:
    """What a code object computes, without its file name and line numbers."""
    yield code.co_code
    yield code.co_names
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            yield from _code_parts(constant)
        else:
            yield constant


def _bound_values(func: Any) -> tuple[Any, list[Any]]:
    """The underlying function and every value bound to the callable ``func``."""
    bound: list[Any] = []
    while isinstance(func, functools.partial):
        bound.extend([func.args, sorted(func.keywords.items())])
        func = func.func
    if inspect.ismethod(func):
        bound.append(func.__self__)
        func = func.__func__
    plain = inspect.isfunction(func) or inspect.isbuiltin(func)
    if not plain and not inspect.isclass(func):
        bound.append(getattr(func, "__dict__", func))  # a callable object's state
    for cell in getattr(func, "__closure__", None) or ():
        try:
            bound.append(cell.cell_contents)
        except ValueError:  # an empty cell
            bound.append(None)
    return func, bound


def func_identity(func: Callable[..., Any]) -> str:
    """``module:qualname`` plus a digest of what is bound to ``func``.

    The digest covers a partial's arguments, closure cells, a bound method's
    instance, a callable object's state and, for lambdas and local functions,
    their code. A module-level function's code is not part of it, so fixing a
    bug and resuming works.

    >>> func_identity(len)
    'builtins:len'
    """
    target, bound = _bound_values(func)
    module = getattr(target, "__module__", None) or type(target).__module__
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    code = getattr(target, "__code__", None)
    if code is not None and ("<lambda>" in name or "<locals>" in name):
        bound.append(list(_code_parts(code)))
    identity = f"{module}:{name}"
    if bound:
        identity += "#" + hashlib.sha256(_digest(bound)).hexdigest()[:16]
    return identity
