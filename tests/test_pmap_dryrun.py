"""``dryrun=True`` with results on disk.

The dry run executes one random call in this process; it must not write into the
output folder. Declining at the prompt removes what the constructor created and
nothing else, and no client is started.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import dask.config
import distributed
import h5py
import pytest
from prompts import answer

from acme import ParallelMap

PROMPT = "Do you want to continue executing noted with the provided arguments? [Y/n]"
DRY = re.compile(
    r"Performing a single dry-run of noted simulating randomly picked worker "
    r"#(\d+) with automatically distributed arguments"
)
DONE = re.compile(
    r"Dry-run completed\. Elapsed time is \d+(\.\d+)? seconds, estimated memory "
    r"consumption was \d+(\.\d+)? (MB|GB)\."
)
MODES = {
    "multi": {},
    "single": {"single_file": True},
    "pickle": {"write_pickle": True},
}


def noted(x, state):
    with open(os.path.join(state, "calls.log"), "a") as handle:
        handle.write(f"{x}\n")
    return x * 10


@pytest.fixture
def base(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "base"
    folder.mkdir()
    monkeypatch.setenv("DASK_ACME__OUTPUT_BASE", str(folder))
    dask.config.refresh()
    return folder


def ran(state: str) -> list[int]:
    log = Path(state, "calls.log")
    if not log.exists():
        return []
    indices = [int(line) for line in log.read_text().split()]
    log.unlink()
    return indices


def dry_index(records: list[logging.LogRecord]) -> int:
    """The call the dry run picked, from its INFO record."""
    matches = [
        (r.levelname, DRY.fullmatch(r.getMessage()))
        for r in records
        if DRY.fullmatch(r.getMessage())
    ]
    assert len(matches) == 1 and matches[0][0] == "INFO"
    return int(matches[0][1].group(1))


def assert_no_client() -> None:
    with pytest.raises(ValueError):
        distributed.get_client()


def visible(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")}


# -- non-interactive: the dry run writes nothing ---------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_dryrun_writes_no_results(client, tmp_path, state, acme_log, mode):
    out = tmp_path / "out"
    with ParallelMap(
        noted, list(range(4)), state, output_dir=out, dryrun=True, **MODES[mode]
    ) as pmap:
        index = dry_index(acme_log.records)
        assert index in range(4)
        completed = [r for r in acme_log.records if DONE.fullmatch(r.getMessage())]
        assert len(completed) == 1 and completed[0].levelname == "INFO"
        assert ran(state) == [index]  # one call, in this process

        # nothing of the dry run is left in the output folder
        hidden = sorted(p.name for p in out.rglob(".*"))
        assert hidden == [".acme_noted.json"]
        logs = {p.name for p in out.glob("ACME_noted_*.log")}
        assert len(logs) == 1
        if mode == "multi":
            assert visible(out) == {"noted.h5", "noted_payload"} | logs
            assert list((out / "noted_payload").iterdir()) == []
        elif mode == "single":
            assert visible(out) == {"noted.h5"} | logs
            with h5py.File(out / "noted.h5", "r") as h5:
                assert sorted(h5) == [f"comp_{i}" for i in range(4)]
                assert all(len(h5[f"comp_{i}"]) == 0 for i in range(4))
        else:
            assert visible(out) == logs
        data = json.loads((out / ".acme_noted.json").read_text(encoding="utf-8"))
        assert [c["status"] for c in data["calls"]] == ["pending"] * 4

        results = pmap.compute()
    assert sorted(ran(state)) == [0, 1, 2, 3]
    if mode == "multi":
        for i, path in enumerate(results):
            with h5py.File(path, "r") as h5:
                assert h5["result_0"][()].tolist() == [i * 10]
    elif mode == "single":
        assert results == [str(out / "noted.h5")]
    else:
        assert results == [str(out / f"noted_{i}.pickle") for i in range(4)]
    assert sorted(p.name for p in out.rglob(".*")) == [".acme_noted.json"]


def test_dryrun_stacked_writes_nothing(client, tmp_path, state):
    out = tmp_path / "out"
    with ParallelMap(
        noted, [1, 2], state, output_dir=out, dryrun=True, result_shape=(None,)
    ) as pmap:
        assert list((out / "noted_payload").iterdir()) == []
        pmap.compute()
    with h5py.File(out / "noted.h5", "r") as h5:
        assert h5["result_0"][()].tolist() == [10.0, 20.0]


def test_no_prompt_without_tty(client, tmp_path, state, no_tty, no_prompt):
    with ParallelMap(
        noted, [1, 2], state, output_dir=tmp_path / "out", dryrun=True
    ) as pmap:
        assert len(pmap.compute()) == 2


def test_no_prompt_when_disabled(client, tmp_path, state, tty, monkeypatch):
    answer(monkeypatch)  # any prompt fails the test
    with ParallelMap(
        noted,
        [1, 2],
        state,
        output_dir=tmp_path / "out",
        dryrun=True,
        setup_interactive=False,
    ) as pmap:
        assert len(pmap.compute()) == 2


@pytest.mark.parametrize("reply", ["y", "", "YES"])
def test_accepting_continues(client, tmp_path, state, tty, monkeypatch, reply):
    replay = answer(monkeypatch, reply)
    with ParallelMap(
        noted, [1, 2], state, output_dir=tmp_path / "out", dryrun=True
    ) as pmap:
        assert replay.prompts == [replay.prompts[0]]
        assert PROMPT in replay.prompts[0]
        assert pmap.config.client is client
        results = pmap.compute()
    with h5py.File(results[1], "r") as h5:
        assert h5["result_0"][()].tolist() == [20]


# -- declining removes what the constructor created --------------------------------


def _declined(pmap: ParallelMap) -> None:
    """A declined map computes nothing, cleans up nothing, started no client."""
    assert pmap.config.client is None
    assert pmap.compute() is None
    pmap.cleanup()
    assert pmap.results_container is None
    assert_no_client()


@pytest.mark.parametrize("mode", MODES)
def test_decline_removes_auto_folder(tmp_path, base, state, tty, monkeypatch, mode):
    (base / "keep.txt").write_text("mine")
    replay = answer(monkeypatch, "n")
    pmap = ParallelMap(noted, [1, 2, 3], state, dryrun=True, **MODES[mode])
    assert len(replay.prompts) == 1 and PROMPT in replay.prompts[0]
    assert len(ran(state)) == 1
    assert sorted(os.listdir(base)) == ["keep.txt"]
    _declined(pmap)
    assert sorted(os.listdir(base)) == ["keep.txt"]  # the log is not re-created
    assert (base / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("mode", MODES)
def test_decline_keeps_existing_output_dir(tmp_path, state, tty, monkeypatch, mode):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "data").mkdir()
    answer(monkeypatch, "no")
    pmap = ParallelMap(
        noted, [1, 2, 3], state, output_dir=out, dryrun=True, **MODES[mode]
    )
    assert sorted(os.listdir(out)) == ["data", "notes.txt"]
    _declined(pmap)
    assert sorted(os.listdir(out)) == ["data", "notes.txt"]
    assert (out / "notes.txt").read_text() == "mine"


def test_decline_removes_new_output_dir(tmp_path, state, tty, monkeypatch):
    out = tmp_path / "new" / "out"
    (tmp_path / "new").mkdir()
    answer(monkeypatch, "n")
    pmap = ParallelMap(noted, [1, 2], state, output_dir=out, dryrun=True)
    assert not out.exists()
    assert (tmp_path / "new").is_dir()
    _declined(pmap)


def test_decline_in_memory_creates_nothing(tmp_path, state, tty, monkeypatch):
    before = sorted(os.listdir(tmp_path))
    answer(monkeypatch, "n")
    pmap = ParallelMap(noted, [1, 2], state, write_worker_results=False, dryrun=True)
    assert sorted(os.listdir(tmp_path)) == before
    _declined(pmap)


def test_decline_while_resuming_keeps_previous_run(
    client, tmp_path, state, tty, monkeypatch
):
    out = tmp_path / "out"
    with ParallelMap(noted, [1, 2], state, output_dir=out, logfile=False) as pmap:
        results = pmap.compute()
    before = {p.relative_to(out): p.stat().st_mtime_ns for p in out.rglob("*")}
    assert {p.name for p in out.rglob("*")} >= {"noted_0.h5", "noted_1.h5"}
    answer(monkeypatch, "n")
    pmap = ParallelMap(noted, [1, 2], state, output_dir=out, resume=True, dryrun=True)
    assert pmap.config.client is None
    assert pmap.compute() is None
    pmap.cleanup()
    assert {p.relative_to(out): p.stat().st_mtime_ns for p in out.rglob("*")} == before
    assert (out / ".acme_noted.json").exists()
    for i, path in enumerate(results):
        with h5py.File(path, "r") as h5:
            assert h5["result_0"][()].tolist() == [(i + 1) * 10]
