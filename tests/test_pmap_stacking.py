"""Stacked results on disk (``result_shape``, ``result_dtype``) on real LocalClusters:
the container's virtual dataset, the single file's dataset, extras, misfits.

Helpers are in ``outputs_helpers.py``.
"""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest
from outputs_helpers import payload_paths, run, temporaries

from acme import ParallelMap
from acme.errors import ComputationError

# --- functions run on the workers (module level: importable by worker processes) ------


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


# --- result_shape --------------------------------------------------------------------


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
