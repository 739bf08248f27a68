"""``size_of`` and its ``sizeOf`` shim (API reference, "Compatibility modules")."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import acme.shared
from acme._sizes import size_of
from acme.shared import sizeOf

# -- size_of -------------------------------------------------------------------


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
    assert sizeOf([b"a" * 10, "b"]) == size_of([b"a" * 10, "b"])
    with pytest.raises(
        RecursionError, match="maximum recursion depth 2 exceeded while processing big"
    ):
        sizeOf([1, 2, 3], "big", max_calls=2)


def test_sizeof_shim_counts_bytes_in_megabytes():
    blob = b"x" * 2_000_000
    assert acme.shared.sizeOf(blob) == sys.getsizeof(blob) / 1e6


def test_sizeof_shim_counts_shared_objects_once():
    blob = b"y" * 100_000
    container = [blob, blob]
    expected = (sys.getsizeof(container) + sys.getsizeof(blob)) / 1e6
    assert acme.shared.sizeOf(container) == expected


def test_sizeof_shim_follows_dict_keys_and_values():
    key, value = "k" * 1000, b"v" * 50_000
    mapping = {key: value}
    expected = (
        sys.getsizeof(mapping) + sys.getsizeof(key) + sys.getsizeof(value)
    ) / 1e6
    assert acme.shared.sizeOf(mapping) == expected


def test_sizeof_shim_limit_is_a_parameter():
    values = [1001, 2002]  # the list and two distinct ints: three objects
    assert acme.shared.sizeOf(values, "values", max_calls=3) > 0
    with pytest.raises(
        RecursionError,
        match="maximum recursion depth 2 exceeded while processing values",
    ):
        acme.shared.sizeOf(values, "values", max_calls=2)
