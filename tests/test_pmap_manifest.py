"""The manifest a run leaves in its folder, and ``compute()`` twice on one map.

The user functions are in ``resume_funcs.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import pytest
from resume_funcs import (
    BROKEN,
    N_CALLS,
    SECOND_RUN,
    fix,
    flaky,
    flaky_row,
    h5_value,
    hidden_entries,
    manifest,
    ran,
    run_failing,
    shifted,
    statuses,
)

import acme
from acme import ParallelMap

# -- the manifest ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "mode_files"),
    [
        ({}, [f"flaky_payload/flaky_{i}.h5" for i in range(3)]),
        ({"single_file": True}, ["flaky.h5"] * 3),
        ({"write_pickle": True}, [f"flaky_{i}.pickle" for i in range(3)]),
    ],
)
def test_manifest_contents(client, tmp_path, state, options, mode_files):
    out = tmp_path / "out"
    fix(state)
    with ParallelMap(flaky, [7, 7, 8], state, output_dir=out, **options) as pmap:
        pending = manifest(out)
        pmap.compute()
    assert [c["status"] for c in pending["calls"]] == ["pending"] * 3
    text = (out / ".acme_flaky.json").read_text(encoding="utf-8")
    data = json.loads(text)  # valid JSON after the run
    assert data["acme_version"] == acme.__version__
    assert flaky.__module__ in data["function"]
    assert flaky.__qualname__ in data["function"]
    assert data["n_inputs"] == 3
    assert isinstance(data["mode"], str)
    assert data["result_shape"] is None
    prints = data["fingerprints"]
    assert len(prints) == 3
    assert all(re.fullmatch(r"[0-9a-f]{64}", p) for p in prints)
    assert prints[0] == prints[1] != prints[2]  # identical arguments, same print
    assert pending["fingerprints"] == prints
    assert [(c["status"], c["file"]) for c in data["calls"]] == [
        ("done", f) for f in mode_files
    ]
    for call in data["calls"]:  # what makes a result file checkable on resume
        if call["file"].endswith(".pickle"):
            assert call["size"] > 0 and len(call["sha256"]) == 64
        else:
            assert call["datasets"] and all("result_" in d for d in call["datasets"])
    assert hidden_entries(out) == []


def test_manifest_modes_and_shape_differ(client, tmp_path, state):
    modes = set()
    for k, options in enumerate(({}, {"single_file": True}, {"write_pickle": True})):
        with ParallelMap(
            flaky, [1, 2], state, output_dir=tmp_path / f"o{k}", **options
        ):
            pass
        modes.add(manifest(tmp_path / f"o{k}")["mode"])
    assert len(modes) == 3
    with ParallelMap(
        flaky_row,
        [1, 2],
        state,
        output_dir=tmp_path / "shaped",
        result_shape=[3, None],
        result_dtype="float32",
    ):
        pass
    data = manifest(tmp_path / "shaped", "flaky_row")
    assert data["result_shape"] == [3, 2]
    assert data["result_dtype"] == "float32"


# -- compute() twice ------------------------------------------------------------------


def test_compute_twice_reruns_everything(client, tmp_path, state, acme_log):
    out = tmp_path / "out"
    Path(state, "offset").write_text("0")
    with ParallelMap(shifted, list(range(4)), state, output_dir=out) as pmap:
        first = pmap.compute()
        assert ran(state) == [0, 1, 2, 3]
        assert [h5_value(p) for p in first] == [[0], [1], [2], [3]]
        Path(state, "offset").write_text("100")
        acme_log.records.clear()
        second = pmap.compute()
    assert ran(state) == [0, 1, 2, 3]
    assert "Preparing 4 parallel calls" in acme_log.text
    assert second == first
    assert [h5_value(p) for p in second] == [[100], [101], [102], [103]]
    with h5py.File(out / "shifted.h5", "r") as h5:
        assert h5["comp_3"]["result_0"][()].tolist() == [103]
    assert statuses(out, "shifted") == ["done"] * 4
    assert hidden_entries(out) == []


def test_compute_twice_with_resume_runs_nothing_new(client, tmp_path, state, acme_log):
    out = tmp_path / "out"
    run_failing(out, state)
    ran(state)
    fix(state)
    with ParallelMap(
        flaky, list(range(N_CALLS)), state, output_dir=out, resume=True, **SECOND_RUN
    ) as pmap:
        first = pmap.compute()
        assert ran(state) == list(BROKEN)
        acme_log.records.clear()
        second = pmap.compute()
    assert ran(state) == []
    assert "Preparing 0 parallel calls" in acme_log.text
    assert second == first
