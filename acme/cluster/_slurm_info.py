"""The single seam to SLURM's command-line tools, and what acme reads from them.

Every SLURM command runs through :func:`_run`: an argv list, no shell, a time-out.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from .. import config
from ..errors import SlurmError

__all__ = ["is_slurm_node", "use_slurm"]


def _run(argv: Sequence[str], timeout: float) -> str:
    """Run a SLURM command and return its stdout.

    Raises
    ------
    SlurmError
        If the command is missing, times out or exits non-zero.
    """
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SlurmError(f"{argv[0]} failed: {exc}", argv=argv) from exc
    if done.returncode != 0:
        raise SlurmError(
            f"{' '.join(argv)} exited with {done.returncode}: {done.stderr.strip()}",
            argv=argv,
            returncode=done.returncode,
            stderr=done.stderr,
        )
    return done.stdout


def is_slurm_node() -> bool:
    """True iff ``sinfo -h -o %P`` answers (exit 0) within the probe time-out."""
    try:
        _run(["sinfo", "-h", "-o", "%P"], float(config.get("slurm.probe-timeout")))
    except SlurmError:
        return False
    return True


def use_slurm() -> bool:
    """Whether acme starts SLURM workers, by ``acme.cluster`` (API.md section 6.2).

    Raises
    ------
    SlurmError
        If ``acme.cluster`` is ``slurm`` and SLURM does not answer.
    """
    kind = config.get("cluster")
    if kind == "local":
        return False
    if kind == "slurm":
        if not is_slurm_node():
            raise SlurmError(
                "acme.cluster is 'slurm' but SLURM does not answer `sinfo`"
            )
        return True
    if kind != "auto":
        raise SlurmError(
            f"acme.cluster has to be 'auto', 'local' or 'slurm', not {kind!r}"
        )
    return is_slurm_node()
