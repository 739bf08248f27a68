"""HDF5 and pickle sinks without a cluster: every file is read back and compared.

Covers per-call datasets, the single file and stacking, pickles and emergency
pickling, and atomic writes.
"""

from __future__ import annotations

import contextlib
import pickle
import threading
from pathlib import Path

import h5py
import numpy as np
import pytest

import acme.results.hdf5
from acme._settings import OutputMode, Stacking
from acme.results._files import StoredFile, atomic_path
from acme.results.hdf5 import PerCallSink, SingleFileSink, _datasets
from acme.results.layout import OutputLayout
from acme.results.pickles import PickleSink, write_pickle

NAME = "func"


def temporaries(folder: Path) -> list[Path]:
    """Leftover hidden temporary files below ``folder``."""
    return [p for p in folder.rglob(".*") if p.name.endswith(".tmp")]


def per_call(folder: Path, n_inputs: int = 4, stacking=None) -> PerCallSink:
    layout = OutputLayout(folder, NAME, OutputMode.HDF5_PER_CALL)
    sink = PerCallSink(layout, n_inputs, stacking)
    assert sink.prepare()[-2:] == [layout.payload, layout.container]
    return sink


def single(folder: Path, n_inputs: int = 4, stacking=None) -> SingleFileSink:
    folder.mkdir(parents=True, exist_ok=True)
    sink = SingleFileSink(
        OutputLayout(folder, NAME, OutputMode.HDF5_SINGLE), n_inputs, stacking
    )
    assert sink.prepare() == [folder / f"{NAME}.h5"]
    return sink


def pickles(folder: Path) -> PickleSink:
    return PickleSink(OutputLayout(folder, NAME, OutputMode.PICKLE))


def store(sink, index, value) -> str:
    """What a sink's ``store`` wrote, as a path."""
    return sink.store(index, value).path


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def read_all(group) -> dict[str, np.ndarray]:
    return {key: group[key][()] for key in group}


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


# --- atomic writes --------------------------------------------------------------------


def test_per_call_write_leaves_no_temporary(tmp_path):
    sink = per_call(tmp_path)
    for index in range(4):
        store(sink, index, np.arange(index + 1))
    payload = tmp_path / f"{NAME}_payload"
    assert sorted(p.name for p in payload.iterdir()) == [
        f"{NAME}_{i}.h5" for i in range(4)
    ]
    sink.finalize([StoredFile(str(sink.layout.result_file(i))) for i in range(4)])
    assert temporaries(tmp_path) == []


def test_failing_hdf5_write_leaves_nothing(tmp_path):
    # result_1 cannot be converted by h5py after result_0 was already written
    sink = per_call(tmp_path)
    value = (np.arange(3), np.array(["2024-01-01"], dtype="datetime64[D]"))
    with contextlib.suppress(TypeError):  # 5.7 would pickle it; either is atomic
        store(sink, 0, value)
    assert not (tmp_path / f"{NAME}_payload" / f"{NAME}_0.h5").exists()
    assert temporaries(tmp_path) == []


def test_atomic_path_removes_temporary_on_error(tmp_path):
    target = tmp_path / "data.h5"
    with pytest.raises(RuntimeError, match="disk gone"):
        with atomic_path(target) as temporary:
            with h5py.File(temporary, "w") as h5:
                h5["x"] = np.arange(3)
            assert temporary.parent == tmp_path and temporary.name.startswith(".")
            raise RuntimeError("disk gone")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_previous_file_on_error(tmp_path):
    target = tmp_path / "data.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]


def test_atomic_path_removes_temporary_when_the_rename_fails(tmp_path):
    target = tmp_path / "data.bin"
    (target / "inside").mkdir(parents=True)  # a non-empty folder cannot be replaced
    with pytest.raises(OSError):
        with atomic_path(target) as temporary:
            temporary.write_bytes(b"complete")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]
    assert target.is_dir()


# --- pickles --------------------------------------------------------------------------


def test_pickle_sink_stores_raw_value(tmp_path):
    sink = pickles(tmp_path)
    path = store(sink, 3, (1, "two", np.arange(3)))
    assert path == str(tmp_path / f"{NAME}_3.pickle")
    with open(path, "rb") as stream:
        loaded = pickle.load(stream)
    assert isinstance(loaded, tuple)
    assert loaded[:2] == (1, "two")
    np.testing.assert_array_equal(loaded[2], np.arange(3))
    assert sink.finalize([StoredFile(path)]).container is None
    assert temporaries(tmp_path) == []


def test_pickle_sink_handles_lambdas_and_local_classes(tmp_path):
    class Local:
        def __init__(self, value):
            self.value = value

    sink = pickles(tmp_path)
    store(sink, 0, lambda y: y + 41)
    store(sink, 1, Local(7))
    with open(tmp_path / f"{NAME}_0.pickle", "rb") as stream:
        assert pickle.load(stream)(1) == 42
    with open(tmp_path / f"{NAME}_1.pickle", "rb") as stream:
        assert pickle.load(stream).value == 7


def test_unpicklable_value_fails_naming_the_call(tmp_path):
    sink = pickles(tmp_path)
    with pytest.raises(TypeError, match="call 5") as info:
        store(sink, 5, threading.Lock())
    assert "pickle" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_write_pickle_is_atomic(tmp_path):
    target = tmp_path / "value.pickle"
    write_pickle(target, {"a": [1, 2]})
    with pytest.raises(TypeError, match="cannot be pickled"):
        write_pickle(target, threading.Lock())
    with open(target, "rb") as stream:
        assert pickle.load(stream) == {"a": [1, 2]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["value.pickle"]


@pytest.mark.parametrize("reported", [True, False], ids=["reported", "older-manifest"])
def test_container_is_built_from_what_the_workers_reported(
    tmp_path, monkeypatch, reported
):
    stacking = Stacking((None, 2), 0, "float64")
    sink = per_call(tmp_path, n_inputs=3, stacking=stacking)
    stored = [sink.store(i, np.full(2, float(i))) for i in range(3)]
    if not reported:  # a manifest written before shapes were recorded
        stored = [StoredFile(file.path) for file in stored]
    opened = []
    real_open = acme.results.hdf5.open_h5
    monkeypatch.setattr(
        acme.results.hdf5,
        "open_h5",
        lambda path, mode: opened.append(mode) or real_open(path, mode),
    )
    sink.finalize(stored)
    assert opened == ([] if reported else ["r"] * 3)
    with h5py.File(tmp_path / f"{NAME}.h5", "r") as h5:
        np.testing.assert_array_equal(h5["result_0"][()], [[0, 0], [1, 1], [2, 2]])
