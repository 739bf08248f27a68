"""File systems that fail: read-only, full, or a folder deleted mid-run.

The read-only and full file systems are small tmpfs mounts the tests make, so
they need root (CI runs as root); elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import pickle
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest

from acme import ParallelMap
from acme.errors import ComputationError, OutputError


def _mount(target: Path, *options: str) -> None:
    target.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", ",".join(("size=1m", *options))]
    done = subprocess.run([*command, "tmpfs", str(target)], capture_output=True)
    if done.returncode != 0:
        target.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 1 MB tmpfs, unmounted after the test."""
    target = tmp_path / "disk"
    _mount(target)
    yield target
    subprocess.run(["umount", "-l", str(target)], check=False)


def remount_read_only(target: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(target)], check=True)


def block(x):
    return np.full(40_000, float(x))  # 320 kB each: three fit on the disk


def test_read_only_file_system_fails_the_constructor(small_disk):
    remount_read_only(small_disk)
    out = small_disk / "out"
    with pytest.raises(
        OutputError, match="automatic creation of output folder"
    ) as info:
        ParallelMap(block, [1, 2], output_dir=out, logfile=False)
    assert str(out) in str(info.value)
    assert info.value.path == str(out)


def test_file_system_turning_read_only_before_compute(process_client, small_disk):
    out = small_disk / "out"
    with ParallelMap(block, [1, 2], output_dir=out, logfile=False) as pmap:
        remount_read_only(small_disk)
        with pytest.raises(OutputError) as info:
            pmap.compute()
    assert str(out) in str(info.value) and "Read-only" in str(info.value)


@pytest.mark.parametrize("pickles", [False, True], ids=["hdf5", "pickle"])
def test_full_disk_fails_only_the_calls_that_did_not_fit(
    process_client, small_disk, pickles
):
    out = small_disk / "out"
    with ParallelMap(
        block, list(range(8)), output_dir=out, logfile=False, write_pickle=pickles
    ) as pmap:
        started = time.monotonic()
        with pytest.raises(ComputationError) as info:
            pmap.compute()
    assert time.monotonic() - started < 60
    failed = info.value.failed
    assert failed and len(failed) < 8
    assert "No space left on device" in str(info.value)
    folder = out if pickles else out / "block_payload"
    assert str(folder) in str(info.value)
    suffix = "pickle" if pickles else "h5"
    finished = sorted(
        int(p.stem.split("_")[1]) for p in folder.glob(f"block_*.{suffix}")
    )
    assert sorted(finished + failed) == list(range(8))
    for index in finished:  # whatever has a final name is complete
        path = folder / f"block_{index}.{suffix}"
        if pickles:
            with open(path, "rb") as stream:
                value = pickle.load(stream)
        else:
            with h5py.File(path, "r") as h5:
                value = h5["result_0"][()]
        np.testing.assert_array_equal(value, float(index))
    assert not list(out.rglob("*.tmp"))


def slow_block(x, out):
    if x == 0:
        time.sleep(0.5)
        shutil.rmtree(out)  # the output folder goes away mid-run
    time.sleep(1.0)
    return np.full(10, float(x))


def test_output_folder_deleted_mid_run(process_client, tmp_path):
    out = tmp_path / "out"
    with ParallelMap(slow_block, list(range(4)), str(out), output_dir=out) as pmap:
        started = time.monotonic()
        with pytest.raises(ComputationError) as info:
            pmap.compute()
    assert time.monotonic() - started < 60
    assert info.value.failed
    assert str(out) in str(info.value)
    assert not out.exists() or not list(out.rglob("*.h5"))
