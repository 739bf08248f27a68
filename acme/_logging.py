"""The ``"ACME"`` logger tree, its handlers and its formatter.

Import attaches nothing. :func:`configure` runs at the public boundary and keeps
exactly two acme-owned handlers on the ``"ACME"`` logger, found by a marker
attribute: a ``StreamHandler`` on stderr and a ``MemoryHandler`` whose target is
the ``FileHandler`` of the active log file (or None).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

__all__ = [
    "ANNOUNCE",
    "LOGGER_NAME",
    "configure",
    "ensure_configured",
    "flush",
    "get_logger",
    "level_for",
    "log_file",
]

LOGGER_NAME = "ACME"
ANNOUNCE = logging.INFO + 5
_MARKER = "_acme_handler"
_BUFFER = 1000

_STYLE = {
    logging.DEBUG: ("#", "#", True, "\x1b[36m"),
    logging.INFO: ("-", "-", False, "\x1b[32m"),
    ANNOUNCE: (">", "<", False, "\x1b[1m"),
    logging.WARNING: ("!", "!", True, "\x1b[33m"),
    logging.ERROR: ("|", "|", True, "\x1b[31m"),
    logging.CRITICAL: ("|", "|", True, "\x1b[31m"),
}
_NAMES = {ANNOUNCE: "ANNOUNCE"}


class _Formatter(logging.Formatter):
    """Renders ``ACME ! WARNING ! <funcName> msg`` style lines, coloured on a TTY."""

    def __init__(self, colour: bool) -> None:
        super().__init__()
        self.colour = colour

    def format(self, record: logging.LogRecord) -> str:
        left, right, with_func, colour = _STYLE.get(
            record.levelno, ("-", "-", False, "")
        )
        name = _NAMES.get(record.levelno, record.levelname)
        func = f"<{record.funcName}> " if with_func else ""
        head = f"{LOGGER_NAME} {left} {name} {right}"
        if self.colour:
            head = f"{colour}{head}\x1b[0m"
        text = f"{head} {func}{record.getMessage()}"
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        return text


class _Buffer(logging.handlers.MemoryHandler):
    """A MemoryHandler that discards its records when it has no target."""

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # Handler.lock is set in createLock
            if self.target is None:
                self.buffer.clear()
                return
        super().flush()


def get_logger(module: str) -> logging.Logger:
    """Child of the ``"ACME"`` logger for an ``acme.*`` module name."""
    suffix = module.removeprefix("acme").lstrip(".")
    return logging.getLogger(f"{LOGGER_NAME}.{suffix}" if suffix else LOGGER_NAME)


def level_for(verbose: bool | None) -> int:
    """Map ``verbose`` None/True/False to INFO/DEBUG/WARNING."""
    if verbose is None:
        return logging.INFO
    return logging.DEBUG if verbose else logging.WARNING


def _owned(logger: logging.Logger) -> list[logging.Handler]:
    return [h for h in logger.handlers if getattr(h, _MARKER, False)]


def _stream_handler() -> logging.StreamHandler:  # type: ignore[type-arg]
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _MARKER, True)
    return handler


def _buffer_handler() -> _Buffer:
    handler = _Buffer(_BUFFER, flushLevel=logging.ERROR, target=None)
    setattr(handler, _MARKER, True)
    return handler


def _handlers(logger: logging.Logger) -> tuple[logging.StreamHandler, _Buffer]:  # type: ignore[type-arg]
    owned = _owned(logger)
    streams = [h for h in owned if type(h) is logging.StreamHandler]
    buffers = [h for h in owned if isinstance(h, _Buffer)]
    for extra in streams[1:] + buffers[1:]:
        logger.removeHandler(extra)
    stream = streams[0] if streams else _stream_handler()
    buffer = buffers[0] if buffers else _buffer_handler()
    for handler in (stream, buffer):
        if handler not in logger.handlers:
            logger.addHandler(handler)
    return stream, buffer


def _close_target(buffer: _Buffer) -> None:
    target = buffer.target
    buffer.buffer.clear()
    buffer.setTarget(None)
    if target is not None:
        target.close()


def configure(level: int, logfile: Path | None = None) -> None:
    """Install or re-target acme's handlers and set the level.

    Records buffered for an earlier run are discarded and its file target is
    closed, so a log file only ever receives records of its own run.

    Parameters
    ----------
    level : int
        Level of the ``"ACME"`` logger and its handlers.
    logfile : pathlib.Path, optional
        File that receives this run's records (appended to); None for no file.
    """
    logger = logging.getLogger(LOGGER_NAME)
    stream, buffer = _handlers(logger)
    stream.setStream(sys.stderr)
    stream.setFormatter(_Formatter(colour=sys.stderr.isatty()))
    _close_target(buffer)
    logger.setLevel(level)
    stream.setLevel(level)
    buffer.setLevel(level)
    if logfile is not None:
        attach_file(logfile)


def attach_file(logfile: Path) -> None:
    """Make ``logfile`` the target of the buffer; buffered records go there too."""
    logger = logging.getLogger(LOGGER_NAME)
    _, buffer = _handlers(logger)
    target = logging.FileHandler(logfile, mode="a", encoding="utf-8")
    target.setFormatter(_Formatter(colour=False))
    target.setLevel(logger.level)
    old = buffer.target
    buffer.setTarget(target)
    if old is not None:
        old.close()


def ensure_configured() -> None:
    """Install handlers at INFO if acme has none yet (used by the cluster helpers)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not _owned(logger):
        configure(logging.INFO)


def flush() -> None:
    """Write buffered records to the active log file, or discard them."""
    for handler in _owned(logging.getLogger(LOGGER_NAME)):
        handler.flush()


def log_file() -> str | None:
    """Absolute path of the active log file, or None."""
    for handler in _owned(logging.getLogger(LOGGER_NAME)):
        if isinstance(handler, _Buffer) and isinstance(
            handler.target, logging.FileHandler
        ):
            return str(handler.target.baseFilename)
    return None
