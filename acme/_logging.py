"""The ``"ACME"`` logger tree, its two handlers (found by a marker attribute: a
stderr ``StreamHandler`` and a ``MemoryHandler`` whose target is the log file's
``FileHandler`` or None) and its formatter. Import attaches nothing. It exceeds
its 150-line guide because the console handler must follow a swapped ``sys.stderr``
and the buffer must hold records until a run's log file exists.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO, TypeVar

__all__ = [
    "ANNOUNCE",
    "LOGGER_NAME",
    "attach_file",
    "configure",
    "ensure_configured",
    "flush",
    "get_logger",
    "level_for",
    "log_file",
    "quieted",
    "use_file",
]

LOGGER_NAME = "ACME"
ANNOUNCE = logging.INFO + 5
_MARKER = "_acme_handler"
_H = TypeVar("_H", bound=logging.Handler)
_ACME = logging.getLogger(LOGGER_NAME)  # creating a logger configures nothing

# level -> (left mark, right mark, show funcName, ANSI colour)
_STYLE = {
    logging.DEBUG: ("#", "#", True, "\x1b[36m"),
    logging.INFO: ("-", "-", False, "\x1b[32m"),
    ANNOUNCE: (">", "<", False, "\x1b[1m"),
    logging.WARNING: ("!", "!", True, "\x1b[33m"),
    logging.ERROR: ("|", "|", True, "\x1b[31m"),
    logging.CRITICAL: ("|", "|", True, "\x1b[31m"),
}


class _Formatter(logging.Formatter):
    """Renders ``ACME ! WARNING ! <funcName> msg`` style lines, coloured on a TTY."""

    colour = False

    def format(self, record: logging.LogRecord) -> str:
        left, right, with_func, colour = _STYLE.get(
            record.levelno, ("-", "-", False, "")
        )
        name = "ANNOUNCE" if record.levelno == ANNOUNCE else record.levelname
        head = f"{LOGGER_NAME} {left} {name} {right}"
        head = f"{colour}{head}\x1b[0m" if self.colour else head
        func = f"<{record.funcName}> " if with_func else ""
        text = f"{head} {func}{record.getMessage()}"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


class _Console(logging.StreamHandler):  # type: ignore[type-arg]  # stream is a property
    """Writes to whatever ``sys.stderr`` is now (pytest and redirects swap streams)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # the current sys.stderr is used instead

    def format(self, record: logging.LogRecord) -> str:
        if isinstance(self.formatter, _Formatter):
            try:
                self.formatter.colour = sys.stderr.isatty()
            except (ValueError, AttributeError):  # closed, or not a real stream
                self.formatter.colour = False
        return super().format(record)


class _Buffer(logging.handlers.MemoryHandler):
    """A MemoryHandler that discards its records when it has no target."""

    def flush(self) -> None:
        super().flush()
        if self.target is None:  # nowhere to go: drop them instead of growing
            self.buffer.clear()


def get_logger(module: str) -> logging.Logger:
    """Child of the ``"ACME"`` logger for an ``acme.*`` module name."""
    suffix = module.removeprefix("acme").lstrip(".")
    return logging.getLogger(f"{LOGGER_NAME}.{suffix}" if suffix else LOGGER_NAME)


def level_for(verbose: bool | None) -> int:
    """Map ``verbose`` None/True/False to INFO/DEBUG/WARNING."""
    return {None: logging.INFO, True: logging.DEBUG, False: logging.WARNING}[verbose]


def _owned() -> list[logging.Handler]:
    return [h for h in _ACME.handlers if getattr(h, _MARKER, False)]


def _add(handler: _H) -> _H:
    setattr(handler, _MARKER, True)
    _ACME.addHandler(handler)
    return handler


def _handlers() -> tuple[_Console, _Buffer]:
    """acme's console handler and buffer on the "ACME" logger, created if missing."""
    owned = _owned()
    stream = next((h for h in owned if isinstance(h, _Console)), None)
    buffer = next((h for h in owned if isinstance(h, _Buffer)), None)
    return (
        stream if stream is not None else _add(_Console()),
        buffer if buffer is not None else _add(_Buffer(1000, logging.ERROR)),
    )


def configure(level: int, logfile: Path | None = None) -> None:
    """Install or re-target acme's handlers at ``level``, then attach ``logfile``.

    Records buffered for an earlier run's log file are dropped.
    """
    stream, buffer = _handlers()
    stream.setFormatter(_Formatter())
    buffer.buffer.clear()
    for item in (_ACME, stream, buffer):
        item.setLevel(level)
    attach_file(logfile)


def attach_file(logfile: Path | None) -> None:
    """Make ``logfile`` (or nothing) the buffer's target; buffered records go there."""
    _, buffer = _handlers()
    target = None
    if logfile is not None:
        target = logging.FileHandler(logfile, mode="a", encoding="utf-8")
        target.setFormatter(_Formatter())
        target.setLevel(_ACME.level)
    old = buffer.target
    buffer.setTarget(target)
    if old is not None:
        old.close()


def use_file(logfile: str | None, level: int) -> None:
    """Make ``logfile`` the active log file again (unless it is) at ``level``.

    So ``compute()``/``cleanup()`` log to their run's file, whatever ran since.
    """
    for item in (_ACME, *_handlers()):
        item.setLevel(level)
    if log_file() != logfile:
        flush()
        attach_file(None if logfile is None else Path(logfile))


def ensure_configured() -> None:
    """Install handlers at INFO if acme has none yet (used by the cluster helpers)."""
    if not _owned():
        configure(logging.INFO)


def flush() -> None:
    """Write buffered records to the active log file, or discard them."""
    for handler in _owned():
        handler.flush()


def log_file() -> str | None:
    """Absolute path of the active log file, or None."""
    targets = (getattr(handler, "target", None) for handler in _owned())
    files = [target for target in targets if isinstance(target, logging.FileHandler)]
    return str(files[0].baseFilename) if files else None


@contextmanager
def quieted(name: str, level: int = logging.WARNING) -> Iterator[None]:
    """Hold logger ``name`` at ``level`` or above meanwhile, then restore it.

    For another library's expected noise, such as the tracebacks of closed
    connections that distributed logs at INFO while a cluster shuts down.
    """
    target = logging.getLogger(name)
    before = target.level
    target.setLevel(max(level, target.getEffectiveLevel()))
    try:
        yield
    finally:
        target.setLevel(before)
