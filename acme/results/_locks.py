"""Locks on output folders and on the single result file.

All are ``flock`` locks, which the kernel drops when their holder dies. On NFS,
Linux maps ``flock`` onto POSIX locks: they work across hosts but belong to a
process, hence the records of what this process holds.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import json
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .. import config
from .._logging import get_logger
from ..errors import OutputError, OutputExistsError

if TYPE_CHECKING:
    import h5py

__all__ = ["RunLock", "create_h5", "exclusive", "open_h5", "run_is_live", "sidecar"]

T = TypeVar("T")

logger = get_logger(__name__)
_GUARD = threading.Lock()
_HELD: dict[str, str] = {}  # absolute lock path -> holder, in this process
_WRITERS: dict[str, threading.Lock] = {}
_FLAGS = os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
_LOCK_NB = fcntl.LOCK_EX | fcntl.LOCK_NB
_UNLOCKABLE = (
    "cannot open {}: its file system does not support file locking ({}); set "
    "HDF5_USE_FILE_LOCKING=FALSE in the environment of acme and of its workers"
)
_NO_WRITER_LOCK = (
    "cannot lock {} to write {}: {}; where files cannot be locked, write one "
    "file per call (single_file=False)"
)
_BUSY = (
    "cannot open {}: another process has kept it open for {:g} s (reading results "
    "with h5py, or a viewer?); close it there and try again"
)


def _key(path: Path) -> str:
    return str(Path(os.path.abspath(path.parent)).resolve() / path.name)


def _describe(raw: bytes) -> str:
    try:
        info = json.loads(raw)
        return f"pid {info['pid']} on host {info['host']} (started {info['start']})"
    except (ValueError, TypeError, KeyError):
        return "an unknown process"


class RunLock:
    """The lock file ``<dir>/.acme_<f>.lock`` of a run; records host, pid, start."""

    def __init__(self, path: Path) -> None:
        self.path, self._key, self._fd = path, _key(path), -1

    def holder(self) -> str:
        """Describe the holder (pid, host, start), or return ``"nobody"``."""
        with _GUARD:
            if self._key in _HELD:
                return _HELD[self._key]
        try:
            return _describe(self.path.read_bytes())
        except OSError:
            return "nobody"

    def acquire(self, patience: float = 0.0) -> None:
        """Take the lock, or a stale one (its holder is gone); OutputExistsError if
        another live process, or another thread of this one, holds it for longer
        than ``patience`` seconds.
        """
        deadline = time.monotonic() + patience
        while True:
            try:
                return self._acquire_now()
            except OutputExistsError:
                if time.monotonic() >= deadline:
                    raise
            time.sleep(0.05)

    def _acquire_now(self) -> None:
        start = datetime.now().astimezone().isoformat(timespec="seconds")
        info = {"host": socket.gethostname(), "pid": os.getpid(), "start": start}
        raw = json.dumps(info).encode()
        with _GUARD:
            if self._key in _HELD:
                self._refuse(f"{_HELD[self._key]}, this process,")
            _HELD[self._key] = _describe(raw)
        try:
            while (fd := self._create(raw)) < 0 and (fd := self._take_over(raw)) < 0:
                pass  # the lock was released between the two attempts
        except BaseException:
            with _GUARD:
                del _HELD[self._key]
            raise
        self._fd = fd

    def _create(self, raw: bytes) -> int:
        temp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | _FLAGS, 0o644)
        try:
            fcntl.flock(fd, _LOCK_NB)
            os.write(fd, raw)
            try:
                os.link(temp, self.path)
            except FileExistsError:
                if os.fstat(fd).st_nlink < 2:  # NFS may report a retried link
                    raise
        except BaseException as exc:
            os.close(fd)
            if isinstance(exc, FileExistsError):
                return -1
            raise
        finally:
            temp.unlink(missing_ok=True)
        return fd

    def _take_over(self, raw: bytes) -> int:
        try:
            fd = os.open(self.path, os.O_RDWR | _FLAGS)
        except FileNotFoundError:
            return -1
        try:
            old = os.pread(fd, 4096, 0)
            fcntl.flock(fd, _LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(self.path).st_ino:
                raise FileNotFoundError(self.path)  # released and unlinked meanwhile
            old = os.pread(fd, 4096, 0)
            os.ftruncate(fd, 0)
            os.pwrite(fd, raw, 0)
        except BaseException as exc:
            os.close(fd)
            if isinstance(exc, FileNotFoundError):
                return -1
            if isinstance(exc, BlockingIOError):
                self._refuse(_describe(old))
            raise
        logger.warning("Taking over the stale lock %s of %s", self.path, _describe(old))
        return fd

    def _refuse(self, holder: str) -> None:
        msg = f"output folder {self.path.parent} is in use by another acme run: "
        msg += f"{holder} holds {self.path.name}; wait for it or use another output_dir"
        raise OutputExistsError(msg, path=str(self.path.parent))

    def release(self) -> None:
        """Remove the lock file and let go of the lock; does nothing when not held."""
        with _GUARD:
            if self._fd < 0:
                return
            fd, self._fd = self._fd, -1
            try:
                if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                    self.path.unlink()
            except FileNotFoundError:
                pass
            finally:
                os.close(fd)
                del _HELD[self._key]

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def run_is_live(folder: Path) -> bool:
    """Whether this or another live process holds a ``.acme_*.lock`` in ``folder``.

    A lock whose state cannot be probed counts as live.
    """
    for lock in sorted(folder.glob(".acme_*.lock")):
        with _GUARD:
            if _key(lock) in _HELD:
                return True
        try:
            fd = os.open(lock, os.O_RDONLY | _FLAGS)
        except OSError:
            continue
        try:  # flock locks belong to open file descriptions: a fresh one probes
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
    return False


def sidecar(path: Path) -> Path:
    """The hidden file whose lock guards writes to ``path``."""
    return path.with_name(f".{path.name}.lock")


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold the lock for writing ``path`` until the block ends, however long.

    A blocking ``flock`` on the hidden sidecar ``<folder>/.<name>.lock`` (kept:
    removing it would let a waiter lock a deleted file) plus a lock per path in
    this process; no lease. OutputError if the file system cannot lock it.
    """
    lock_file = sidecar(path)
    with _GUARD:
        writer = _WRITERS.setdefault(_key(path), threading.Lock())
    with writer:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | _FLAGS, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                msg = _NO_WRITER_LOCK.format(lock_file, path, exc)
                raise OutputError(msg, path=str(path)) from exc
            yield
        finally:
            os.close(fd)


def _lock_refusal(exc: OSError) -> int | None:
    """The errno of HDF5's refusal to lock a file, else None."""
    text = str(exc)
    if "unable to lock file" not in text and not isinstance(exc, BlockingIOError):
        return None
    if "Function not implemented" in text or "No locks available" in text:
        return errno.ENOLCK
    found = re.search(r"errno = (\d+)", text)
    return int(found.group(1)) if found else exc.errno


@contextmanager
def open_h5(path: Path, mode: str) -> Iterator[h5py.File]:
    """Open ``path`` with h5py (``mode``), waiting while another process holds it.

    HDF5 refuses a file another process (a reader, a viewer) keeps open; the open
    is retried with back-off for ``acme.single-file.lock-timeout`` s. OutputError
    if it stays locked that long or its file system cannot lock files.
    """
    import h5py  # heavy: deferred until a file is written

    with _patiently(path, lambda: h5py.File(path, mode)) as h5:
        yield h5


def create_h5(path: Path) -> Any:
    """A new HDF5 file at ``path``, for h5py's low-level calls (``FileID``).

    Made with the property lists ``h5py.File(path, "w")`` uses, so the same
    datasets give the same bytes; the caller closes it. Errors as for
    :func:`open_h5`.
    """
    from h5py import h5f  # heavy: deferred until a file is written

    fapl, fcpl = _file_plists()
    return _patiently(
        path, lambda: h5f.create(os.fsencode(path), h5f.ACC_EXCL, fcpl, fapl)
    )


@functools.cache
def _file_plists() -> tuple[Any, Any]:
    """h5py.File's access and creation property lists for a new file."""
    from h5py import h5f, h5p

    fapl = h5p.create(h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5f.LIBVER_EARLIEST, h5f.LIBVER_LATEST)
    fapl.set_alignment(1, 1)
    fcpl = h5p.create(h5p.FILE_CREATE)
    fcpl.set_obj_track_times(False)
    return fapl, fcpl


def _patiently(path: Path, open_once: Callable[[], T]) -> T:
    """``open_once()``, retried while HDF5 refuses ``path`` as locked elsewhere."""
    timeout, deadline = 0.0, None  # set at the first refusal: most opens succeed
    delay = 0.05
    while True:
        try:
            return open_once()
        except OSError as exc:
            code = _lock_refusal(exc)
            if code in (errno.ENOSYS, errno.ENOLCK):
                raise OutputError(
                    _UNLOCKABLE.format(path, exc), path=str(path)
                ) from exc
            if code not in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise
            if deadline is None:
                timeout = float(config.get("single-file.lock-timeout"))
                deadline = time.monotonic() + timeout
                logger.info("%s is open elsewhere; waiting up to %g s", path, timeout)
            left = deadline - time.monotonic()
            if left <= 0:
                raise OutputError(_BUSY.format(path, timeout), path=str(path)) from exc
        time.sleep(min(delay, left))
        delay = min(2 * delay, 2.0)
