"""Loggers in tests: the "ACME" logger's records (``acme_log``), any other
logger's (``records_of``), and a reset of the "ACME" logger after each test.

Loaded as a plugin by ``conftest.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest


@pytest.fixture(autouse=True)
def _acme_logging() -> Iterator[None]:
    """Reset the "ACME" logger so one test's handlers and files don't reach the next."""
    yield
    logger = logging.getLogger("ACME")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        target = getattr(handler, "target", None)
        if target is not None:
            target.close()
        handler.close()
    logger.setLevel(logging.NOTSET)


class Records(logging.Handler):
    """Collects a logger's records; immune to LocalCluster's log silencing."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def text(self) -> str:
        return "\n".join(record.getMessage() for record in self.records)


@pytest.fixture
def acme_log() -> Iterator[Records]:
    """Records of the "ACME" logger during the test (``.records``, ``.text``).

    pytest's ``caplog`` misses INFO records while acme starts a LocalCluster,
    because distributed lowers every root handler to WARNING meanwhile.
    """
    handler = Records()
    logger = logging.getLogger("ACME")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture
def records_of() -> Iterator[Callable[[str], Records]]:
    """``records_of(name)``: the records of logger ``name`` from then on."""
    attached: list[tuple[logging.Logger, Records]] = []

    def attach(name: str) -> Records:
        handler, logger = Records(), logging.getLogger(name)
        logger.addHandler(handler)
        attached.append((logger, handler))
        return handler

    yield attach
    for logger, handler in attached:
        logger.removeHandler(handler)
