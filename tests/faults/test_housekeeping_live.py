"""Housekeeping never deletes a folder whose run lock a live process holds."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import dask.config
import pytest

from acme import ParallelMap
from acme.results._locks import RunLock
from acme.results.housekeeping import clean_old_folders

DAY = 86400.0


def double(x):
    return 2 * x


def idle_folder(base: Path, index: int) -> Path:
    """An ``ACME_<timestamp>`` folder, 30 days idle, with a run's files."""
    folder = base / f"ACME_20200101-000000-{index:06d}"
    folder.mkdir(parents=True)
    (folder / "double.h5").write_text("x")
    return folder


def age(folder: Path) -> None:
    stamp = time.time() - 30 * DAY
    for entry in [*folder.iterdir(), folder]:
        os.utime(entry, (stamp, stamp))


@pytest.mark.parametrize("threshold", [0, 5])
def test_folder_locked_by_another_process_is_kept(agents, tmp_path, threshold):
    folder = idle_folder(tmp_path, 0)
    lock = folder / ".acme_double.lock"
    (agent,) = agents(1)
    assert agent.call("lock", path=str(lock)) == {"ok": True}
    age(folder)
    clean_old_folders(tmp_path, threshold, False)
    assert (folder / "double.h5").read_text() == "x"
    assert lock.exists() and RunLock(lock).holder().startswith(f"pid {agent.pid} ")
    agent.kill()  # its lock goes stale: the folder may go now
    age(folder)
    clean_old_folders(tmp_path, threshold, False)
    assert not folder.exists()


def test_folder_locked_by_this_process_is_kept(tmp_path, acme_log):
    logging.getLogger("ACME").setLevel(logging.INFO)
    folder = idle_folder(tmp_path, 0)
    with RunLock(folder / ".acme_double.lock"):
        age(folder)
        clean_old_folders(tmp_path, 0, False)
        assert (folder / "double.h5").exists()
    assert f"Keeping {folder}: a run in progress holds it" in acme_log.text
    age(folder)  # removing the lock file changed the folder
    clean_old_folders(tmp_path, 0, False)
    assert not folder.exists()


def test_threshold_zero_keeps_a_live_run(agents, client, tmp_path, monkeypatch):
    base = tmp_path / "base"
    monkeypatch.setenv("DASK_ACME__OUTPUT_BASE", str(base))
    dask.config.refresh()
    live, done = idle_folder(base, 0), idle_folder(base, 1)
    (agent,) = agents(1)
    assert agent.call("lock", path=str(live / ".acme_double.lock")) == {"ok": True}
    age(live)
    age(done)
    pmap = ParallelMap(double, [1, 2], cleanup_threshold_days=0)
    pmap.cleanup()
    assert (live / "double.h5").exists() and not done.exists()
    assert sorted(p.name for p in base.iterdir()) == sorted(
        [live.name, Path(pmap.config.output_dir).name]
    )
