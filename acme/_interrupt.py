"""Ctrl-C during ``compute()`` and while acme shuts down what it started.

Python drops a KeyboardInterrupt raised while the main thread runs a gc callback
or a finaliser, and distributed installs such callbacks; a Ctrl-C then seemed to
do nothing. The guard remembers the signal and delivers it again. While a
cluster shuts down, :func:`interrupts_held` keeps one more Ctrl-C from cutting
the shutdown short.
"""

from __future__ import annotations

import _thread
import signal
import threading
from typing import Any

from ._logging import get_logger

__all__ = ["InterruptGuard", "interrupts_held"]

logger = get_logger(__name__)


class InterruptGuard:
    """Makes sure a Ctrl-C reaches ``compute()``.

    Python drops a KeyboardInterrupt raised while the main thread runs a gc
    callback or a finaliser (distributed installs such callbacks). While the guard
    is active, SIGINT is remembered, and a helper thread delivers it again until
    the guarded block has ended. Installed only in the main thread and only over
    Python's default handler, whose behaviour it keeps.
    """

    def __init__(self) -> None:
        self._signalled = threading.Event()
        self._ended = threading.Event()
        self._lock = threading.Lock()
        self._previous: Any = None

    def _handler(self, signum: int, frame: Any) -> None:
        self._signalled.set()
        raise KeyboardInterrupt

    def _redeliver(self) -> None:
        while not self._ended.wait(0.5):
            with self._lock:
                if self._signalled.is_set() and not self._ended.is_set():
                    _interrupt_main()

    def _replaces(self, handler: Any) -> bool:
        """Whether the guard takes SIGINT over from ``handler``."""
        return handler is signal.default_int_handler

    def __enter__(self) -> InterruptGuard:
        main = threading.current_thread() is threading.main_thread()
        if main and self._replaces(signal.getsignal(signal.SIGINT)):
            self._previous = signal.signal(signal.SIGINT, self._handler)
            threading.Thread(target=self._redeliver, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._ended.set()
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _interrupt_main() -> None:
    """SIGINT to the main thread: a real signal, so a blocking call there (a
    ``sleep``, a wait on a lock) returns to take it; ``interrupt_main`` alone
    would wait until the main thread runs Python code again."""
    if hasattr(signal, "pthread_kill"):
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
    else:  # Windows
        _thread.interrupt_main()


class _Held(InterruptGuard):
    """:func:`interrupts_held`: the first Ctrl-C waits, a second one goes through."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what
        self.pressed = False

    def _replaces(self, handler: Any) -> bool:
        return handler is not None  # any handler installed from Python

    def _handler(self, signum: int, frame: Any) -> None:
        if self.pressed:  # delivered again until it lands, as for the guard
            super()._handler(signum, frame)
        self.pressed = True
        logger.warning("Still %s; press Ctrl-C again to abandon it", self.what)

    def __exit__(self, *exc_info: object) -> None:
        super().__exit__(*exc_info)
        if self.pressed and exc_info[0] is None:
            raise KeyboardInterrupt


def interrupts_held(what: str) -> InterruptGuard:
    """Finish ``what`` (a shutdown) even if Ctrl-C is pressed meanwhile.

    In the main thread, the first Ctrl-C inside the block is logged and raised as
    KeyboardInterrupt once the block has ended; a second one interrupts at once
    (a way out of a shutdown that hangs), and is delivered again until it does.
    Elsewhere, or where SIGINT's handler was not installed from Python, the block
    runs unchanged.
    """
    return _Held(what)
