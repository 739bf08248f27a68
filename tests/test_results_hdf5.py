"""HDF5 sinks without a cluster: which datasets a value gives, emergency
pickles, the single file; every file is read back and compared.

The sinks come from ``sink_helpers.py``.
"""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

import h5py
import numpy as np
import pytest
from sink_helpers import NAME, per_call, read_all, single, store, temporaries, visible

from acme._settings import Stacking
from acme.results.hdf5 import _datasets, _write_file

# --- which datasets a return value gives ----------------------------------------------


def test_scalar_is_one_element_list(tmp_path):
    sink = per_call(tmp_path)
    path = store(sink, 0, 5)
    assert path == str(tmp_path / f"{NAME}_payload" / f"{NAME}_0.h5")
    with h5py.File(path, "r") as h5:
        assert list(h5) == ["result_0"]
        assert h5["result_0"].shape == (1,)
        assert h5["result_0"][()].tolist() == [5]


def test_tuple_of_scalars_is_one_dataset(tmp_path):
    sink = per_call(tmp_path)
    path = store(sink, 1, (3, 2.5))
    with h5py.File(path, "r") as h5:
        assert list(h5) == ["result_0"]
        np.testing.assert_array_equal(h5["result_0"][()], [3.0, 2.5])


def test_list_of_numpy_scalars_keeps_values(tmp_path):
    sink = per_call(tmp_path)
    path = store(sink, 0, [np.float32(1.5), np.int64(7), True, 2 + 3j])
    with h5py.File(path, "r") as h5:
        assert list(h5) == ["result_0"]
        np.testing.assert_array_equal(h5["result_0"][()], [1.5, 7, 1, 2 + 3j])


def test_string_return(tmp_path):
    sink = per_call(tmp_path)
    path = store(sink, 0, "hello")
    with h5py.File(path, "r") as h5:
        assert list(h5) == ["result_0"]
        assert h5["result_0"].asstr()[()].tolist() == ["hello"]


def test_strings_and_numbers_together_are_one_dataset(tmp_path):
    sink = per_call(tmp_path)
    path = store(sink, 0, ("label", "other"))
    with h5py.File(path, "r") as h5:
        assert list(h5) == ["result_0"]
        assert h5["result_0"].asstr()[()].tolist() == ["label", "other"]


def test_array_return(tmp_path):
    sink = per_call(tmp_path)
    value = np.arange(12, dtype="int16").reshape(3, 4)
    path = store(sink, 2, value)
    with h5py.File(path, "r") as h5:
        assert list(h5) == ["result_0"]
        assert h5["result_0"].dtype == np.int16
        np.testing.assert_array_equal(h5["result_0"][()], value)


def test_mixed_array_and_scalars_split(tmp_path):
    sink = per_call(tmp_path)
    array = np.linspace(0, 1, 5)
    path = store(sink, 0, (array, 4, "name"))
    with h5py.File(path, "r") as h5:
        assert sorted(h5) == ["result_0", "result_1", "result_2"]
        np.testing.assert_array_equal(h5["result_0"][()], array)
        assert h5["result_1"][()] == 4
        assert h5["result_2"].asstr()[()] == "name"


def test_list_of_arrays_split(tmp_path):
    sink = per_call(tmp_path)
    path = store(sink, 0, [np.ones(2), np.zeros((2, 2))])
    with h5py.File(path, "r") as h5:
        values = read_all(h5)
    assert sorted(values) == ["result_0", "result_1"]
    np.testing.assert_array_equal(values["result_0"], np.ones(2))
    np.testing.assert_array_equal(values["result_1"], np.zeros((2, 2)))


def test_datasets_of_a_return_value():
    (data,) = _datasets(5, None, 0)
    assert data.tolist() == [5]
    (data,) = _datasets((1, 2.5), None, 0)
    assert data.tolist() == [1.0, 2.5]
    data = _datasets((np.ones(2), 3), None, 0)
    assert len(data) == 2
    assert data[0].tolist() == [1.0, 1.0] and data[1].tolist() == 3


def test_stacked_return_value_splits_every_element():
    data = _datasets((np.ones(1), 2.5), Stacking((None, 1), 0, "float"), 0)
    assert [d.tolist() for d in data] == [[1.0], 2.5]


# --- how a per-call file is written -------------------------------------------------

WRITTEN = {
    "int64 scalar": [np.array(42)],
    "float array": [np.arange(6.0).reshape(2, 3)],
    "bool and int8": [np.array([True, False]), np.array([3], dtype=np.int8)],
    "complex, float16, empty": [
        np.array([1 + 2j]),
        np.ones(4, dtype=np.float16),
        np.zeros((0, 3)),
    ],
    "not contiguous": [np.broadcast_to(np.arange(3.0), (2, 3)), np.eye(4)[:, 1]],
    "big-endian": [np.arange(3, dtype=">i4")],
    "string": [np.array("text", dtype=h5py.string_dtype())],
    "record": [np.zeros(2, dtype=[("a", "i4"), ("b", "f8")])],
}


@pytest.mark.parametrize("data", WRITTEN.values(), ids=WRITTEN.keys())
def test_a_per_call_file_has_the_bytes_h5py_file_writes(tmp_path, data):
    by_h5py = tmp_path / "by_h5py.h5"
    with h5py.File(by_h5py, "w") as h5:
        for k, array in enumerate(data):
            h5.create_dataset(f"result_{k}", data=array)
    ours = tmp_path / "ours.h5"
    _write_file(ours, data)
    assert ours.read_bytes() == by_h5py.read_bytes()
    with h5py.File(ours, "r") as h5:
        assert list(h5) == [f"result_{k}" for k in range(len(data))]
        for k, array in enumerate(data):
            assert h5[f"result_{k}"].shape == array.shape
            assert h5[f"result_{k}"].dtype == array.dtype
            if array.dtype.kind != "O":  # h5py reads strings back as bytes
                np.testing.assert_array_equal(h5[f"result_{k}"][()], array)


@pytest.mark.parametrize("data", [WRITTEN["float array"], WRITTEN["string"]])
def test_a_per_call_file_is_never_written_over(tmp_path, data):
    path = tmp_path / "taken.h5"
    path.write_bytes(b"a user's file")
    with pytest.raises(OSError):
        _write_file(path, data)
    assert path.read_bytes() == b"a user's file"


# --- emergency pickling in per-call mode ----------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        None,
        {"a": 1},
        np.array([1, "x", None], dtype=object),
        (np.ones(3), None),
        [1, {"nested": [1, 2]}],
    ],
    ids=["none", "dict", "object-array", "array-and-none", "scalar-and-dict"],
)
def test_unstorable_value_is_pickled_in_per_call_mode(tmp_path, value):
    sink = per_call(tmp_path, n_inputs=12)
    path = store(sink, 11, value)
    assert path == str(tmp_path / f"{NAME}_payload" / f"{NAME}_11.pickle")
    assert not (tmp_path / f"{NAME}_payload" / f"{NAME}_11.h5").exists()
    with open(path, "rb") as stream:
        loaded = pickle.load(stream)
    assert isinstance(loaded, list) and len(loaded) == 1
    assert repr(loaded[0]) == repr(value)
    assert temporaries(tmp_path) == []


def test_datetime_value_is_pickled_in_per_call_mode(tmp_path):
    sink = per_call(tmp_path)
    value = np.array(["2024-01-01", "2024-06-30"], dtype="datetime64[D]")
    path = store(sink, 0, value)
    assert path.endswith(f"{NAME}_0.pickle")
    with open(path, "rb") as stream:
        np.testing.assert_array_equal(pickle.load(stream)[0], value)


def test_unstorable_extra_is_pickled_with_result_shape(tmp_path):
    stacking = Stacking((None, 3), 0, "float")
    sink = per_call(tmp_path, stacking=stacking)
    path = store(sink, 1, (np.ones(3), None))
    assert path == str(tmp_path / f"{NAME}_payload" / f"{NAME}_1.pickle")
    with open(path, "rb") as stream:
        loaded = pickle.load(stream)
    assert len(loaded) == 1
    np.testing.assert_array_equal(loaded[0][0], np.ones(3))
    assert loaded[0][1] is None


def test_pickle_names_do_not_collide(tmp_path):
    sink = per_call(tmp_path, n_inputs=16)
    first = store(sink, 1, None)
    fifteenth = store(sink, 15, {"k": 15})
    assert Path(first).name == f"{NAME}_1.pickle"
    assert Path(fifteenth).name == f"{NAME}_15.pickle"
    with open(first, "rb") as stream:
        assert pickle.load(stream) == [None]
    with open(fifteenth, "rb") as stream:
        assert pickle.load(stream) == [{"k": 15}]


# --- single-file mode -----------------------------------------------------------------


def test_create_single_file_has_empty_groups(tmp_path):
    single(tmp_path, n_inputs=3)
    with h5py.File(tmp_path / f"{NAME}.h5", "r") as h5:
        assert sorted(h5) == ["comp_0", "comp_1", "comp_2"]
        assert all(len(h5[key]) == 0 for key in h5)
    assert temporaries(tmp_path) == []


def test_single_file_datasets_match_per_call(tmp_path):
    values = [5, (3, 2.5), "text", (np.arange(4), 7)]
    sink = single(tmp_path / "single", n_inputs=len(values))
    reference = per_call(tmp_path / "multi", n_inputs=len(values))
    for index, value in enumerate(values):
        assert store(sink, index, value) == str(tmp_path / "single" / f"{NAME}.h5")
        store(reference, index, value)
    with h5py.File(tmp_path / "single" / f"{NAME}.h5", "r") as h5:
        assert sorted(h5) == [f"comp_{i}" for i in range(len(values))]
        for index in range(len(values)):
            path = reference.layout.result_file(index)
            with h5py.File(path, "r") as expected:
                assert sorted(h5[f"comp_{index}"]) == sorted(expected)
                for key in expected:
                    got, want = h5[f"comp_{index}"][key], expected[key]
                    assert got.dtype == want.dtype
                    np.testing.assert_array_equal(got[()], want[()])


def test_single_file_rerun_replaces_group_content(tmp_path):
    sink = single(tmp_path, n_inputs=2)
    store(sink, 0, (np.ones(2), 1, 2))
    store(sink, 0, 9)
    with h5py.File(tmp_path / f"{NAME}.h5", "r") as h5:
        assert list(h5["comp_0"]) == ["result_0"]
        assert h5["comp_0"]["result_0"][()].tolist() == [9]


@pytest.mark.parametrize(
    "value",
    [None, {"a": 1}, np.array([None, 1], dtype=object), (np.ones(2), None)],
    ids=["none", "dict", "object-array", "array-and-none"],
)
def test_unstorable_value_fails_in_single_file_mode(tmp_path, value):
    sink = single(tmp_path, n_inputs=2)
    with pytest.raises(TypeError, match="HDF5"):
        store(sink, 1, value)
    assert visible(tmp_path) == [f"{NAME}.h5"]
    with h5py.File(tmp_path / f"{NAME}.h5", "r") as h5:
        assert len(h5["comp_1"]) == 0


def test_single_file_store_excludes_other_threads(tmp_path):
    sink = single(tmp_path, n_inputs=8)
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            store(sink, index, np.full(100, index))
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with h5py.File(tmp_path / f"{NAME}.h5", "r") as h5:
        for index in range(8):
            np.testing.assert_array_equal(h5[f"comp_{index}/result_0"][()], index)
