"""User functions and helpers of the resume tests (``test_pmap_resume*.py``).

Every user function here records which calls ran by appending the call index to
``<state>/calls.log``; a flag file ``<state>/fixed`` (or ``<state>/release``) turns a
failing (or blocking) call into a working one without changing the function's
module or qualified name, so a second ``ParallelMap`` can resume the first one's run.
The ``state`` folder is the fixture of the same name (``conftest.py``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from acme import ParallelMap
from acme.errors import ComputationError
from acme.results.journal import replay

N_CALLS = 6
BROKEN = (1, 4)
# A second run in the same folder within the same second would pick the first run's
# log file name (ACME_<f>_<YYYYmmdd-HHMMSS>.log); see test_resume_gets_its_own_log.
SECOND_RUN = {"logfile": False}


# -- user functions (module level: same module + qualname in every run) -------------


def _note(state: str, index: int) -> None:
    with open(os.path.join(state, "calls.log"), "a") as handle:
        handle.write(f"{index}\n")


def flaky(x, state):
    """Calls 1 and 4 fail until ``<state>/fixed`` exists."""
    _note(state, x)
    if x in BROKEN and not os.path.exists(os.path.join(state, "fixed")):
        raise ValueError(f"broken call {x}")
    return x * 10


def flaky_row(x, state):
    """Like :func:`flaky`, returning a row to stack."""
    _note(state, x)
    if x in BROKEN and not os.path.exists(os.path.join(state, "fixed")):
        raise ValueError(f"broken call {x}")
    return np.full(3, x * 10.0)


def shifted(x, state):
    """``x`` plus the number stored in ``<state>/offset``."""
    _note(state, x)
    return x + int(Path(state, "offset").read_text())


def gated(x, state):
    """Calls with ``x >= 4`` block until ``<state>/release`` exists (at most 120 s)."""
    _note(state, x)
    if x >= 4:
        deadline = time.monotonic() + 120
        while not os.path.exists(os.path.join(state, "release")):
            if time.monotonic() > deadline:
                raise TimeoutError(f"call {x} was never released")
            time.sleep(0.05)
    return x * 10


class Other:
    @staticmethod
    def flaky(x, state):
        """Same ``__name__`` as :func:`flaky`, different qualified name."""
        return x


# -- helpers ------------------------------------------------------------------------


def ran(state: str) -> list[int]:
    """Indices recorded since the last call (sorted); the record is reset."""
    log = Path(state, "calls.log")
    if not log.exists():
        return []
    indices = sorted(int(line) for line in log.read_text().split())
    log.unlink()
    return indices


def fix(state: str) -> None:
    Path(state, "fixed").touch()


def manifest(folder: Path, name: str = "flaky") -> dict:
    """The manifest as a resume reads it: with its journal replayed."""
    data = json.loads((folder / f".acme_{name}.json").read_text(encoding="utf-8"))
    assert replay(folder / f".acme_{name}.journal", data) is None
    return data


def statuses(folder: Path, name: str = "flaky") -> list[str]:
    return [call["status"] for call in manifest(folder, name)["calls"]]


def hidden_entries(folder: Path) -> list[str]:
    """Names of hidden files or folders anywhere below ``folder``."""
    return sorted(
        str(path.relative_to(folder))
        for path in folder.rglob(".*")
        if not path.name.startswith(".acme_") or not path.name.endswith(".json")
    )


def h5_value(path: str | Path, group: str | None = None) -> list:
    with h5py.File(path, "r") as h5:
        node = h5[group] if group else h5
        return node["result_0"][()].tolist()


def run_failing(out: Path, state: str, func=flaky, **options) -> ComputationError:
    """A run of ``func`` into ``out`` whose calls 1 and 4 fail."""
    with ParallelMap(
        func, list(range(N_CALLS)), state, output_dir=out, **options
    ) as pm:
        with pytest.raises(ComputationError) as info:
            pm.compute()
    return info.value


def resume(out: Path, state: str, func=flaky, **options) -> list:
    with ParallelMap(
        func,
        list(range(N_CALLS)),
        state,
        output_dir=out,
        resume=True,
        **{**SECOND_RUN, **options},
    ) as pmap:
        return pmap.compute()


def calls(folder: Path) -> list[dict]:
    return manifest(folder)["calls"]
