"""How big an argument is: ``size_of`` in MB, and :func:`measure` (size,
whether the walk was complete, nesting depth), without recursion.

Used for the warning about large arguments and the refusal of too deeply
nested ones; ``acme.shared.sizeOf`` is ``size_of``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Measure", "measure", "size_of"]

_LEAVES = frozenset({int, float, complex, str, bytes, bool, type(None)})


@dataclass(frozen=True, slots=True)
class Measure:
    """What :func:`measure` found: size in MB, whether complete, nesting depth."""

    mb: float
    complete: bool  # False: more than ``max_objects`` objects, ``mb`` is a lower bound
    depth: int  # deepest container nesting seen (a bare value: 0)


def measure(obj: Any, *, max_objects: int = 1_000_000) -> Measure:
    """Recursive ``sys.getsizeof`` of ``obj`` in MB (10**6 bytes), without recursion.

    Dict keys and values and list/tuple/set items are followed, each object once;
    a NumPy view counts ``nbytes`` besides its header. After ``max_objects``
    objects the walk stops: ``complete`` is False, ``mb`` a lower bound.

    >>> big = np.zeros((2000, 1000))
    >>> round(measure(big[:1000]).mb)  # a view of half the array
    8
    >>> measure([[[]]]).depth, measure(list(range(10)), max_objects=5).complete
    (2, False)
    """
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(obj, 0)]
    total, depth = 0, 0
    while stack:
        item, level = stack.pop()
        if id(item) in seen:
            continue
        if len(seen) >= max_objects:
            return Measure(total / 1e6, False, depth)
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, np.ndarray) and not item.flags.owndata:
            total += item.nbytes  # a view: getsizeof counts its header only
        if isinstance(item, dict):
            children: Any = [*item.keys(), *item.values()]
        elif isinstance(item, list | tuple | set | frozenset):
            children = item
        else:
            continue
        if not children:
            continue
        depth = max(depth, level + 1)
        for child in children:
            if type(child) not in _LEAVES:
                stack.append((child, level + 1))
            elif id(child) not in seen:  # counted here: a long list of numbers
                if len(seen) >= max_objects:
                    return Measure(total / 1e6, False, depth)
                seen.add(id(child))
                total += sys.getsizeof(child)
    return Measure(total / 1e6, True, depth)


def size_of(obj: Any, varname: str = "", *, max_calls: int = 1_000_000) -> float:
    """Recursive ``sys.getsizeof`` of ``obj`` in MB (10**6 bytes), see :func:`measure`.

    RecursionError after ``max_calls`` objects; its ``at_least_mb`` is a lower bound.

    Examples
    --------
    >>> size_of(b"x" * 2_000_000) > 2
    True
    """
    found = measure(obj, max_objects=max_calls)
    if not found.complete:
        error = RecursionError(
            f"maximum recursion depth {max_calls} exceeded while processing {varname}"
        )
        error.at_least_mb = found.mb  # type: ignore[attr-defined]  # reported lower bound
        raise error
    return found.mb
