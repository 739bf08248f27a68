"""Resumed and repeated runs can be trusted: the manifest's paths are checked,
missing pieces recreated, a failed constructor leaves no run behind.

Each test reproduces one way results went wrong on a real process-based
LocalCluster and reads every file back with h5py or pickle; the user
functions they share are in ``trust_funcs.py``.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest
from distributed import Client
from trust_funcs import N, executions, none_at_one, read_comp, record, square

from acme import ParallelMap
from acme.errors import (
    AcmeValueError,
    ComputationError,
    OutputError,
    SlurmError,
)


def ragged(x):
    if x == 0:
        return [[[1, 2], [3]], "tail"]
    return (np.zeros(2), [np.zeros(3), np.zeros(4)])


# -- defect 6: resume never trusts the manifest's paths --------------------------------


def finished_run(out: Path, state: str) -> dict:
    with ParallelMap(square, list(range(N)), state, output_dir=out) as pmap:
        pmap.compute()
    executions(state)
    return json.loads((out / ".acme_square.json").read_text())


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda m: m["calls"][1].update(file="../outside.txt"), "file of call 1"),
        (lambda m: m["calls"][1].update(file=""), "file of call 1"),
        (lambda m: m["calls"][1].update(file="square_payload/square_2.h5"), "call 1"),
        (lambda m: m.update(calls="done"), "'calls'"),
        (lambda m: m.update(calls=[1, 2, 3, 4]), "entry of call 0"),
        (lambda m: m.update(calls=m["calls"][:2]), "'calls'"),
        (lambda m: m.pop("fingerprints"), "fingerprints"),
        (lambda m: m.update(n_inputs="4"), "n_inputs"),
    ],
    ids=[
        "outside",
        "empty",
        "other-call",
        "string",
        "numbers",
        "short",
        "no-prints",
        "typed",
    ],
)
def test_malformed_manifest_cannot_be_resumed(
    process_client, tmp_path, state, edit, problem
):
    out = tmp_path / "out"
    manifest = finished_run(out, state)
    outside = tmp_path / "outside.txt"
    outside.write_text("not acme's")
    edit(manifest)
    (out / ".acme_square.json").write_text(json.dumps(manifest))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(AcmeValueError, match="cannot resume") as info:
        ParallelMap(square, list(range(N)), state, output_dir=out, resume=True)
    assert problem in str(info.value)
    assert outside.read_text() == "not acme's"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert executions(state) == []


# -- defect 9: missing pieces are recreated --------------------------------------------


@pytest.mark.parametrize("single_file", [False, True], ids=["payload", "single"])
def test_resume_recreates_deleted_result_files(
    process_client, tmp_path, state, single_file
):
    out = tmp_path / "out"
    options = {"output_dir": out, "single_file": single_file}
    with ParallelMap(square, list(range(N)), state, **options) as pmap:
        pmap.compute()
    executions(state)
    if single_file:
        (out / "square.h5").unlink()
    else:
        for path in (out / "square_payload").iterdir():
            path.unlink()
        (out / "square_payload").rmdir()
    with ParallelMap(square, list(range(N)), state, resume=True, **options) as pmap:
        pmap.compute()
    assert executions(state) == ["0", "1", "2", "3"]
    assert [read_comp(out / "square.h5", i) for i in range(N)] == [[0], [1], [4], [9]]


def test_compute_again_after_moving_up_pickles(process_client, tmp_path, state):
    out = tmp_path / "out"
    pmap = ParallelMap(none_at_one, list(range(N)), state, output_dir=out)
    with pmap:
        first = pmap.compute()
        second = pmap.compute()
    assert (
        first
        == second
        == [
            str(out / f"none_at_one_{i}.{'pickle' if i == 1 else 'h5'}")
            for i in range(N)
        ]
    )
    assert executions(state) == sorted(["0", "1", "2", "3"] * 2)
    assert not (out / "none_at_one_payload").exists()
    with open(out / "none_at_one_1.pickle", "rb") as stream:
        assert pickle.load(stream) == [None]


def test_resume_of_a_finished_run_with_pickles(process_client, tmp_path, state):
    out = tmp_path / "out"
    with ParallelMap(none_at_one, list(range(N)), state, output_dir=out) as pmap:
        files = pmap.compute()
    executions(state)
    with ParallelMap(
        none_at_one, list(range(N)), state, output_dir=out, resume=True
    ) as pmap:
        assert pmap.compute() == files
    assert executions(state) == []
    with h5py.File(out / "none_at_one_3.h5", "r") as h5:
        assert h5["result_0"][()].tolist() == [3]


# -- defect 10: a failed constructor leaves no run behind ------------------------------


def explode(x, folder):
    raise RuntimeError("the dry run's call fails")


@pytest.mark.parametrize("cause", ["logfile", "dryrun", "no-slurm"])
def test_failed_constructor_can_be_repeated(
    process_client, tmp_path, cause, monkeypatch
):
    import logging

    import dask.config

    out = tmp_path / "out"
    options: dict = {}
    error, func = RuntimeError, square
    if cause == "logfile":
        options = {"logfile": str(tmp_path / "no-such-folder" / "run.log")}
        error = OutputError
    elif cause == "dryrun":
        options, func = {"dryrun": True}, explode
    if cause == "no-slurm":  # SLURM forced, but no `sinfo` answers
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        process_client.close()  # nothing to attach to: acme must start a cluster
        with dask.config.set({"acme.cluster": "slurm"}), pytest.raises(SlurmError):
            ParallelMap(func, [1, 2], str(tmp_path), output_dir=out)
        monkeypatch.undo()
        process_client = Client(process_client.cluster)
    else:
        with pytest.raises(error):
            ParallelMap(func, [1, 2], str(tmp_path), output_dir=out, **options)
    assert not out.exists()
    logger = logging.getLogger("ACME")
    assert all(getattr(h, "target", None) is None for h in logger.handlers)
    with ParallelMap(square, [1, 2], str(tmp_path), output_dir=out) as pmap:
        assert len(pmap.compute()) == 2
    if cause == "no-slurm":
        process_client.close()


def test_failed_constructor_keeps_an_existing_folder(process_client, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError):
        ParallelMap(
            square,
            [1, 2],
            str(tmp_path),
            output_dir=out,
            logfile=str(tmp_path / "no-such-folder" / "run.log"),
        )
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


# -- defect 11: ragged return values are pickled, not failed ---------------------------


def test_ragged_return_values_fall_back_to_pickles(process_client, tmp_path):
    out = tmp_path / "out"
    with ParallelMap(ragged, [0, 1], output_dir=out) as pmap:
        files = pmap.compute()
    assert files == [str(out / f"ragged_{i}.pickle") for i in range(2)]
    with open(files[0], "rb") as stream:
        assert pickle.load(stream) == [[[[1, 2], [3]], "tail"]]
    with open(files[1], "rb") as stream:
        value = pickle.load(stream)[0]
    assert [np.shape(v) for v in value[1]] == [(3,), (4,)]


def test_ragged_return_value_fails_clearly_in_single_file_mode(
    process_client, tmp_path
):
    with ParallelMap(
        ragged, [0, 1], output_dir=tmp_path / "out", single_file=True
    ) as p:
        with pytest.raises(ComputationError, match=r"HDF5|inhomogeneous") as info:
            p.compute()
    assert info.value.failed == [0, 1]


# -- defect 14: temporaries of killed writers go ---------------------------------------


def test_leftover_temporaries_are_removed_on_resume(process_client, tmp_path, state):
    out = tmp_path / "out"
    with ParallelMap(square, list(range(N)), state, output_dir=out) as pmap:
        pmap.compute()
    leftovers = [
        out / "square_payload" / ".square_2.h5.0123456789ab.tmp",
        out / ".square.h5.abcdef012345.tmp",
        out / "..acme_square.json.00112233aabb.tmp",
    ]
    for path in leftovers:
        path.write_bytes(b"half written")
    foreign = out / ".notes.txt.0123456789ab.tmp"
    foreign.write_bytes(b"not ours")
    with ParallelMap(square, list(range(N)), state, output_dir=out, resume=True):
        pass
    assert not any(path.exists() for path in leftovers)
    assert foreign.exists()


# -- 1 of N calls fails: the rest is valid, resume runs only that call -----------------


def flaky(x, state):
    record(state, x)
    if x == 3 and not os.path.exists(os.path.join(state, "fixed")):
        raise ValueError("call 3 is broken")
    return np.arange(x + 1)


def test_one_failing_call_then_resume_runs_only_it(process_client, tmp_path, state):
    out = tmp_path / "out"
    with ParallelMap(flaky, list(range(6)), state, output_dir=out) as pmap:
        with pytest.raises(ComputationError) as info:
            pmap.compute()
    assert info.value.failed == [3]
    assert "call 3: ValueError: call 3 is broken" in str(info.value)
    assert "Traceback of call 3" in str(info.value)
    for i in (0, 1, 2, 4, 5):
        np.testing.assert_array_equal(read_comp(out / "flaky.h5", i), np.arange(i + 1))
    assert executions(state) == ["0", "1", "2", "3", "4", "5"]
    Path(state, "fixed").touch()
    with ParallelMap(flaky, list(range(6)), state, output_dir=out, resume=True) as p:
        files = p.compute()
    assert executions(state) == ["3"]
    assert len(files) == 6
    np.testing.assert_array_equal(read_comp(out / "flaky.h5", 3), np.arange(4))
