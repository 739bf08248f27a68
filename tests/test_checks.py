"""Primitive validators of ``acme._checks`` and the shape of their messages."""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import pytest

from acme import _checks
from acme.errors import AcmeTypeError, AcmeValueError


@pytest.mark.parametrize(
    ("value", "text"),
    [("a", "<class 'str'>"), (3, "<class 'int'>"), (None, "<class 'NoneType'>")],
)
def test_type_of(value, text):
    assert _checks.type_of(value) == text


@pytest.mark.parametrize(
    "value",
    [0, -3, 2.5, math.inf, np.int8(1), np.uint64(2), np.float32(1.5), Fraction(1, 2)],
)
def test_is_number_true(value):
    assert _checks.is_number(value) is True


@pytest.mark.parametrize(
    "value", [True, False, np.bool_(True), "1", None, 1j, [1], np.array([1])]
)
def test_is_number_false(value):
    assert _checks.is_number(value) is False


@pytest.mark.parametrize("value", [0, 3, -2, 3.0, np.int64(4), np.float64(5.0)])
def test_is_integral_true(value):
    assert _checks.is_integral(value) is True


@pytest.mark.parametrize("value", [3.5, math.inf, -math.inf, math.nan, True, "3", None])
def test_is_integral_false(value):
    assert _checks.is_integral(value) is False


@pytest.mark.parametrize("value", [True, False])
def test_as_bool_accepts(value):
    assert (
        _checks.as_bool(value, "`x` has to be `True` or `False`, not {type}") is value
    )


@pytest.mark.parametrize("value", [1, 0, "True", None, np.bool_(True)])
def test_as_bool_rejects(value):
    message = "`flag` has to be `True` or `False`, not {type}"
    expected = f"`flag` has to be `True` or `False`, not {type(value)}"
    with pytest.raises(AcmeTypeError, match=re.escape(expected)) as info:
        _checks.as_bool(value, message)
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize(
    ("value", "expected"), [(1, 1), (4.0, 4), (np.int32(7), 7), (np.float64(2.0), 2)]
)
def test_as_int_accepts(value, expected):
    result = _checks.as_int(value, "n_workers", 1)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", ["4", None, True, [4]])
def test_as_int_type_error(value):
    with pytest.raises(
        AcmeTypeError,
        match=re.escape(f"`n_workers` has to be a scalar, not {type(value)}"),
    ) as info:
        _checks.as_int(value, "n_workers", 1)
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize("value", [0, -1, 2.5, math.inf, math.nan])
def test_as_int_value_error(value):
    with pytest.raises(
        AcmeValueError,
        match=re.escape(
            f"`n_workers` has to be an integer between 1 and inf, not {value!r}"
        ),
    ) as info:
        _checks.as_int(value, "n_workers", 1)
    assert isinstance(info.value, ValueError)


def test_as_int_lower_bound_inclusive():
    assert _checks.as_int(0, "timeout", 0) == 0


@pytest.mark.parametrize(
    ("value", "megabytes"),
    [("8GB", 8000.0), ("12000MB", 12000.0), ("1.5GB", 1500.0), ("0.5MB", 0.5)],
)
def test_as_mem_mb_accepts(value, megabytes):
    assert _checks.as_mem_mb(value, "mem_per_worker") == megabytes


@pytest.mark.parametrize("value", [8, None, 8.0, b"8GB"])
def test_as_mem_mb_type_error(value):
    expected = (
        f"Memory specification `mem_per_worker` has to be a string, not {type(value)}"
    )
    with pytest.raises(AcmeTypeError, match=re.escape(expected)):
        _checks.as_mem_mb(value, "mem_per_worker")


@pytest.mark.parametrize("value", ["8", "8TB", "-1GB", "0MB", "0GB", "GB", "", "auto"])
def test_as_mem_mb_value_error(value):
    expected = (
        "`mem_per_worker` has to be a valid memory specifier (e.g., '8GB', '12000MB'), "
        f"not {value!r}"
    )
    with pytest.raises(AcmeValueError, match=re.escape(expected)):
        _checks.as_mem_mb(value, "mem_per_worker")
