"""Partial failures, the manifest and ``resume`` on LocalClusters.

Every user function here records which calls ran by appending the call index to
``<state>/calls.log``; a flag file ``<state>/fixed`` (or ``<state>/release``) turns a
failing (or blocking) call into a working one without changing the function's
module or qualified name, so a second ``ParallelMap`` can resume the first one's run.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

import h5py
import numpy as np
import pytest

import acme
from acme import ParallelMap
from acme.errors import (
    AcmeValueError,
    ComputationError,
    OutputError,
    OutputExistsError,
)
from acme.results.journal import replay

N_CALLS = 6
BROKEN = (1, 4)
# A second run in the same folder within the same second would pick the first run's
# log file name (ACME_<f>_<YYYYmmdd-HHMMSS>.log); see test_resume_gets_its_own_log.
SECOND_RUN = {"logfile": False}


# -- user functions (module level: same module + qualname in every run) -------------


def _note(state: str, index: int) -> None:
    with open(os.path.join(state, "calls.log"), "a") as handle:
        handle.write(f"{index}\n")


def flaky(x, state):
    """Calls 1 and 4 fail until ``<state>/fixed`` exists."""
    _note(state, x)
    if x in BROKEN and not os.path.exists(os.path.join(state, "fixed")):
        raise ValueError(f"broken call {x}")
    return x * 10


def flaky_row(x, state):
    """Like :func:`flaky`, returning a row to stack."""
    _note(state, x)
    if x in BROKEN and not os.path.exists(os.path.join(state, "fixed")):
        raise ValueError(f"broken call {x}")
    return np.full(3, x * 10.0)


def shifted(x, state):
    """``x`` plus the number stored in ``<state>/offset``."""
    _note(state, x)
    return x + int(Path(state, "offset").read_text())


def gated(x, state):
    """Calls with ``x >= 4`` block until ``<state>/release`` exists (at most 120 s)."""
    _note(state, x)
    if x >= 4:
        deadline = time.monotonic() + 120
        while not os.path.exists(os.path.join(state, "release")):
            if time.monotonic() > deadline:
                raise TimeoutError(f"call {x} was never released")
            time.sleep(0.05)
    return x * 10


class Other:
    @staticmethod
    def flaky(x, state):
        """Same ``__name__`` as :func:`flaky`, different qualified name."""
        return x


# -- helpers ------------------------------------------------------------------------


@pytest.fixture
def state(tmp_path) -> str:
    folder = tmp_path / "state"
    folder.mkdir()
    return str(folder)


def ran(state: str) -> list[int]:
    """Indices recorded since the last call (sorted); the record is reset."""
    log = Path(state, "calls.log")
    if not log.exists():
        return []
    indices = sorted(int(line) for line in log.read_text().split())
    log.unlink()
    return indices


def fix(state: str) -> None:
    Path(state, "fixed").touch()


def manifest(folder: Path, name: str = "flaky") -> dict:
    """The manifest as a resume reads it: with its journal replayed."""
    data = json.loads((folder / f".acme_{name}.json").read_text(encoding="utf-8"))
    assert replay(folder / f".acme_{name}.journal", data) is None
    return data


def statuses(folder: Path, name: str = "flaky") -> list[str]:
    return [call["status"] for call in manifest(folder, name)["calls"]]


def hidden_entries(folder: Path) -> list[str]:
    """Names of hidden files or folders anywhere below ``folder``."""
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob(".*")
        if not path.name.startswith(".acme_") or not path.name.endswith(".json")
    )


def h5_value(path: str | Path, group: str | None = None) -> list:
    with h5py.File(path, "r") as h5:
        node = h5[group] if group else h5
        return node["result_0"][()].tolist()


def run_failing(out: Path, state: str, func=flaky, **options) -> ComputationError:
    """A run of ``func`` into ``out`` whose calls 1 and 4 fail."""
    with ParallelMap(
        func, list(range(N_CALLS)), state, output_dir=out, **options
    ) as pm:
        with pytest.raises(ComputationError) as info:
            pm.compute()
    return info.value


def resume(out: Path, state: str, func=flaky, **options) -> list:
    with ParallelMap(
        func,
        list(range(N_CALLS)),
        state,
        output_dir=out,
        resume=True,
        **{**SECOND_RUN, **options},
    ) as pmap:
        return pmap.compute()


# -- partial failures (5.8) and resume -----------------------------------------------


def test_partial_failure_keeps_finished_results(client, tmp_path, state):
    out = tmp_path / "out"
    error = run_failing(out, state)
    assert ran(state) == list(range(N_CALLS))
    assert error.failed == list(BROKEN)
    assert str(error).startswith(
        f"Parallel computation failed: 2/{N_CALLS} tasks failed or stalled"
    )
    for index in BROKEN:
        assert f"call {index}: ValueError: broken call {index}" in str(error)
    payload = out / "flaky_payload"
    expected = [
        None if i in BROKEN else str(payload / f"flaky_{i}.h5") for i in range(N_CALLS)
    ]
    assert error.results == expected
    for i, path in enumerate(expected):
        if path is not None:
            assert h5_value(path) == [i * 10]
    assert sorted(p.name for p in payload.iterdir()) == [
        f"flaky_{i}.h5" for i in (0, 2, 3, 5)
    ]
    # the container stays as created; links of failed calls dangle
    with h5py.File(out / "flaky.h5", "r") as h5:
        assert sorted(h5) == sorted(f"comp_{i}" for i in range(N_CALLS))
        assert h5["comp_2"]["result_0"][()].tolist() == [20]
        with pytest.raises(KeyError):
            h5["comp_1"]["result_0"]
    data = manifest(out)
    assert [c["status"] for c in data["calls"]] == [
        "failed" if i in BROKEN else "done" for i in range(N_CALLS)
    ]
    for i in (0, 2, 3, 5):
        assert data["calls"][i]["file"] == f"flaky_payload/flaky_{i}.h5"
    assert hidden_entries(out) == []


def test_resume_runs_only_failed_calls(client, tmp_path, state, acme_log):
    out = tmp_path / "out"
    run_failing(out, state)
    ran(state)
    fix(state)
    acme_log.records.clear()
    results = resume(out, state)
    assert ran(state) == list(BROKEN)
    assert "Preparing 2 parallel calls of `flaky` using 2 workers" in acme_log.text
    resumed = [r for r in acme_log.records if "Resuming" in r.getMessage()]
    assert len(resumed) == 1 and resumed[0].levelname == "INFO"
    assert f"4/{N_CALLS}" in resumed[0].getMessage()
    payload = out / "flaky_payload"
    assert results == [str(payload / f"flaky_{i}.h5") for i in range(N_CALLS)]
    with h5py.File(out / "flaky.h5", "r") as h5:
        for i in range(N_CALLS):
            assert h5[f"comp_{i}"]["result_0"][()].tolist() == [i * 10]
    assert statuses(out) == ["done"] * N_CALLS
    assert hidden_entries(out) == []

    # the same list (relative to the folder) and data as an uninterrupted run
    other = tmp_path / "other"
    with ParallelMap(flaky, list(range(N_CALLS)), state, output_dir=other) as pmap:
        fresh = pmap.compute()
    assert [os.path.relpath(p, other) for p in fresh] == [
        os.path.relpath(p, out) for p in results
    ]
    assert [h5_value(p) for p in fresh] == [h5_value(p) for p in results]
    files = [{k: v for k, v in c.items() if k != "record"} for c in calls(other)]
    assert files == [{k: v for k, v in c.items() if k != "record"} for c in calls(out)]
    # the calls that failed first ran twice; the record is that of the second run
    attempts = [c["record"]["attempt"] for c in calls(out)]
    assert attempts == [2 if i in BROKEN else 1 for i in range(N_CALLS)]
    assert [c["record"]["attempt"] for c in calls(other)] == [1] * N_CALLS


def calls(folder: Path) -> list[dict]:
    return manifest(folder)["calls"]


def test_resume_rebuilds_stacked_container(client, tmp_path, state):
    out = tmp_path / "out"
    shape = {"result_shape": (None, 3)}
    run_failing(out, state, func=flaky_row, **shape)
    ran(state)
    fix(state)
    resume(out, state, func=flaky_row, **shape)
    assert ran(state) == list(BROKEN)
    with h5py.File(out / "flaky_row.h5", "r") as h5:
        assert h5["result_0"].is_virtual
        stacked = h5["result_0"][()]
    expected = np.repeat(np.arange(N_CALLS)[:, None] * 10.0, 3, axis=1)
    np.testing.assert_array_equal(stacked, expected)


def test_stacked_container_after_partial_failure_maps_finished_calls(
    client, tmp_path, state
):
    out = tmp_path / "out"
    run_failing(out, state, func=flaky_row, result_shape=(None, 3))
    with h5py.File(out / "flaky_row.h5", "r") as h5:
        assert h5["result_0"].is_virtual
        partial = h5["result_0"][()]
    for i in range(N_CALLS):
        if i not in BROKEN:
            assert partial[i].tolist() == [i * 10.0] * 3


def test_resume_single_file(client, tmp_path, state, acme_log):
    out = tmp_path / "out"
    error = run_failing(out, state, single_file=True)
    container = out / "flaky.h5"
    assert error.results == [
        None if i in BROKEN else str(container) for i in range(N_CALLS)
    ]
    with h5py.File(container, "r") as h5:
        for i in range(N_CALLS):
            assert len(h5[f"comp_{i}"]) == (0 if i in BROKEN else 1)
    data = manifest(out)
    assert [c["status"] for c in data["calls"]] == [
        "failed" if i in BROKEN else "done" for i in range(N_CALLS)
    ]
    assert {c["file"] for c in data["calls"] if c["status"] == "done"} == {"flaky.h5"}
    ran(state)
    fix(state)
    acme_log.records.clear()
    results = resume(out, state, single_file=True)
    assert ran(state) == list(BROKEN)
    assert "Preparing 2 parallel calls" in acme_log.text
    assert results == [str(container)]
    assert sorted(p.name for p in out.glob("*.h5")) == ["flaky.h5"]
    for i in range(N_CALLS):
        assert h5_value(container, f"comp_{i}") == [i * 10]
    assert statuses(out) == ["done"] * N_CALLS
    assert hidden_entries(out) == []


def test_resume_pickles_across_processes(process_client, tmp_path, state, acme_log):
    out = tmp_path / "out"
    error = run_failing(out, state, write_pickle=True)
    expected = [str(out / f"flaky_{i}.pickle") for i in range(N_CALLS)]
    assert error.results == [
        None if i in BROKEN else path for i, path in enumerate(expected)
    ]
    assert sorted(p.name for p in out.glob("*.pickle")) == [
        f"flaky_{i}.pickle" for i in (0, 2, 3, 5)
    ]
    data = manifest(out)
    assert [c["status"] for c in data["calls"]] == [
        "failed" if i in BROKEN else "done" for i in range(N_CALLS)
    ]
    assert data["calls"][3]["file"] == "flaky_3.pickle"
    ran(state)
    fix(state)
    acme_log.records.clear()
    results = resume(out, state, write_pickle=True)
    assert ran(state) == list(BROKEN)
    assert "Preparing 2 parallel calls" in acme_log.text
    assert results == expected
    for i, path in enumerate(results):
        with open(path, "rb") as handle:
            assert pickle.load(handle) == i * 10
    assert statuses(out) == ["done"] * N_CALLS
    assert hidden_entries(out) == []


def test_resume_reruns_calls_whose_files_vanished(client, tmp_path, state):
    out = tmp_path / "out"
    fix(state)
    with ParallelMap(flaky, list(range(N_CALLS)), state, output_dir=out) as pmap:
        pmap.compute()
    ran(state)
    (out / "flaky_payload" / "flaky_2.h5").unlink()
    results = resume(out, state)
    assert ran(state) == [2]
    assert h5_value(results[2]) == [20]


CHILD = """
import sys
sys.path.insert(0, {root!r})
from distributed import Client, LocalCluster
from acme import ParallelMap
from {module} import gated

if __name__ == "__main__":
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    client = Client(cluster)
    pmap = ParallelMap(gated, list(range(8)), {state!r}, output_dir={out!r})
    pmap.compute()
"""


def _wait_for_done(out: Path, child: subprocess.Popen, count: int, log: Path) -> None:
    """Poll the child's manifest until ``count`` calls are done (60 s deadline)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child.poll() is not None:
            pytest.fail(f"child ended early ({child.returncode}):\n{log.read_text()}")
        try:
            calls = manifest(out, "gated")["calls"]
        except (FileNotFoundError, KeyError, ValueError):
            calls = []
        if sum(call["status"] == "done" for call in calls) >= count:
            return
        time.sleep(0.05)
    pytest.fail(f"manifest never showed {count} finished calls:\n{log.read_text()}")


def test_resume_after_killed_run(client, tmp_path, state, acme_log):
    out = tmp_path / "out"
    root = Path(__file__).parents[__name__.count(".")]
    script = tmp_path / "child.py"
    script.write_text(
        textwrap.dedent(
            CHILD.format(root=str(root), module=__name__, state=state, out=str(out))
        )
    )
    log = tmp_path / "child.log"
    # the throttle (acme.manifest.write-interval) would hold back the last updates;
    # a task per call: calls 2 and 3 must not wait in a batch with a blocked call
    env = {
        **os.environ,
        "DASK_ACME__MANIFEST__WRITE_INTERVAL": "0",
        "DASK_ACME__BATCH_SIZE": "1",
    }
    with open(log, "wb") as output:
        child = subprocess.Popen(
            [sys.executable, str(script)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        _wait_for_done(out, child, 4, log)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(30)
    before = manifest(out, "gated")
    assert [c["status"] for c in before["calls"][:4]] == ["done"] * 4
    assert all(c["status"] == "pending" for c in before["calls"][4:])
    assert sorted(p.name for p in (out / "gated_payload").iterdir()) == [
        f"gated_{i}.h5" for i in range(4)
    ]
    assert ran(state)[:4] == [0, 1, 2, 3]

    Path(state, "release").touch()
    with ParallelMap(
        gated, list(range(8)), state, output_dir=out, resume=True, **SECOND_RUN
    ) as pm:
        results = pm.compute()
    assert ran(state) == [4, 5, 6, 7]
    assert "Preparing 4 parallel calls of `gated`" in acme_log.text
    payload = out / "gated_payload"
    assert results == [str(payload / f"gated_{i}.h5") for i in range(8)]
    with h5py.File(out / "gated.h5", "r") as h5:
        for i in range(8):
            assert h5[f"comp_{i}"]["result_0"][()].tolist() == [i * 10]
    assert statuses(out, "gated") == ["done"] * 8
    assert hidden_entries(out) == []


def test_resume_gets_its_own_log(client, tmp_path, state):
    out = tmp_path / "out"
    run_failing(out, state)
    fix(state)
    # logs of earlier runs under every name the next seconds would give
    now = datetime.now()
    earlier = set()
    for second in range(10):
        stamp = f"{now + timedelta(seconds=second):%Y%m%d-%H%M%S}"
        path = out / f"ACME_flaky_{stamp}.log"
        if not path.exists():
            path.write_text("earlier run\n")
            earlier.add(path)
    with ParallelMap(
        flaky, list(range(N_CALLS)), state, output_dir=out, resume=True
    ) as pmap:
        pmap.compute()
    assert all(path.read_text() == "earlier run\n" for path in earlier)
    logs = [p for p in out.glob("ACME_flaky_*.log") if p not in earlier]
    assert any("Resuming" in p.read_text() for p in logs)


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
