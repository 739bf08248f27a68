"""Primitive validators of acme's public boundaries and the one message form."""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

import numpy as np

from .errors import AcmeTypeError, AcmeValueError

__all__ = [
    "as_bool",
    "as_flag",
    "as_int",
    "as_mem_mb",
    "is_auto",
    "is_integral",
    "is_number",
    "must_be",
    "type_of",
    "wrong_type",
]

_MEM_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(MB|GB)\s*$", re.IGNORECASE)


def type_of(value: Any) -> str:
    """The ``<class '...'>`` text of acme's type error messages."""
    return str(type(value))


def must_be(subject: str, allowed: str, value: Any, *, show_type: bool = False) -> str:
    """Say what ``subject`` allows, then the value (its type with ``show_type``).

    >>> must_be("`n_workers`", "'auto' or an integer >= 1", 0)
    "`n_workers` has to be 'auto' or an integer >= 1, not 0"
    >>> must_be("`debug`", "`True` or `False`", "yes", show_type=True)
    "`debug` has to be `True` or `False`, not <class 'str'>"
    """
    shown = type_of(value) if show_type else repr(value)
    return f"{subject} has to be {allowed}, not {shown}"


def wrong_type(name: str, allowed: str, value: Any) -> AcmeTypeError:
    """The type error of keyword ``name``, showing the value's type."""
    return AcmeTypeError(must_be(f"`{name}`", allowed, value, show_type=True))


def is_auto(value: Any) -> bool:
    """Whether a keyword has ACME's ``"auto"`` value."""
    return isinstance(value, str) and value == "auto"


def is_number(value: Any) -> bool:
    """True for int, float and real NumPy numbers; bool, complex, timedelta64 not.

    >>> is_number(3.0), is_number(True), is_number("3"), is_number(np.complex64(3))
    (True, False, False, False)
    """
    if isinstance(value, bool | np.bool_ | np.timedelta64):
        return False
    return isinstance(value, numbers.Real | np.integer | np.floating)


def is_integral(value: Any) -> bool:
    """True for a number whose value is a whole, finite number (bool excluded).

    >>> is_integral(3), is_integral(3.0), is_integral(3.5), is_integral(True)
    (True, True, False, False)
    """
    return is_number(value) and math.isfinite(f := float(value)) and f == int(f)


def as_bool(value: Any, message: str) -> bool:
    """``value`` if a bool, else ``AcmeTypeError(message)`` (``{type}`` filled)."""
    if isinstance(value, bool):
        return value
    raise AcmeTypeError(message.format(type=type_of(value), value=value))


def as_flag(value: Any, name: str, allowed: str = "`True` or `False`") -> bool:
    """``value`` if it is a bool, else the type error of keyword ``name``."""
    if isinstance(value, bool):
        return value
    raise wrong_type(name, allowed, value)


def as_int(value: Any, name: str, lo: int) -> int:
    """Validate an integer parameter with acme's common messages.

    >>> as_int(4.0, "n_workers", 1)
    4
    """
    if not is_number(value):
        raise wrong_type(name, "a scalar", value)
    allowed = f"an integer between {lo} and inf"
    if not is_integral(value) or int(value) < lo:
        raise AcmeValueError(must_be(f"`{name}`", allowed, value))
    return int(value)


def as_mem_mb(value: Any, name: str) -> float:
    """Parse ``"<n>MB"`` or ``"<n>GB"`` (GB = 1000 MB) into megabytes.

    >>> as_mem_mb("8GB", "mem_per_worker"), as_mem_mb("1500MB", "mem_per_worker")
    (8000.0, 1500.0)
    """
    if not isinstance(value, str):
        subject = f"Memory specification `{name}`"
        raise AcmeTypeError(must_be(subject, "a string", value, show_type=True))
    match = _MEM_PATTERN.match(value)
    amount = float(match.group(1)) if match else 0.0
    if match is None or amount <= 0:
        allowed = "a valid memory specifier (e.g., '8GB', '12000MB')"
        raise AcmeValueError(must_be(f"`{name}`", allowed, value))
    return amount * 1000 if match.group(2).upper() == "GB" else amount
