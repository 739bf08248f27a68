"""Stacked results (``result_shape``) in the HDF5 sinks without a cluster: slots,
the container's virtual dataset and its links, the single file's dataset.

The sinks come from ``sink_helpers.py``.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from sink_helpers import NAME, per_call, single, store, temporaries

from acme._settings import Stacking

# --- stacking without a cluster -------------------------------------------------------


def test_stacked_per_call_files_keep_every_element_separately(tmp_path):
    stacking = Stacking((None, 3), 0, "float16")
    sink = per_call(tmp_path, n_inputs=2, stacking=stacking)
    path = store(sink, 0, (np.arange(3.0), 4, 5))
    with h5py.File(path, "r") as h5:
        assert sorted(h5) == ["result_0", "result_1", "result_2"]
        assert h5["result_0"].dtype == np.float64  # stored as returned
        np.testing.assert_array_equal(h5["result_0"][()], [0.0, 1.0, 2.0])
        assert h5["result_1"][()] == 4 and h5["result_2"][()] == 5


def test_stacked_scalars_are_not_grouped(tmp_path):
    stacking = Stacking((None, 1), 0, "float")
    sink = per_call(tmp_path, n_inputs=2, stacking=stacking)
    path = store(sink, 1, (2.0, 3.0))
    with h5py.File(path, "r") as h5:
        assert sorted(h5) == ["result_0", "result_1"]
        assert h5["result_0"][()].tolist() == [2.0]
        assert h5["result_1"][()] == 3.0


def test_result_not_fitting_slot_fails_before_writing(tmp_path):
    stacking = Stacking((None, 4), 0, "float")
    sink = per_call(tmp_path, n_inputs=3, stacking=stacking)
    with pytest.raises(ValueError, match=r"\(5,\)") as info:
        store(sink, 2, np.zeros(5))
    assert "(4,)" in str(info.value)
    assert list((tmp_path / f"{NAME}_payload").iterdir()) == []


def test_result_not_fitting_slot_fails_in_single_file(tmp_path):
    stacking = Stacking((None, 2, 2), 0, "float")
    sink = single(tmp_path, n_inputs=2, stacking=stacking)
    with pytest.raises(ValueError, match=r"\(3,\)") as info:
        store(sink, 0, np.zeros(3))
    assert "(2, 2)" in str(info.value)
    with h5py.File(tmp_path / f"{NAME}.h5", "r") as h5:  # never written: fill value
        np.testing.assert_array_equal(h5["result_0"][()], np.full((2, 2, 2), np.nan))


def test_broadcastable_result_fills_its_slot(tmp_path):
    stacking = Stacking((None, 3), 0, "float")
    sink = single(tmp_path, n_inputs=2, stacking=stacking)
    store(sink, 0, 7.0)
    store(sink, 1, np.array([1.0, 2.0, 3.0]))
    with h5py.File(tmp_path / f"{NAME}.h5", "r") as h5:
        np.testing.assert_array_equal(h5["result_0"][()], [[7, 7, 7], [1, 2, 3]])


@pytest.mark.parametrize(
    ("shape", "axis", "expected"),
    [
        ((None, 3), 0, lambda rows: np.stack(rows, axis=0)),
        ((3, None), 1, lambda rows: np.stack(rows, axis=1)),
    ],
    ids=["rows", "columns"],
)
def test_virtual_container_stacks_per_call_files(tmp_path, shape, axis, expected):
    stacking = Stacking(shape, axis, "float32")
    sink = per_call(tmp_path, n_inputs=3, stacking=stacking)
    rows = [np.arange(3.0) + 10 * i for i in range(3)]
    stored = [sink.store(index, row) for index, row in enumerate(rows)]
    assert [file.shape for file in stored] == [(3,), (3,), (3,)]  # reported
    sink.finalize(stored)
    with h5py.File(tmp_path / f"{NAME}.h5", "r") as h5:
        dataset = h5["result_0"]
        assert dataset.is_virtual
        assert dataset.dtype.name == "float32"
        np.testing.assert_array_equal(dataset[()], expected(rows))
        files = sorted(source.file_name for source in dataset.virtual_sources())
    assert files == [f"{NAME}_payload/{NAME}_{i}.h5" for i in range(3)]
    assert temporaries(tmp_path) == []


def test_single_file_inf_axis_grows(tmp_path):
    stacking = Stacking((None, 2, np.inf), 0, "float")
    sink = single(tmp_path, n_inputs=3, stacking=stacking)
    with h5py.File(tmp_path / f"{NAME}.h5", "r") as h5:
        assert h5["result_0"].shape == (3, 2, 1)
        assert h5["result_0"].maxshape == (3, 2, None)
    blocks = [np.full((2, 5), i, dtype=float) for i in range(3)]
    for index, block in enumerate(blocks):
        store(sink, index, block)
    with h5py.File(tmp_path / f"{NAME}.h5", "r") as h5:
        assert h5["result_0"].shape == (3, 2, 5)
        np.testing.assert_array_equal(h5["result_0"][()], np.stack(blocks))


def test_container_links_are_relative_external_links(tmp_path):
    per_call(tmp_path, n_inputs=3)
    with h5py.File(tmp_path / f"{NAME}.h5", "r") as h5:
        assert sorted(h5) == ["comp_0", "comp_1", "comp_2"]
        for index in range(3):
            link = h5.get(f"comp_{index}", getlink=True)
            assert isinstance(link, h5py.ExternalLink)
            assert link.filename == f"{NAME}_payload/{NAME}_{index}.h5"
            assert link.path == "/"
