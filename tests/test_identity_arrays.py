"""Fingerprints of arguments: exact, stable, and computed without copying arrays."""

from __future__ import annotations

import tracemalloc

import numpy as np

from acme.broadcast import call_arguments
from acme.results.identity import fingerprints


def test_a_strided_array_is_hashed_without_a_copy():
    data = np.random.default_rng(1).random((2000, 5000))  # 80 MB
    view = data[:, ::2]  # 40 MB, not contiguous
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        strided = fingerprints(call_arguments([[view]], {}, 1))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20  # blocks of about 1 MB, never the whole 40 MB
    assert strided == fingerprints(
        call_arguments([[np.ascontiguousarray(view)]], {}, 1)
    )


def test_values_shapes_and_types_of_arrays_all_count():
    def prints(array):
        return fingerprints(call_arguments([[array]], {}, 1))

    base = np.zeros((2, 3))
    variants = [base.copy(), np.zeros((3, 2)), np.zeros((2, 3), "f4"), np.ones((2, 3))]
    variants[0][1, 2] = 1.0
    seen = {tuple(prints(v)) for v in variants}
    assert len(seen | {tuple(prints(base))}) == 5
    assert prints(np.arange(6.0).reshape(2, 3).T) == prints(
        np.arange(6.0).reshape(2, 3).T.copy()
    )


def test_split_array_rows_get_their_own_fingerprints():
    data = np.arange(12.0).reshape(4, 3)
    prints = fingerprints(call_arguments([list(data[:, ::2])], {}, 4))
    assert len(set(prints)) == 4
    copies = [row.copy() for row in data[:, ::2]]
    assert prints == fingerprints(call_arguments([copies], {}, 4))


def test_plain_values_keep_the_fingerprints_cloudpickle_gives_them():
    # the fast path must not change the digests manifests of earlier runs hold
    import hashlib

    import cloudpickle

    values = [0, -7, 2**70, 1.5, float("nan"), 1j, "", "é" * 300, b"x", True, None]
    got = fingerprints(call_arguments([values], {}, len(values)))
    for value, digest in zip(values, got, strict=True):
        part = hashlib.sha256(cloudpickle.dumps(value, protocol=5)).digest()
        assert digest == hashlib.sha256(part).hexdigest(), value


def test_a_row_or_column_array_is_split_like_a_flat_one():
    flat = np.arange(4.0)
    assert (
        fingerprints(call_arguments([flat[None, :]], {}, 4))
        == fingerprints(call_arguments([flat[:, None]], {}, 4))
        == fingerprints(call_arguments([flat], {}, 4))
    )
