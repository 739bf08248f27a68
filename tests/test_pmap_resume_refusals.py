"""When a folder may not be resumed or reused: refusals, and what starts afresh.

The user functions are in ``resume_funcs.py``.
"""

from __future__ import annotations

import os

import pytest
from resume_funcs import (
    N_CALLS,
    SECOND_RUN,
    Other,
    fix,
    flaky,
    flaky_row,
    h5_value,
    ran,
    statuses,
)

from acme import ParallelMap
from acme.errors import (
    AcmeValueError,
    OutputError,
    OutputExistsError,
)

# -- errors -------------------------------------------------------------------------


def test_used_folder_without_resume_is_refused(client, tmp_path, state):
    out = tmp_path / "out"
    fix(state)
    with ParallelMap(flaky, list(range(N_CALLS)), state, output_dir=out) as pmap:
        first = pmap.compute()
    stamps = {p: os.stat(p).st_mtime_ns for p in first}
    with pytest.raises(OutputExistsError) as info:
        ParallelMap(flaky, list(range(N_CALLS)), state, output_dir=out)
    error = info.value
    assert isinstance(error, FileExistsError) and isinstance(error, OutputError)
    message = str(error)
    assert f"automatic creation of output folder {out} failed" in message
    assert "resume=True" in message
    assert {p: os.stat(p).st_mtime_ns for p in first} == stamps


@pytest.mark.parametrize(
    "artefact", [".acme_flaky.json", "flaky_payload/", "flaky.h5", "flaky_3.pickle"]
)
def test_any_artefact_marks_a_previous_run(tmp_path, state, artefact):
    out = tmp_path / "out"
    out.mkdir()
    if artefact.endswith("/"):
        (out / artefact).mkdir()
    else:
        (out / artefact).write_text("{}")
    with pytest.raises(OutputExistsError, match="automatic creation of output folder"):
        ParallelMap(flaky, list(range(N_CALLS)), state, output_dir=out)
    # artefacts but no (usable) manifest: nothing to verify against
    if artefact != ".acme_flaky.json":
        with pytest.raises(AcmeValueError, match="cannot resume"):
            ParallelMap(flaky, list(range(N_CALLS)), state, output_dir=out, resume=True)
    assert sorted(os.listdir(out)) == [artefact.rstrip("/")]


def test_corrupt_manifest_cannot_resume(tmp_path, state):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".acme_flaky.json").write_text("{not json")
    with pytest.raises(AcmeValueError, match="cannot resume"):
        ParallelMap(flaky, list(range(N_CALLS)), state, output_dir=out, resume=True)


def test_other_functions_run_does_not_block(client, tmp_path, state):
    out = tmp_path / "out"
    out.mkdir()
    (out / "shifted.h5").write_text("")
    (out / "shifted_payload").mkdir()
    (out / "notes.txt").write_text("mine")
    fix(state)
    with ParallelMap(flaky, [0, 1], state, output_dir=out) as pmap:
        assert h5_value(pmap.compute()[1]) == [10]
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"args": list(range(1, N_CALLS + 1))}, "call 0"),
        ({"args": list(range(N_CALLS + 1))}, "n_inputs"),
        ({"single_file": True}, "mode"),
        ({"result_shape": (None,)}, "result_shape"),
        ({"func": Other.flaky}, "Other.flaky"),
    ],
)
def test_resume_with_differences_is_refused(client, tmp_path, state, change, fragment):
    out = tmp_path / "out"
    with ParallelMap(flaky, list(range(N_CALLS)), state, output_dir=out):
        pass  # the constructor writes the manifest
    func = change.pop("func", flaky)
    args = change.pop("args", list(range(N_CALLS)))
    with pytest.raises(AcmeValueError, match="cannot resume") as info:
        ParallelMap(func, args, state, output_dir=out, resume=True, **change)
    assert fragment in str(info.value)


def test_resume_with_other_dtype_is_refused(client, tmp_path, state):
    out = tmp_path / "out"
    with ParallelMap(
        flaky_row, list(range(N_CALLS)), state, output_dir=out, result_shape=(None, 3)
    ):
        pass
    with pytest.raises(AcmeValueError, match="cannot resume") as info:
        ParallelMap(
            flaky_row,
            list(range(N_CALLS)),
            state,
            output_dir=out,
            result_shape=(None, 3),
            result_dtype="float32",
            resume=True,
        )
    assert "float32" in str(info.value)


@pytest.mark.parametrize("exists", [False, True])
def test_resume_in_fresh_folder_starts_afresh(
    client, tmp_path, state, acme_log, exists
):
    out = tmp_path / "out"
    if exists:
        out.mkdir()
    fix(state)
    with ParallelMap(
        flaky, list(range(N_CALLS)), state, output_dir=out, resume=True
    ) as pmap:
        info = [
            r
            for r in acme_log.records
            if r.levelname == "INFO" and "no previous run" in r.getMessage().lower()
        ]
        assert len(info) == 1
        results = pmap.compute()
    assert ran(state) == list(range(N_CALLS))
    assert [h5_value(p) for p in results] == [[i * 10] for i in range(N_CALLS)]


def test_edited_argv_is_fingerprinted_again(client, tmp_path, state):
    out = tmp_path / "out"
    fix(state)
    pmap = ParallelMap(flaky, list(range(N_CALLS)), state, output_dir=out)
    with pmap:
        pmap.argv[0] = [x + 1 for x in range(N_CALLS)]  # Syncopy-style edit
        pmap.compute()
    assert ran(state) == list(range(1, N_CALLS + 1))
    # the manifest holds the edited arguments, not the constructor's
    with pytest.raises(AcmeValueError, match="cannot resume"):
        ParallelMap(flaky, list(range(N_CALLS)), state, output_dir=out, resume=True)
    edited = list(range(1, N_CALLS + 1))
    pmap = ParallelMap(flaky, edited, state, output_dir=out, resume=True, **SECOND_RUN)
    with pmap:
        assert len(pmap.compute()) == N_CALLS
        assert ran(state) == []
        # an edit after a compatible construction is caught when compute() starts
        pmap.argv[0] = [x + 2 for x in range(N_CALLS)]
        with pytest.raises(AcmeValueError, match="cannot resume"):
            pmap.compute()
    assert ran(state) == []
    assert statuses(out) == ["done"] * N_CALLS
