"""The manifest's journal: appended while calls finish, replayed exactly on resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import dask.config
import pytest

from acme import ParallelMap
from acme.errors import AcmeValueError

MODULE = """
import os, time

def mark(x, state, pause):
    with open(os.path.join(state, f"ran-{x}-{time.monotonic_ns()}"), "w"):
        pass
    time.sleep(pause)
    return x + 1
"""

SCRIPT = """
import sys
from distributed import Client
from acme import ParallelMap
import jmod

if __name__ == "__main__":
    out, state = sys.argv[1], sys.argv[2]
    with Client(processes=False, n_workers=1, threads_per_worker=2,
                dashboard_address=None):
        with ParallelMap(jmod.mark, list(range(40)), state, 0.05, output_dir=out,
                         setup_interactive=False, verbose=False) as pmap:
            pmap.compute()
"""


@pytest.fixture
def jmod(tmp_path, monkeypatch):
    """The function both the killed script and the resuming test import."""
    (tmp_path / "jmod.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    import jmod

    return jmod


def runs(state):
    counts: dict[int, int] = {}
    for path in state.iterdir():
        index = int(path.name.split("-")[1])
        counts[index] = counts.get(index, 0) + 1
    return counts


def journal_entries(path):
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines[1:]]


def test_updates_are_appended_and_the_manifest_is_rewritten_only_at_the_end(
    client, tmp_path, jmod
):
    out, state = tmp_path / "out", tmp_path / "state"
    state.mkdir()
    manifest, journal = out / ".acme_mark.json", out / ".acme_mark.journal"
    seen: list[tuple[int, str]] = []
    stop = threading.Event()

    def watch():  # pairs of journal and manifest of one generation
        while not stop.is_set():
            try:
                lines = journal.read_text().splitlines()
                text = manifest.read_text()
                same = json.loads(lines[0])["journal"] == json.loads(text)["journal"]
            except (FileNotFoundError, IndexError, ValueError):  # between writes
                same = False
            if same:
                seen.append((len(lines), text))
            time.sleep(0.01)

    with dask.config.set({"acme.manifest.write-interval": 0.05}):
        with ParallelMap(
            jmod.mark, list(range(24)), str(state), 0.05, output_dir=str(out)
        ) as pmap:
            watcher = threading.Thread(target=watch)
            watcher.start()
            try:
                pmap.compute()
            finally:
                stop.set()
                watcher.join()
    assert len({lines for lines, _ in seen}) >= 2  # the journal grew during the run
    during = {text for _, text in seen}
    assert len(during) == 1  # ... while the manifest itself stayed as written
    assert all(c["status"] == "pending" for c in json.loads(during.pop())["calls"])
    assert not journal.exists()
    calls = json.loads(manifest.read_text())["calls"]
    assert [c["status"] for c in calls] == ["done"] * 24


def test_a_killed_run_resumes_from_its_journal(client, tmp_path, jmod):
    out, state = tmp_path / "out", tmp_path / "state"
    state.mkdir()
    (tmp_path / "script.py").write_text(textwrap.dedent(SCRIPT))
    env = {**os.environ, "DASK_ACME__MANIFEST__WRITE_INTERVAL": "0.05"}
    script = subprocess.Popen(
        [sys.executable, str(tmp_path / "script.py"), str(out), str(state)], env=env
    )
    journal = out / ".acme_mark.journal"
    deadline = time.monotonic() + 60
    while not (journal.exists() and len(journal_entries(journal)) >= 6):
        assert script.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    script.send_signal(signal.SIGKILL)
    script.wait()
    recorded = {e["call"] for e in journal_entries(journal) if e["status"] == "done"}
    assert recorded
    with ParallelMap(
        jmod.mark, list(range(40)), str(state), 0.05, output_dir=str(out), resume=True
    ) as pmap:
        files = pmap.compute()
    assert len(files) == 40
    counts = runs(state)
    assert all(counts[i] == 1 for i in recorded)  # reused, not run again
    assert sorted(counts) == list(range(40))


def finished_run(tmp_path, jmod):
    out, state = tmp_path / "out", tmp_path / "state"
    state.mkdir()
    with ParallelMap(
        jmod.mark, list(range(4)), str(state), 0, output_dir=str(out)
    ) as p:
        p.compute()
    manifest = json.loads((out / ".acme_mark.json").read_text())
    return out, state, manifest


def resume(jmod, out, state):
    with ParallelMap(
        jmod.mark, list(range(4)), str(state), 0, output_dir=str(out), resume=True
    ) as pmap:
        return pmap.compute()


def test_a_line_cut_short_is_ignored(client, tmp_path, jmod):
    out, state, manifest = finished_run(tmp_path, jmod)
    entry = {"call": 2, "status": "pending", "file": manifest["calls"][2]["file"]}
    header = json.dumps({"journal": manifest["journal"]})
    (out / ".acme_mark.journal").write_text(
        f"{header}\n{json.dumps(entry)}\n" + '{"call": 1, "sta'
    )
    resume(jmod, out, state)
    assert runs(state) == {0: 1, 1: 1, 2: 2, 3: 1}  # only call 2 ran again


def test_a_journal_of_an_older_generation_is_not_replayed(client, tmp_path, jmod):
    out, state, manifest = finished_run(tmp_path, jmod)
    entry = {"call": 2, "status": "pending", "file": manifest["calls"][2]["file"]}
    (out / ".acme_mark.journal").write_text(
        json.dumps({"journal": "older"}) + "\n" + json.dumps(entry) + "\n"
    )
    resume(jmod, out, state)
    assert runs(state) == {0: 1, 1: 1, 2: 1, 3: 1}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("not json", "line 2 is malformed"),
        ('{"status": "done"}', "line 2 is malformed"),
        ('{"call": 9, "status": "done"}', "line 2 names no call"),
        ('{"call": 1, "status": "done", "file": "../../etc/passwd"}', "call 1"),
    ],
)
def test_a_malformed_journal_refuses_to_resume(client, tmp_path, jmod, line, problem):
    out, state, manifest = finished_run(tmp_path, jmod)
    header = json.dumps({"journal": manifest["journal"]})
    (out / ".acme_mark.journal").write_text(f"{header}\n{line}\n")
    with pytest.raises(AcmeValueError, match="cannot resume") as info:
        resume(jmod, out, state)
    assert problem in str(info.value)
    assert runs(state) == {0: 1, 1: 1, 2: 1, 3: 1}  # nothing ran, nothing deleted
