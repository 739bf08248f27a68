"""Results on disk end to end on real LocalClusters: the default layout, the
single file, pickles and the emergency pickles.

Every test gives ``output_dir`` explicitly, so nothing is written beside this
file. Helpers are in ``outputs_helpers.py``.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import shutil
import threading
from pathlib import Path

import h5py
import numpy as np
import pytest
from outputs_helpers import log_files, payload_paths, run, square, temporaries, visible

from acme import ParallelMap
from acme.errors import ComputationError

# --- functions run on the workers (module level: importable by worker processes) ------


def pair(x):
    return x, x + 0.5


def big_and_small(x):
    return np.full(500, float(x)) + np.arange(500), x * 3


def sometimes_unstorable(x):
    if x == 1:
        return None
    if x == 11:
        return {"x": x}
    return x * 1.5


def make_adder(x):
    return lambda y: x + y


def local_object(x):
    class Box:
        def __init__(self, value):
            self.value = value

    return Box(x)


def lock_on_one(x):
    return threading.Lock() if x == 1 else x


# --- default layout ------------------------------------------------------------------


def test_default_layout(client, tmp_path):
    out = tmp_path / "out"
    paths, container = run(square, 4, out)
    assert paths == payload_paths(out, "square", 4)
    assert all(os.path.isabs(p) for p in paths)
    assert container == str(out / "square.h5")
    logs = log_files(out, "square")
    assert len(logs) == 1
    assert visible(out) == sorted(["square.h5", "square_payload", logs[0].name])
    assert sorted(p.name for p in (out / "square_payload").iterdir()) == [
        f"square_{i}.h5" for i in range(4)
    ]
    assert temporaries(out) == []
    with h5py.File(container, "r") as h5:
        assert sorted(h5) == [f"comp_{i}" for i in range(4)]
        for i in range(4):
            link = h5.get(f"comp_{i}", getlink=True)
            assert isinstance(link, h5py.ExternalLink)
            assert link.filename == f"square_payload/square_{i}.h5"
            assert not os.path.isabs(link.filename)
            assert link.path == "/"
            assert list(h5[f"comp_{i}"]) == ["result_0"]
            assert h5[f"comp_{i}"]["result_0"][()].tolist() == [i**2]
    for i, path in enumerate(paths):
        with h5py.File(path, "r") as h5:
            assert h5["result_0"][()].tolist() == [i**2]


def test_container_survives_chdir_and_moving_the_folder(
    process_client, tmp_path, monkeypatch
):
    out = tmp_path / "out"
    _, container = run(pair, 3, out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with h5py.File(container, "r") as h5:
        for i in range(3):
            np.testing.assert_array_equal(h5[f"comp_{i}"]["result_0"][()], [i, i + 0.5])
    moved = tmp_path / "moved" / "results"
    moved.parent.mkdir()
    shutil.move(str(out), str(moved))
    with h5py.File(moved / "pair.h5", "r") as h5:
        for i in range(3):
            np.testing.assert_array_equal(h5[f"comp_{i}"]["result_0"][()], [i, i + 0.5])


def test_deleting_payload_breaks_the_container(client, tmp_path):
    out = tmp_path / "out"
    _, container = run(square, 2, out)
    shutil.rmtree(out / "square_payload")
    with h5py.File(container, "r") as h5:
        with pytest.raises(KeyError):
            h5["comp_0"]["result_0"]


def test_output_dir_expands_user(client, tmp_path):
    paths, container = run(square, 2, "~/results")
    assert container == str(tmp_path / "results" / "square.h5")
    assert paths == payload_paths(tmp_path / "results", "square", 2)


def test_existing_empty_output_dir_is_accepted(client, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    paths, _ = run(square, 2, out, single_file=True)
    assert paths == [str(out / "square.h5")]


# --- single file ---------------------------------------------------------------------


def test_single_file(client, tmp_path):
    out = tmp_path / "out"
    paths, container = run(pair, 3, out, single_file=True)
    assert paths == [str(out / "pair.h5")]
    assert container == str(out / "pair.h5")
    assert [p.name for p in out.glob("*.h5")] == ["pair.h5"]
    assert not (out / "pair_payload").exists()
    logs = log_files(out, "pair")
    assert visible(out) == sorted(["pair.h5", logs[0].name])
    with h5py.File(container, "r") as h5:
        assert sorted(h5) == ["comp_0", "comp_1", "comp_2"]
        for i in range(3):
            assert isinstance(h5.get(f"comp_{i}", getlink=True), h5py.HardLink)
            assert list(h5[f"comp_{i}"]) == ["result_0"]
            np.testing.assert_array_equal(h5[f"comp_{i}/result_0"][()], [i, i + 0.5])


def test_single_file_concurrent_writers(process_client, tmp_path):
    out = tmp_path / "out"
    paths, _ = run(big_and_small, 20, out, single_file=True)
    assert paths == [str(out / "big_and_small.h5")]
    with h5py.File(paths[0], "r") as h5:
        assert sorted(h5, key=lambda k: int(k.split("_")[1])) == [
            f"comp_{i}" for i in range(20)
        ]
        for i in range(20):
            group = h5[f"comp_{i}"]
            assert sorted(group) == ["result_0", "result_1"]
            np.testing.assert_array_equal(group["result_0"][()], big_and_small(i)[0])
            assert group["result_1"][()] == 3 * i


def test_single_file_unstorable_value_fails_the_call(client, tmp_path):
    out = tmp_path / "out"
    with ParallelMap(
        sometimes_unstorable, list(range(13)), output_dir=out, single_file=True
    ) as pmap:
        with pytest.raises(ComputationError) as info:
            pmap.compute()
    assert info.value.failed == [1, 11]
    assert not list(out.glob("*.pickle"))
    with h5py.File(out / "sometimes_unstorable.h5", "r") as h5:
        assert len(h5["comp_1"]) == 0 and len(h5["comp_11"]) == 0
        assert h5["comp_4/result_0"][()].tolist() == [6.0]


# --- write_pickle --------------------------------------------------------------------


def test_write_pickle(process_client, tmp_path):
    out = tmp_path / "out"
    paths, container = run(pair, 3, out, write_pickle=True)
    assert paths == [str(out / f"pair_{i}.pickle") for i in range(3)]
    assert container is None
    logs = log_files(out, "pair")
    assert visible(out) == sorted(
        [*(f"pair_{i}.pickle" for i in range(3)), logs[0].name]
    )
    for i, path in enumerate(paths):
        with open(path, "rb") as stream:
            assert pickle.load(stream) == (i, i + 0.5)  # raw, not list-wrapped
    assert temporaries(out) == []


def test_write_pickle_lambdas_and_local_classes(process_client, tmp_path):
    adders, _ = run(make_adder, [1, 2], tmp_path / "adders", write_pickle=True)
    boxes, _ = run(local_object, [3, 4], tmp_path / "boxes", write_pickle=True)
    for x, path in zip([1, 2], adders, strict=True):
        with open(path, "rb") as stream:
            assert pickle.load(stream)(10) == x + 10
    for x, path in zip([3, 4], boxes, strict=True):
        with open(path, "rb") as stream:
            box = pickle.load(stream)
        assert type(box).__name__ == "Box" and box.value == x


def test_write_pickle_unpicklable_value_fails_that_call(client, tmp_path):
    out = tmp_path / "out"
    with ParallelMap(lock_on_one, [0, 1, 2], output_dir=out, write_pickle=True) as pmap:
        with pytest.raises(ComputationError) as info:
            pmap.compute()
    assert info.value.failed == [1]
    message = str(info.value.exceptions[1])
    assert "call 1" in message and "pickle" in message
    assert sorted(p.name for p in out.glob("*.pickle")) == [
        "lock_on_one_0.pickle",
        "lock_on_one_2.pickle",
    ]
    with open(out / "lock_on_one_2.pickle", "rb") as stream:
        assert pickle.load(stream) == 2
    assert temporaries(out) == []


# --- emergency pickling --------------------------------------------------------------


def test_emergency_pickling(client, tmp_path, acme_log):
    out = tmp_path / "out"
    name = "sometimes_unstorable"
    paths, container = run(sometimes_unstorable, 17, out)
    expected = [
        str(out / f"{name}_{i}.{'pickle' if i in (1, 11) else 'h5'}") for i in range(17)
    ]
    assert paths == expected
    assert container is None
    assert not (out / f"{name}_payload").exists()
    assert not (out / f"{name}.h5").exists()
    logs = log_files(out, name)
    assert visible(out) == sorted([Path(p).name for p in expected] + [logs[0].name])
    with open(out / f"{name}_1.pickle", "rb") as stream:
        assert pickle.load(stream) == [None]
    with open(out / f"{name}_11.pickle", "rb") as stream:
        assert pickle.load(stream) == [{"x": 11}]
    for i in (0, 10, 16):
        with h5py.File(out / f"{name}_{i}.h5", "r") as h5:
            assert h5["result_0"][()].tolist() == [i * 1.5]
    warnings = [
        r.getMessage()
        for r in acme_log.records
        if r.levelno == logging.WARNING
        and "results have been pickled instead" in r.getMessage()
    ]
    assert len(warnings) == 2
    assert any(
        str(out / f"{name}.h5") in r.getMessage()
        for r in acme_log.records
        if r.levelno == logging.WARNING
    )
    assert "SUCCESS!" not in acme_log.text
    assert f"Results have been saved to {out}" in acme_log.text
    manifest = json.loads((out / f".acme_{name}.json").read_text())
    recorded = json.dumps(manifest)
    assert f"{name}_1.pickle" in recorded and f"{name}_11.pickle" in recorded
    assert f"{name}_payload" not in recorded
    assert temporaries(out) == []
