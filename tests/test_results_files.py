"""Result files without a cluster: atomic writes, pickles, and the container
built from what the workers reported.

The sinks come from ``sink_helpers.py``.
"""

from __future__ import annotations

import contextlib
import pickle
import threading

import h5py
import numpy as np
import pytest
from sink_helpers import NAME, per_call, pickles, store, temporaries

import acme.results.hdf5
from acme._settings import Stacking
from acme.results._files import StoredFile, atomic_path
from acme.results.pickles import write_pickle

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
