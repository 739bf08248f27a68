"""Results on disk can be trusted: never overwritten, mixed up or faked.

Each test reproduces one way results went wrong on a real process-based
LocalCluster and reads every file back with h5py or pickle; the user
functions they share are in ``trust_funcs.py``, resumed runs in
``test_resume_trust.py``.
"""

from __future__ import annotations

import functools
import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest
from trust_funcs import N, executions, none_at_one, read_comp, record, square

from acme import ParallelMap
from acme.errors import (
    AcmeValueError,
    ComputationError,
    OutputExistsError,
)


def scale(x, factor):
    return x * factor


def row(x, state):
    record(state, x)
    if x == 2:
        raise ValueError("no row for 2")
    return np.full(3, float(x))


# -- defect 1: a user's file is never overwritten ------------------------------------


def test_a_users_file_named_like_a_result_keeps_the_folder_closed(
    process_client, tmp_path, state
):
    out = tmp_path / "out"
    out.mkdir()
    (out / "none_at_one_0.h5").write_bytes(b"the user's own data")
    with pytest.raises(OutputExistsError, match="holds a previous run of none_at_one"):
        ParallelMap(none_at_one, list(range(N)), state, output_dir=out)
    assert (out / "none_at_one_0.h5").read_bytes() == b"the user's own data"
    assert executions(state) == []


def plant(x, out):
    if x == 0:  # a file with a result's name appears while the run goes on
        Path(out, "plant_0.h5").write_bytes(b"appeared meanwhile")
    return None if x == 1 else x


def test_a_file_appearing_during_the_run_is_not_replaced(process_client, tmp_path):
    out = tmp_path / "out"
    with ParallelMap(plant, list(range(N)), str(out), output_dir=out) as pmap:
        files = pmap.compute()
    assert (out / "plant_0.h5").read_bytes() == b"appeared meanwhile"
    assert files == [
        str(out / "plant_payload" / f"plant_{i}.{'pickle' if i == 1 else 'h5'}")
        for i in range(N)
    ]
    with open(files[1], "rb") as stream:
        assert pickle.load(stream) == [None]
    with h5py.File(files[2], "r") as h5:
        assert h5["result_0"][()].tolist() == [2]
    assert pmap.results_container is None


def test_a_file_appearing_before_compute_is_not_removed(
    process_client, tmp_path, state
):
    out = tmp_path / "out"
    with ParallelMap(none_at_one, list(range(N)), state, output_dir=out) as pmap:
        (out / "none_at_one_0.h5").write_bytes(b"the user's own data")
        files = pmap.compute()
    assert (out / "none_at_one_0.h5").read_bytes() == b"the user's own data"
    assert files[0] == str(out / "none_at_one_payload" / "none_at_one_0.h5")


# -- defect 2: a second compute() never mixes in results of the first ----------------


def test_failing_call_of_a_second_compute_leaves_no_old_result(
    process_client, tmp_path, state
):
    out = tmp_path / "out"
    pmap = ParallelMap(square, [0, 1, 2], state, output_dir=out)
    with pmap:
        pmap.compute()
        pmap.argv[0] = [0, 1, 99]  # Syncopy edits the tables like this
        with pytest.raises(ComputationError) as info:
            pmap.compute()
    assert info.value.failed == [2]
    assert info.value.results[2] is None
    container = out / "square.h5"
    assert read_comp(container, 0) == [0] and read_comp(container, 1) == [1]
    with h5py.File(container, "r") as h5, pytest.raises(KeyError):
        h5["comp_2"]["result_0"]
    assert not (out / "square_payload" / "square_2.h5").exists()


# -- defect 3: resume never mixes two functions ---------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (functools.partial(scale, factor=2), functools.partial(scale, factor=1000)),
        (lambda x: x + 1, lambda x: x * 1000),
    ],
    ids=["partials", "lambdas"],
)
def test_resume_refuses_another_function_of_the_same_name(
    process_client, tmp_path, first, second
):
    out = tmp_path / "out"
    with ParallelMap(first, list(range(N)), output_dir=out) as pmap:
        pmap.compute()
    with pytest.raises(AcmeValueError, match=r"cannot resume.*function"):
        ParallelMap(second, list(range(N)), output_dir=out, resume=True)


def test_resume_accepts_the_same_partial_again(process_client, tmp_path):
    out = tmp_path / "out"
    with ParallelMap(functools.partial(scale, factor=2), [1, 2], output_dir=out) as p:
        p.compute()
    with ParallelMap(
        functools.partial(scale, factor=2), [1, 2], output_dir=out, resume=True
    ) as pmap:
        files = pmap.compute()
    assert [read_comp(out / "scale.h5", i) for i in range(2)] == [[2], [4]]
    assert len(files) == 2


# -- defect 4: a truncated result file is computed again -------------------------------


@pytest.mark.parametrize("shape", [None, (None, 3)], ids=["links", "stacked"])
def test_truncated_result_file_is_computed_again(
    process_client, tmp_path, state, shape
):
    out = tmp_path / "out"
    options = {"output_dir": out, "result_shape": shape}
    with ParallelMap(row, [0, 1, 3, 4], state, **options) as pmap:
        pmap.compute()
    executions(state)
    victim = out / "row_payload" / "row_1.h5"
    victim.write_bytes(victim.read_bytes()[:500])  # a partial copy, a full quota
    with ParallelMap(row, [0, 1, 3, 4], state, resume=True, **options) as pmap:
        pmap.compute()
    assert executions(state) == ["1"]
    with h5py.File(out / "row.h5", "r") as h5:
        if shape is None:
            assert h5["comp_1"]["result_0"][()].tolist() == [1.0] * 3
        else:
            np.testing.assert_array_equal(h5["result_0"][1], [1.0] * 3)


# -- defect 5: a failed call never reads as data ---------------------------------------


@pytest.mark.parametrize("single_file", [False, True], ids=["virtual", "single"])
def test_failed_call_reads_as_nan_in_the_stacked_dataset(
    process_client, tmp_path, state, single_file
):
    out = tmp_path / "out"
    with ParallelMap(
        row,
        list(range(N)),
        state,
        output_dir=out,
        result_shape=(None, 3),
        single_file=single_file,
    ) as pmap:
        with pytest.raises(ComputationError):
            pmap.compute()
    with h5py.File(out / "row.h5", "r") as h5:
        data = h5["result_0"][()]
    assert np.isnan(data[2]).all()
    np.testing.assert_array_equal(data[[0, 1, 3]], [[0.0] * 3, [1.0] * 3, [3.0] * 3])


def test_integer_stacking_fills_failed_calls_with_zero(process_client, tmp_path, state):
    out = tmp_path / "out"
    with ParallelMap(
        row,
        list(range(N)),
        state,
        output_dir=out,
        result_shape=(None, 3),
        result_dtype="int32",
    ) as pmap:
        with pytest.raises(ComputationError):
            pmap.compute()
    with h5py.File(out / "row.h5", "r") as h5:
        assert h5["result_0"].fillvalue == 0
        assert h5["result_0"][2].tolist() == [0, 0, 0]
