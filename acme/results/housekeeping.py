"""Old-folder housekeeping (``cleanup_threshold_days``).

Only directories directly in the base folder whose name matches
``ACME_YYYYMMDD-hhmmss-ffffff`` exactly are ever considered.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from .. import config
from .._interactive import ask, ask_yes_no
from .._logging import get_logger

__all__ = ["clean_old_folders"]

logger = get_logger(__name__)
_PATTERN = re.compile(r"^ACME_\d{8}-\d{6}-\d{6}$")
_DAY = 86400.0
_DEFAULT_DAYS = 7


def _acme_folders(base: Path) -> list[Path]:
    return sorted(
        entry
        for entry in base.iterdir()
        if _PATTERN.match(entry.name) and entry.is_dir() and not entry.is_symlink()
    )


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
        old = [
            f for f in folders if days == 0 or (now - f.stat().st_mtime) // _DAY > days
        ]
    except OSError as exc:
        logger.warning("Cannot scan %s for old ACME directories: %s", base, exc)
        return
    if not old:
        return
    prompt = f"Do you want to proceed removing {len(old)} directories? [y/N] "
    if interactive and not ask_yes_no(prompt, default=False):
        return
    for folder in old:
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            logger.warning("Cannot remove %s: %s", folder, exc)
    logger.info("Removed %d old ACME directories from %s", len(old), base)
