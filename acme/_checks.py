"""Primitive validators shared by every public boundary of acme, and the one form
of their messages (:func:`must_be`): the parameter, what is allowed, the value.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

import numpy as np

from .errors import AcmeTypeError, AcmeValueError

__all__ = [
    "as_bool",
    "as_int",
    "as_mem_mb",
    "is_integral",
    "is_number",
    "must_be",
    "type_of",
]

_MEM_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(MB|GB)\s*$", re.IGNORECASE)


def type_of(value: Any) -> str:
    """Return the ``<class '...'>`` text used in acme's type error messages.

    >>> type_of("a")
    "<class 'str'>"
    """
    return str(type(value))


def must_be(subject: str, allowed: str, value: Any, *, show_type: bool = False) -> str:
    """The one form of acme's validation messages: what is allowed, what was given.

    ``subject`` is written as given (a keyword goes in backticks); the value is
    shown by its ``repr``, or by its type when ``show_type`` is set.

    >>> must_be("`n_workers`", "'auto' or an integer >= 1", 0)
    "`n_workers` has to be 'auto' or an integer >= 1, not 0"
    >>> must_be("`debug`", "`True` or `False`", "yes", show_type=True)
    "`debug` has to be `True` or `False`, not <class 'str'>"
    """
    shown = type_of(value) if show_type else repr(value)
    return f"{subject} has to be {allowed}, not {shown}"


def is_number(value: Any) -> bool:
    """True for int, float and real NumPy numbers, never for bool.

    Complex numbers and ``np.timedelta64`` (a NumPy integer) are not numbers here.

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
    if not is_number(value):
        return False
    as_float = float(value)
    return math.isfinite(as_float) and as_float == int(as_float)


def as_bool(value: Any, message: str) -> bool:
    """Return ``value`` if it is a bool, else raise ``AcmeTypeError(message)``.

    ``message`` may contain ``{type}``, which is replaced by the value's type.
    """
    if isinstance(value, bool):
        return value
    raise AcmeTypeError(message.format(type=type_of(value), value=value))


def as_int(value: Any, name: str, lo: int) -> int:
    """Validate an integer parameter with acme's common messages.

    >>> as_int(4.0, "n_workers", 1)
    4
    """
    if not is_number(value):
        raise AcmeTypeError(must_be(f"`{name}`", "a scalar", value, show_type=True))
    if not is_integral(value) or int(value) < lo:
        raise AcmeValueError(
            must_be(f"`{name}`", f"an integer between {lo} and inf", value)
        )
    return int(value)


def as_mem_mb(value: Any, name: str) -> float:
    """Parse ``"<n>MB"`` or ``"<n>GB"`` (GB = 1000 MB) into megabytes.

    >>> as_mem_mb("8GB", "mem_per_worker")
    8000.0
    >>> as_mem_mb("1500MB", "mem_per_worker")
    1500.0
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
