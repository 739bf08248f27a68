"""Results on disk end to end on real LocalClusters.

Every test gives ``output_dir`` explicitly unless it checks where the default
folder goes, so nothing is written beside this file.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import os
import pickle
import re
import shutil
import sys
import threading
from pathlib import Path

import dask.config
import h5py
import numpy as np
import pytest

from acme import ParallelMap
from acme.errors import ComputationError

TIMESTAMP = r"ACME_\d{8}-\d{6}-\d{6}"


# --- functions run on the workers (module level: importable by worker processes) ------


def square(x):
    return x**2


def pair(x):
    return x, x + 0.5


def ramp(x):
    return np.arange(6.0) + 10 * x


def block(x):
    return np.arange(9.0).reshape(3, 3) + x


def wide(x):
    return np.full((10, 1234), float(x)) + np.arange(1234)


def grid(x):
    return np.arange(35.0).reshape(5, 7) * (x + 1)


def with_extras(x):
    return np.full(3, float(x)), x * 2, f"label{x}"


def misfit(x):
    return np.zeros(5) if x == 2 else np.zeros(4)


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


def scale(x, factor=1):
    return x * factor


# --- helpers --------------------------------------------------------------------------


def run(func, n_or_args, output_dir, **kwargs):
    """``compute()`` a map; return its value and ``results_container``."""
    args = list(range(n_or_args)) if isinstance(n_or_args, int) else n_or_args
    with ParallelMap(func, args, output_dir=output_dir, **kwargs) as pmap:
        value = pmap.compute()
        container = pmap.results_container
    return value, container


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if p.name.endswith(".tmp")]


def log_files(folder: Path, name: str) -> list[Path]:
    pattern = re.compile(rf"ACME_{re.escape(name)}_\d{{8}}-\d{{6}}\.log")
    return [p for p in folder.iterdir() if pattern.fullmatch(p.name)]


def payload_paths(folder: Path, name: str, n: int) -> list[str]:
    return [str(folder / f"{name}_payload" / f"{name}_{i}.h5") for i in range(n)]


# --- default layout (5.2) -------------------------------------------------------------


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


# --- single file (5.4) ----------------------------------------------------------------


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


# --- result_shape (5.5) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("func", "shape", "expected"),
    [
        (ramp, (None, 6), lambda n: np.stack([ramp(i) for i in range(n)])),
        (ramp, (6, None), lambda n: np.stack([ramp(i) for i in range(n)], axis=1)),
        (
            block,
            (3, None, 3),
            lambda n: np.stack([block(i) for i in range(n)], axis=1),
        ),
    ],
    ids=["rows", "columns", "middle"],
)
def test_stacking_virtual_dataset(client, tmp_path, monkeypatch, func, shape, expected):
    out = tmp_path / "out"
    name = func.__name__
    paths, container = run(func, 4, out, result_shape=shape)
    assert paths == payload_paths(out, name, 4)
    assert container == str(out / f"{name}.h5")
    with h5py.File(container, "r") as h5:
        assert list(h5) == ["result_0"]
        dataset = h5["result_0"]
        assert dataset.is_virtual
        assert dataset.dtype.name == "float64"
        files = sorted(source.file_name for source in dataset.virtual_sources())
        np.testing.assert_array_equal(dataset[()], expected(4))
    assert files == [f"{name}_payload/{name}_{i}.h5" for i in range(4)]
    # relative sources: the whole folder can move
    moved = tmp_path / "moved"
    shutil.move(str(out), str(moved))
    monkeypatch.chdir(moved / f"{name}_payload")
    with h5py.File(moved / f"{name}.h5", "r") as h5:
        np.testing.assert_array_equal(h5["result_0"][()], expected(4))


@pytest.mark.parametrize(
    ("func", "inf_shape", "fixed_shape", "inf_axis"),
    [
        (wide, (None, 10, np.inf), (None, 10, 1234), 2),
        (grid, (None, np.inf, 7), (None, 5, 7), 1),
        (grid, (np.inf, None, 7), (5, None, 7), 0),
        (grid, (5, np.inf, None), (5, 7, None), 1),
    ],
    ids=["last", "first-of-slot", "before-stacking", "stacking-last"],
)
@pytest.mark.parametrize("single_file", [False, True], ids=["per-call", "single"])
def test_inf_axis(
    client, tmp_path, func, inf_shape, fixed_shape, inf_axis, single_file
):
    n = 4
    _, grown = run(
        func, n, tmp_path / "inf", result_shape=inf_shape, single_file=single_file
    )
    _, fixed = run(
        func, n, tmp_path / "fixed", result_shape=fixed_shape, single_file=single_file
    )
    expected_shape = tuple(n if s is None else s for s in fixed_shape)
    with h5py.File(grown, "r") as h5, h5py.File(fixed, "r") as reference:
        dataset = h5["result_0"]
        assert dataset.is_virtual is (not single_file)
        assert dataset.shape == expected_shape
        assert dataset.maxshape[inf_axis] is None
        assert [m for k, m in enumerate(dataset.maxshape) if k != inf_axis] == [
            s for k, s in enumerate(expected_shape) if k != inf_axis
        ]
        assert reference["result_0"].shape == expected_shape
        np.testing.assert_array_equal(dataset[()], reference["result_0"][()])
        axis = fixed_shape.index(None)
        np.testing.assert_array_equal(
            dataset[()], np.stack([func(i) for i in range(n)], axis=axis)
        )


@pytest.mark.parametrize("single_file", [False, True], ids=["per-call", "single"])
def test_result_dtype(client, tmp_path, single_file):
    out = tmp_path / "out"
    paths, container = run(
        ramp,
        3,
        out,
        result_shape=(None, 6),
        result_dtype="float16",
        single_file=single_file,
    )
    expected = np.stack([ramp(i) for i in range(3)]).astype("float16")
    with h5py.File(container, "r") as h5:
        assert h5["result_0"].dtype.name == "float16"
        np.testing.assert_array_equal(h5["result_0"][()], expected)
    if not single_file:
        with h5py.File(paths[1], "r") as h5:  # per-call files keep what was returned
            assert h5["result_0"].dtype.name == "float64"
            np.testing.assert_array_equal(h5["result_0"][()], ramp(1))


def test_extras_are_linked_per_call(client, tmp_path):
    out = tmp_path / "out"
    paths, container = run(with_extras, 3, out, result_shape=(None, 3))
    with h5py.File(container, "r") as h5:
        assert sorted(h5) == ["comp_0", "comp_1", "comp_2", "result_0"]
        np.testing.assert_array_equal(
            h5["result_0"][()], np.stack([np.full(3, float(i)) for i in range(3)])
        )
        for i in range(3):
            group = h5[f"comp_{i}"]
            assert sorted(group) == ["result_1", "result_2"]
            for k in (1, 2):
                link = group.get(f"result_{k}", getlink=True)
                assert isinstance(link, h5py.ExternalLink)
                assert link.filename == f"with_extras_payload/with_extras_{i}.h5"
                assert link.path == f"/result_{k}"
            assert group["result_1"][()] == 2 * i
            assert group["result_2"].asstr()[()] == f"label{i}"
    with h5py.File(paths[2], "r") as h5:
        assert sorted(h5) == ["result_0", "result_1", "result_2"]


def test_extras_in_single_file(client, tmp_path):
    out = tmp_path / "out"
    _, container = run(with_extras, 3, out, result_shape=(None, 3), single_file=True)
    with h5py.File(container, "r") as h5:
        assert sorted(h5) == ["comp_0", "comp_1", "comp_2", "result_0"]
        assert not h5["result_0"].is_virtual
        np.testing.assert_array_equal(h5["result_0"][1], np.full(3, 1.0))
        for i in range(3):
            assert sorted(h5[f"comp_{i}"]) == ["result_1", "result_2"]
            assert h5[f"comp_{i}/result_1"][()] == 2 * i
            assert h5[f"comp_{i}/result_2"].asstr()[()] == f"label{i}"


def test_single_file_stacking_without_extras_has_only_the_dataset(client, tmp_path):
    _, container = run(
        ramp, 2, tmp_path / "out", result_shape=(None, 6), single_file=True
    )
    with h5py.File(container, "r") as h5:
        assert list(h5) == ["result_0"]
        np.testing.assert_array_equal(h5["result_0"][()], [ramp(0), ramp(1)])


@pytest.mark.parametrize("single_file", [False, True], ids=["per-call", "single"])
def test_result_not_fitting_its_slot_fails_that_call(client, tmp_path, single_file):
    out = tmp_path / "out"
    with ParallelMap(
        misfit,
        list(range(4)),
        output_dir=out,
        result_shape=(None, 4),
        single_file=single_file,
    ) as pmap:
        with pytest.raises(ComputationError) as info:
            pmap.compute()
    assert info.value.failed == [2]
    message = str(info.value.exceptions[2])
    assert "(5,)" in message and "(4,)" in message
    assert "call 2:" in str(info.value)
    if not single_file:
        assert sorted(p.name for p in (out / "misfit_payload").iterdir()) == [
            "misfit_0.h5",
            "misfit_1.h5",
            "misfit_3.h5",
        ]
        assert temporaries(out) == []
    # the failed call's slot reads the fill value NaN, never data-like zeros
    expected = np.zeros((4, 4))
    expected[2] = np.nan
    with h5py.File(out / "misfit.h5", "r") as h5:
        np.testing.assert_array_equal(h5["result_0"][()], expected)


# --- write_pickle (5.6) ---------------------------------------------------------------


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


# --- emergency pickling (5.7) ---------------------------------------------------------


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


# --- names and folders (5.1) ----------------------------------------------------------


def test_lambda_name_is_sanitised(client, tmp_path):
    out = tmp_path / "out"
    paths, container = run(lambda x: x + 1, 2, out)
    assert container == str(out / "_lambda_.h5")
    assert paths == payload_paths(out, "_lambda_", 2)
    assert len(log_files(out, "_lambda_")) == 1
    with h5py.File(container, "r") as h5:
        assert h5["comp_1"]["result_0"][()].tolist() == [2]


def test_partial_uses_the_wrapped_name(client, tmp_path):
    out = tmp_path / "out"
    _, container = run(functools.partial(scale, factor=3), 2, out)
    assert container == str(out / "scale.h5")
    with h5py.File(container, "r") as h5:
        assert h5["comp_1"]["result_0"][()].tolist() == [3]


@pytest.fixture
def module_function(tmp_path, monkeypatch, request):
    """``twice`` from a module file in ``tmp_path / "src"``, imported via sys.path."""
    source = tmp_path / "src"
    source.mkdir()
    module = f"acme_outputs_{request.node.name.replace('[', '_').replace(']', '')}"
    (source / f"{module}.py").write_text("def twice(x):\n    return 2 * x\n")
    monkeypatch.syspath_prepend(str(source))
    request.addfinalizer(lambda: sys.modules.pop(module, None))
    return importlib.import_module(module).twice, source


def single_timestamped_folder(base: Path) -> Path:
    folders = [p for p in base.iterdir() if re.fullmatch(TIMESTAMP, p.name)]
    assert len(folders) == 1, folders
    return folders[0]


def test_default_folder_beside_the_source_file(client, module_function):
    twice, source = module_function
    paths, container = run(twice, [1, 2, 3], None)
    folder = single_timestamped_folder(source)
    assert container == str(folder / "twice.h5")
    assert paths == payload_paths(folder, "twice", 3)
    with h5py.File(container, "r") as h5:
        assert [h5[f"comp_{i}"]["result_0"][()].tolist() for i in range(3)] == [
            [2],
            [4],
            [6],
        ]


def test_output_base_from_configuration(client, module_function, tmp_path, monkeypatch):
    twice, source = module_function
    base = tmp_path / "base"
    monkeypatch.setenv("DASK_ACME__OUTPUT_BASE", str(base))
    dask.config.refresh()
    try:
        _, container = run(twice, [1, 2], None)
    finally:
        monkeypatch.delenv("DASK_ACME__OUTPUT_BASE")
        dask.config.refresh()
    folder = single_timestamped_folder(base)
    assert container == str(folder / "twice.h5")
    assert not [p for p in source.iterdir() if p.name.startswith("ACME_")]


def _generated():
    namespace: dict = {"__name__": "generated_by_exec"}
    exec("def generated(x):\n    return -x\n", namespace)
    return namespace["generated"]


@pytest.mark.parametrize("func", [abs, _generated()], ids=["builtin", "exec"])
def test_default_folder_without_source_file_is_cwd(client, tmp_path, monkeypatch, func):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    _, container = run(func, [-1, -2], None)
    folder = single_timestamped_folder(work)
    name = func.__name__
    assert container == str(folder / f"{name}.h5")
    with h5py.File(container, "r") as h5:
        assert h5["comp_1"]["result_0"][()].tolist() == [func(-2)]


def test_log_file_holds_the_run(client, tmp_path):
    out = tmp_path / "out"
    _, container = run(square, 3, out)
    (log,) = log_files(out, "square")
    text = log.read_text()
    assert "This is ACME v." in text
    assert "Preparing 3 parallel calls of `square` using 2 workers" in text
    assert "SUCCESS!" in text
    assert f"Results have been saved to {container}" in text
    assert "ACME - INFO - " in text
