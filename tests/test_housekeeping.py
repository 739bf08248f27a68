"""Old-folder housekeeping, ``cleanup_threshold_days``.

Old ``ACME_<timestamp>`` folders are made with ``os.utime``; ``ParallelMap`` runs
with its default output folder in ``acme.output-base`` (``DASK_ACME__OUTPUT_BASE``).
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

import dask.config
import h5py
import pytest
from prompts import answer

from acme import ParallelMap
from acme.errors import AcmeValueError
from acme.results.housekeeping import clean_old_folders

DAY = 86400.0
KEEP_PROMPT = (
    "Do you want to [k]eep these directories or delete entries older than N days?"
)


def double(x):
    return 2 * x


@pytest.fixture
def base(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "base"
    folder.mkdir()
    monkeypatch.setenv("DASK_ACME__OUTPUT_BASE", str(folder))
    dask.config.refresh()
    return folder


def age(days: float, *paths: Path) -> None:
    """Set the mtime of ``paths`` (in this order, links themselves) ``days`` back."""
    stamp = time.time() - days * DAY
    for path in paths:
        os.utime(path, (stamp, stamp), follow_symlinks=False)


def old_folder(base: Path, index: int, days: float, name: str | None = None) -> Path:
    """``ACME_<timestamp>`` folder whose mtime and its content's are ``days`` old."""
    folder = base / (name or f"ACME_20200101-000000-{index:06d}")
    folder.mkdir()
    (folder / "payload").mkdir()
    (folder / "payload" / "result.h5").write_text("x")
    (folder / "double.h5").write_text("x")
    age(days, folder / "payload" / "result.h5", folder / "payload")
    age(days, folder / "double.h5", folder)
    return folder


def decoys(base: Path, tmp_path: Path) -> list[Path]:
    """Old entries that look like acme folders but must never be touched."""
    stamp = time.time() - 100 * DAY
    outside = tmp_path / "elsewhere" / "ACME_20200101-000000-999999"
    outside.mkdir(parents=True)
    (outside / "keep.txt").write_text("keep")
    entries = []
    for name in (
        "ACME_mine",
        "ACME_20200101-000000-00000",  # five digits of microseconds
        "ACME_20200101-000000-0000001",  # seven
        "ACME_20200101-000000-000001x",
        "acme_20200101-000000-000001",
        "ACME_2020010-000000-000001",
        "XACME_20200101-000000-000001",
    ):
        (base / name).mkdir()
        entries.append(base / name)
    plain = base / "ACME_20200102-000000-000001"
    plain.write_text("a file, not a folder")
    entries.append(plain)
    link = base / "ACME_20200103-000000-000001"
    link.symlink_to(outside, target_is_directory=True)
    entries.append(link)
    for entry in entries:
        os.utime(entry, (stamp, stamp), follow_symlinks=False)
    os.utime(outside, (stamp, stamp))
    return [*entries, outside, outside / "keep.txt"]


def acme_folders(base: Path) -> list[str]:
    """Names of the real ``ACME_<timestamp>`` folders in ``base``."""
    return sorted(
        p.name
        for p in base.iterdir()
        if re.fullmatch(r"ACME_[0-9]{8}-[0-9]{6}-[0-9]{6}", p.name)
        and p.is_dir()
        and not p.is_symlink()
    )


def construct(**options) -> ParallelMap:
    """A map writing to the default folder (construction runs housekeeping)."""
    pmap = ParallelMap(double, [1, 2], **options)
    pmap.cleanup()
    return pmap


def test_threshold_zero_deletes_every_idle_acme_folder(client, base, tmp_path):
    ages = (0.05, 0.5, 2, 40)  # 0.05 days: idle for over an hour
    doomed = [old_folder(base, i, days) for i, days in enumerate(ages)]
    busy = old_folder(base, 10, 0)  # changed just now: a run may be writing
    kept = decoys(base, tmp_path)
    pmap = construct(cleanup_threshold_days=0)
    assert not any(folder.exists() for folder in doomed)
    assert all(os.path.lexists(entry) for entry in kept)
    assert kept[-1].read_text() == "keep"  # the symlink's target is untouched
    # the new run's folder is created after housekeeping
    assert acme_folders(base) == sorted([busy.name, Path(pmap.config.output_dir).name])


@pytest.mark.parametrize("days", [1, 3, 10])
def test_threshold_deletes_folders_older_than_whole_days(client, base, tmp_path, days):
    younger = [
        old_folder(base, 0, 0),
        old_folder(base, 1, days - 0.5),
        old_folder(base, 2, days + 0.5),  # floor(age) == days: not more than days
    ]
    older = [old_folder(base, 3, days + 1.1), old_folder(base, 4, days + 30)]
    kept = decoys(base, tmp_path)
    construct(cleanup_threshold_days=days)
    assert all(folder.exists() for folder in younger)
    assert not any(folder.exists() for folder in older)
    assert all(os.path.lexists(entry) for entry in kept)


def test_default_keeps_up_to_warn_count_silently(client, base, acme_log):
    folders = [old_folder(base, i, 50) for i in range(20)]
    construct()
    assert all(folder.exists() for folder in folders)
    assert "ACME directories" not in acme_log.text


def test_default_warns_over_warn_count_and_keeps(client, base, acme_log):
    folders = [old_folder(base, i, 50) for i in range(21)]
    construct()
    assert all(folder.exists() for folder in folders)
    warnings = [r for r in acme_log.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        f"Found 21 ACME directories in {base}"
    ]


def test_warn_count_is_configurable(client, base, acme_log, monkeypatch):
    monkeypatch.setenv("DASK_ACME__HOUSEKEEPING__WARN_COUNT", "2")
    dask.config.refresh()
    for i in range(3):
        old_folder(base, i, 50)
    construct()
    assert f"Found 3 ACME directories in {base}" in acme_log.text


def test_interactive_keep(client, base, tty, monkeypatch):
    folders = [old_folder(base, i, 50) for i in range(21)]
    replay = answer(monkeypatch, "k")
    construct()
    assert len(replay.prompts) == 1 and KEEP_PROMPT in replay.prompts[0]
    assert all(folder.exists() for folder in folders)


def test_interactive_days_then_yes_deletes_older(client, base, tty, monkeypatch):
    young = [old_folder(base, i, 2) for i in range(11)]
    old = [old_folder(base, 100 + i, 5) for i in range(10)]
    replay = answer(monkeypatch, "3", "y")
    construct()
    assert KEEP_PROMPT in replay.prompts[0]
    assert "Do you want to proceed removing 10 directories?" in replay.prompts[1]
    assert replay.answers == []
    assert all(folder.exists() for folder in young)
    assert not any(folder.exists() for folder in old)


@pytest.mark.parametrize("confirmation", ["n", "", "No"])
def test_interactive_days_then_no_keeps(client, base, tty, monkeypatch, confirmation):
    folders = [old_folder(base, i, 5) for i in range(21)]
    replay = answer(monkeypatch, "3", confirmation)
    construct()
    assert len(replay.prompts) == 2
    assert "Do you want to proceed removing 21 directories?" in replay.prompts[1]
    assert all(folder.exists() for folder in folders)


def test_interactive_empty_answer_means_seven_days(client, base, tty, monkeypatch):
    young = [old_folder(base, i, 7.5) for i in range(20)]
    old = [old_folder(base, 100, 8.5)]
    replay = answer(monkeypatch, "", "y")
    construct()
    assert "Do you want to proceed removing 1 directories?" in replay.prompts[1]
    assert all(folder.exists() for folder in young)
    assert not old[0].exists()


def test_interactive_threshold_asks_before_deleting(client, base, tty, monkeypatch):
    folders = [old_folder(base, i, 5) for i in range(2)]
    replay = answer(monkeypatch, "n")
    construct(cleanup_threshold_days=1)
    assert len(replay.prompts) == 1
    assert "Do you want to proceed removing 2 directories?" in replay.prompts[0]
    assert all(folder.exists() for folder in folders)
    replay = answer(monkeypatch, "y")
    construct(cleanup_threshold_days=1)
    assert not any(folder.exists() for folder in folders)


def test_no_prompt_when_interaction_is_disabled(client, base, tty, monkeypatch):
    folders = [old_folder(base, i, 5) for i in range(21)]
    answer(monkeypatch)  # any prompt fails the test
    construct(setup_interactive=False)
    assert all(folder.exists() for folder in folders)
    construct(setup_interactive=False, cleanup_threshold_days=1)
    assert not any(folder.exists() for folder in folders)


def test_given_output_dir_skips_housekeeping(client, base, tmp_path):
    folders = [old_folder(base, i, 50) for i in range(3)]
    with ParallelMap(
        double, [1, 2], output_dir=base / "mine", cleanup_threshold_days=0
    ) as pmap:
        assert pmap.compute()[1].endswith("double_1.h5")
    assert all(folder.exists() for folder in folders)


def test_in_memory_results_skip_housekeeping(client, base):
    folders = [old_folder(base, i, 50) for i in range(3)]
    with ParallelMap(
        double, [1, 2], write_worker_results=False, cleanup_threshold_days=0
    ) as pmap:
        assert pmap.compute() == [2, 4]
    assert all(folder.exists() for folder in folders)
    assert acme_folders(base) == sorted(f.name for f in folders)


def test_failed_validation_deletes_nothing(base):
    folders = [old_folder(base, i, 50) for i in range(3)]
    with pytest.raises(AcmeValueError, match="n_workers"):
        ParallelMap(double, [1, 2], cleanup_threshold_days=0, n_workers=-1)
    assert all(folder.exists() for folder in folders)


def test_previous_run_error_deletes_nothing(base, tmp_path):
    folders = [old_folder(base, i, 50) for i in range(3)]
    out = tmp_path / "out"
    out.mkdir()
    (out / ".acme_double.json").write_text("{}")
    with pytest.raises(FileExistsError):
        ParallelMap(double, [1, 2], output_dir=out, cleanup_threshold_days=0)
    assert all(folder.exists() for folder in folders)


def test_default_folder_run_after_housekeeping(client, base):
    old_folder(base, 0, 50)
    with ParallelMap(double, [1, 2], cleanup_threshold_days=1) as pmap:
        results = pmap.compute()
    folder = Path(pmap.config.output_dir)
    assert acme_folders(base) == [folder.name]
    assert results == [
        str(folder / "double_payload" / f"double_{i}.h5") for i in range(2)
    ]
    with h5py.File(results[1], "r") as h5:
        assert h5["result_0"][()].tolist() == [4]


# -- clean_old_folders directly ---------------------------------------------------


def test_unit_threshold_and_decoys(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    fresh = old_folder(base, 0, 0)
    recent = old_folder(base, 1, 0.1)
    old = old_folder(base, 2, 3)
    kept = decoys(base, tmp_path)
    clean_old_folders(base, 2, False)
    assert fresh.exists() and recent.exists() and not old.exists()
    assert all(os.path.lexists(entry) for entry in kept)
    clean_old_folders(base, 0, False)
    assert fresh.exists() and not recent.exists()
    assert all(os.path.lexists(entry) for entry in kept)


def test_unit_missing_base_is_quiet(tmp_path, acme_log):
    clean_old_folders(tmp_path / "missing", 0, False)
    clean_old_folders(tmp_path / "missing", None, True)
    assert acme_log.records == []


def test_unit_none_non_interactive(tmp_path, acme_log):
    folders = [old_folder(tmp_path, i, 100) for i in range(25)]
    clean_old_folders(tmp_path, None, False)
    assert all(folder.exists() for folder in folders)
    assert acme_log.text == f"Found 25 ACME directories in {tmp_path}"


def test_unit_interactive_number(tmp_path, tty, monkeypatch):
    folders = [old_folder(tmp_path, i, i) for i in range(21)]
    replay = answer(monkeypatch, "15", "yes")
    clean_old_folders(tmp_path, None, True)
    assert "Do you want to proceed removing 5 directories?" in replay.prompts[1]
    assert [f.exists() for f in folders] == [i <= 15 for i in range(21)]


def test_unit_interactive_invalid_answers_take_default(tmp_path, tty, monkeypatch):
    folders = [old_folder(tmp_path, i, 30) for i in range(21)]
    # three invalid answers take the default (7 days); then decline
    replay = answer(monkeypatch, "0", "100", "maybe", "n")
    clean_old_folders(tmp_path, None, True)
    assert [KEEP_PROMPT in p for p in replay.prompts] == [True, True, True, False]
    assert "Do you want to proceed removing 21 directories?" in replay.prompts[3]
    assert all(folder.exists() for folder in folders)


def test_unit_nothing_old_asks_nothing(tmp_path, tty, monkeypatch):
    folders = [old_folder(tmp_path, i, 1) for i in range(3)]
    answer(monkeypatch)  # any prompt fails the test
    clean_old_folders(tmp_path, 5, True)
    assert all(folder.exists() for folder in folders)


def test_unit_deletion_error_is_a_warning(tmp_path, acme_log, monkeypatch):
    # a failing delete cannot be produced on demand as root: fake it at rmtree
    folder = old_folder(tmp_path, 0, 10)

    def refuse(path, *args, **kwargs):
        raise PermissionError(f"cannot remove {path}")

    monkeypatch.setattr("acme.results.housekeeping.shutil.rmtree", refuse)
    clean_old_folders(tmp_path, 1, False)
    assert folder.exists()
    warnings = [r for r in acme_log.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(folder) in warnings[0].getMessage()


# -- what is never deleted ----------------------------------------------------------


@pytest.mark.parametrize(
    "fresh", ["", "double.h5", "payload", "payload/result.h5", "payload/new.txt"]
)
@pytest.mark.parametrize("threshold", [0, 3])
def test_unit_recently_changed_folder_is_kept(tmp_path, fresh, threshold):
    folder = old_folder(tmp_path, 0, 10)
    idle = old_folder(tmp_path, 1, 10)
    entry = folder / fresh
    if fresh.endswith("new.txt"):
        entry.write_text("written by a run in progress")
        age(10, folder / "payload")
    os.utime(entry)  # changed just now
    clean_old_folders(tmp_path, threshold, False)
    assert folder.exists() and not idle.exists()


def test_unit_min_idle_seconds_is_configurable(tmp_path, monkeypatch):
    folder = old_folder(tmp_path, 0, 10)
    os.utime(folder / "payload" / "result.h5", (time.time() - 120,) * 2)
    monkeypatch.setenv("DASK_ACME__HOUSEKEEPING__MIN_IDLE_SECONDS", "300")
    dask.config.refresh()
    clean_old_folders(tmp_path, 0, False)
    assert folder.exists()
    monkeypatch.setenv("DASK_ACME__HOUSEKEEPING__MIN_IDLE_SECONDS", "60")
    dask.config.refresh()
    clean_old_folders(tmp_path, 0, False)
    assert not folder.exists()


@pytest.mark.parametrize(
    "name",
    [
        "ACME_20200101-000000-000001\n",  # \d{6}$ used to match before the newline
        "ACME_\u0662\u0660\u0662\u0660\u0660\u0661\u0660\u0661-000000-000001",
        "ACME_20200101-000000-00000\uff11",  # a fullwidth digit one
    ],
)
def test_unit_name_must_match_whole_with_ascii_digits(tmp_path, name):
    decoy = old_folder(tmp_path, 0, 50, name=name)
    real = old_folder(tmp_path, 1, 50)
    clean_old_folders(tmp_path, 0, False)
    assert decoy.exists() and (decoy / "payload" / "result.h5").exists()
    assert not real.exists()


def test_unit_symlink_to_an_acme_folder_is_neither_followed_nor_deleted(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    target = old_folder(tmp_path, 7, 50)
    link = base / "ACME_20200101-000000-000008"
    link.symlink_to(target, target_is_directory=True)
    age(50, link)
    clean_old_folders(base, 0, False)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert (target / "payload" / "result.h5").read_text() == "x"


def test_unit_nothing_behind_a_symlink_counts_or_goes(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    outside = tmp_path / "data"
    outside.mkdir()
    (outside / "fresh.txt").write_text("mine")  # changed just now
    folder = old_folder(base, 0, 50)
    (folder / "data").symlink_to(outside, target_is_directory=True)
    (folder / "payload" / "data").symlink_to(outside, target_is_directory=True)
    age(50, folder / "payload" / "data", folder / "payload")
    age(50, folder / "data", folder)
    clean_old_folders(base, 0, False)
    assert not os.path.lexists(folder)
    assert (outside / "fresh.txt").read_text() == "mine"


@pytest.mark.parametrize("threshold", [0, 3])
def test_unit_old_idle_folder_is_deleted(tmp_path, acme_log, threshold):
    logging.getLogger("ACME").setLevel(logging.INFO)
    folder = old_folder(tmp_path, 0, 5)
    (folder / ".acme_double.lock").write_text("{}")  # left by a killed run
    age(5, folder / ".acme_double.lock", folder)
    clean_old_folders(tmp_path, threshold, False)
    assert not os.path.lexists(folder)
    assert acme_log.text == f"Removed 1 old ACME directories from {tmp_path}"
