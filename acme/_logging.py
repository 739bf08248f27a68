"""The ``"ACME"`` logger tree, its two handlers (found by a marker attribute: a
stderr ``StreamHandler`` and a ``MemoryHandler`` whose target is the log file's
``FileHandler`` or None) and its formatter. Import attaches nothing.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
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
    "use_file",
]

LOGGER_NAME = "ACME"
ANNOUNCE = logging.INFO + 5
_MARKER = "_acme_handler"
_BUFFER = 1000
_H = TypeVar("_H", bound=logging.Handler)
_ACME = logging.getLogger(LOGGER_NAME)  # creating a logger configures nothing

# level -> (left mark, right mark, show funcName, ANSI colour); None: the level name
_STYLE = {
    logging.DEBUG: ("#", "#", True, "\x1b[36m", None),
    logging.INFO: ("-", "-", False, "\x1b[32m", None),
    ANNOUNCE: (">", "<", False, "\x1b[1m", "ANNOUNCE"),
    logging.WARNING: ("!", "!", True, "\x1b[33m", None),
    logging.ERROR: ("|", "|", True, "\x1b[31m", None),
    logging.CRITICAL: ("|", "|", True, "\x1b[31m", None),
}


class _Formatter(logging.Formatter):
    """Renders ``ACME ! WARNING ! <funcName> msg`` style lines, coloured on a TTY."""

    def __init__(self, colour: bool) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        left, right, with_func, colour, name = _STYLE.get(
            record.levelno, ("-", "-", False, "", None)
        )
        head = f"{LOGGER_NAME} {left} {name or record.levelname} {right}"
        head = f"{colour}{head}\x1b[0m" if self.colour else head
        func = f"<{record.funcName}> " if with_func else ""
        text = f"{head} {func}{record.getMessage()}"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


class _Console(logging.StreamHandler):  # type: ignore[type-arg]  # stream is a property
    """Writes each record to whatever ``sys.stderr`` is at that moment.

    pytest's capture and ``contextlib.redirect_stderr`` swap and close streams; a
    handler that kept the stream of its creation would write to a closed file.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # the current sys.stderr is used instead

    def format(self, record: logging.LogRecord) -> str:
        formatter = self.formatter
        if isinstance(formatter, _Formatter):
            formatter.colour = _is_terminal(sys.stderr)
        return super().format(record)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (ValueError, AttributeError):  # closed, or not a real stream
        return False


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
    streams = [h for h in owned if isinstance(h, _Console)]
    buffers = [h for h in owned if isinstance(h, _Buffer)]
    stream = streams[0] if streams else _add(_Console())
    buffer = buffers[0] if buffers else _add(_Buffer(_BUFFER, logging.ERROR))
    return stream, buffer


def configure(level: int, logfile: Path | None = None) -> None:
    """Install or re-target acme's handlers at ``level``, then attach ``logfile``.

    An earlier run's buffered records and log file are dropped, so a log file only
    ever receives records of its own run.
    """
    stream, buffer = _handlers()
    stream.setFormatter(_Formatter(colour=False))
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
        target.setFormatter(_Formatter(colour=False))
        target.setLevel(_ACME.level)
    old = buffer.target
    buffer.setTarget(target)
    if old is not None:
        old.close()


def use_file(logfile: str | None, level: int) -> None:
    """Make ``logfile`` the active log file again (unless it is) at ``level``.

    ``compute()`` and ``cleanup()`` of a map call this, so their records reach
    their own run's log file even if another map was constructed since.
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
