"""Old-folder housekeeping (``cleanup_threshold_days``).

Only directories (never symlinks) directly in the base folder whose whole name
matches ``ACME_YYYYMMDD-hhmmss-ffffff`` (ASCII digits) are ever considered. A
folder holding a live run lock, or whose newest entry changed within
``acme.housekeeping.min-idle-seconds``, is never deleted. Symlinks are neither
followed nor deleted through; ``shutil.rmtree`` removes only the links.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from .. import config
from .._interactive import ask, ask_yes_no
from .._logging import get_logger
from ._locks import run_is_live

__all__ = ["clean_old_folders"]

logger = get_logger(__name__)
_PATTERN = re.compile(r"ACME_[0-9]{8}-[0-9]{6}-[0-9]{6}")
_DAY = 86400.0
_DEFAULT_DAYS = 7


def _acme_folders(base: Path) -> list[Path]:
    with os.scandir(base) as entries:
        return sorted(
            Path(entry.path)
            for entry in entries
            if _PATTERN.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)
        )


def _newest_change(folder: Path) -> float:
    """Newest mtime of the folder, its entries and its sub-folders' entries."""
    newest = folder.lstat().st_mtime
    with os.scandir(folder) as entries:
        for entry in entries:
            newest = max(newest, entry.stat(follow_symlinks=False).st_mtime)
            if entry.is_dir(follow_symlinks=False):
                with os.scandir(entry.path) as inner:
                    for item in inner:
                        mtime = item.stat(follow_symlinks=False).st_mtime
                        newest = max(newest, mtime)
    return newest


def _deletable(folder: Path, days: int, now: float) -> bool:
    if days and (now - folder.lstat().st_mtime) // _DAY <= days:
        return False
    if run_is_live(folder):
        logger.info("Keeping %s: a run in progress holds it", folder)
        return False
    idle = float(config.get("housekeeping.min-idle-seconds"))
    if now - _newest_change(folder) < idle:
        logger.info("Keeping %s: it changed within the last %g s", folder, idle)
        return False
    return True


def _parse_keep_or_days(answer: str) -> int | None:
    if answer == "k":
        return -1
    if answer.isdigit() and 1 <= int(answer) <= 99:
        return int(answer)
    return None


def _threshold(
    found: int, base: Path, threshold: int | None, interactive: bool
) -> int | None:
    """The age threshold to apply, or None to keep everything."""
    if threshold is not None:
        return threshold
    if found <= int(config.get("housekeeping.warn-count")):
        return None
    logger.warning("Found %d ACME directories in %s", found, base)
    if not interactive:
        return None
    days = ask(
        "Do you want to [k]eep these directories or delete entries older than N days? ",
        _parse_keep_or_days,
        _DEFAULT_DAYS,
    )
    return None if days < 0 else days


def clean_old_folders(base: Path, threshold: int | None, interactive: bool) -> None:
    """Delete old acme output folders in ``base`` per the housekeeping rules.

    Errors while scanning or deleting are logged as warnings, never raised.
    """
    try:
        folders = _acme_folders(base) if base.is_dir() else []
        days = _threshold(len(folders), base, threshold, interactive)
        if days is None:
            return
        now = time.time()
        old = [f for f in folders if _deletable(f, days, now)]
    except OSError as exc:
        logger.warning("Cannot scan %s for old ACME directories: %s", base, exc)
        return
    if not old:
        return
    prompt = f"Do you want to proceed removing {len(old)} directories? [y/N] "
    if interactive and not ask_yes_no(prompt, default=False):
        return
    removed = 0
    for folder in old:
        try:
            if run_is_live(folder):  # a run may have started while we asked
                continue
            shutil.rmtree(folder)
            removed += 1
        except OSError as exc:
            logger.warning("Cannot remove %s: %s", folder, exc)
    logger.info("Removed %d old ACME directories from %s", removed, base)
