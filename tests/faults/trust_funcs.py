"""User functions and helpers of the trust tests (``test_results_trust.py``,
``test_resume_trust.py``): each call notes its execution in the ``state``
folder (the fixture of ``conftest.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import h5py

N = 4


def record(state: str, x: object) -> None:
    """Note one execution of a call in the shared state folder."""
    with open(os.path.join(state, "calls.log"), "a") as handle:
        handle.write(f"{x}\n")


def executions(state: str) -> list[str]:
    path = os.path.join(state, "calls.log")
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        lines = handle.read().split()
    os.remove(path)
    return sorted(lines)


def square(x, state):
    record(state, x)
    if x == 99:
        raise ValueError("99 is not allowed")
    return x * x


def none_at_one(x, state):
    record(state, x)
    return None if x == 1 else x


def read_comp(container: Path, index: int) -> list[float]:
    with h5py.File(container, "r") as h5:
        return h5[f"comp_{index}"]["result_0"][()].tolist()
