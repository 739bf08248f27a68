"""The single seam to SLURM's command-line tools, and what acme reads from them.

Every SLURM command runs through :func:`_run`: an argv list, no shell, a time-out.
Over its 200-line guide by the parsers of what ``sinfo``, ``scontrol``,
``squeue`` and ``sacctmgr`` print: partitions, job states, job limits, node and
QOS memory.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from .. import config
from ..errors import SlurmError

__all__ = [
    "QUERY_TIMEOUT",
    "PartitionInfo",
    "is_slurm_node",
    "job_limit",
    "job_states",
    "parse_key_values",
    "partition_info",
    "partitions",
    "query",
    "reworded",
    "slurm_probe",
]

QUERY_TIMEOUT = 30.0
_SINFO = ("sinfo", "-h", "-o", "%P")


def _run(argv: Sequence[str], timeout: float) -> str:
    """A SLURM command's stdout; SlurmError if it is missing, times out or fails."""
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


def reworded(error: SlurmError, message: str) -> SlurmError:
    """``error`` with a new message, keeping argv, exit code and stderr."""
    return SlurmError(
        message, argv=error.argv, returncode=error.returncode, stderr=error.stderr
    )


def _probe_timeout() -> float:
    return float(config.get("slurm.probe-timeout"))


def slurm_probe() -> SlurmError | None:
    """None if ``sinfo -h -o %P`` answers (exit 0) within the probe time-out.

    Otherwise why not: its ``__cause__`` is a ``FileNotFoundError`` when there
    is no ``sinfo`` at all.
    """
    try:
        _run(_SINFO, _probe_timeout())
    except SlurmError as exc:
        return exc
    return None


def is_slurm_node() -> bool:
    """True iff ``sinfo -h -o %P`` answers (exit 0) within the probe time-out."""
    return slurm_probe() is None


def parse_key_values(line: str) -> dict[str, str]:
    """``Key=Value`` pairs of one ``scontrol -o`` line.

    >>> parse_key_values("PartitionName=8GBS MaxMemPerNode=8000 QoS=N/A")
    {'PartitionName': '8GBS', 'MaxMemPerNode': '8000', 'QoS': 'N/A'}
    """
    pairs = (item.split("=", 1) for item in line.split() if "=" in item)
    return {key: value for key, value in pairs}


def parse_mem_mb(value: str | None) -> int | None:
    """A SLURM memory value in MB; None for missing, UNLIMITED or 0.

    >>> parse_mem_mb("8000"), parse_mem_mb("16G"), parse_mem_mb("UNLIMITED")
    (8000, 16384, None)
    """
    if not value:
        return None
    units = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}
    text = value.strip().upper()
    factor = units.get(text[-1], None)
    number = text[:-1] if factor is not None else text
    try:
        amount = float(number) * (factor or 1)
    except ValueError:
        return None
    return int(amount) if amount > 0 else None


def parse_tres_mem_mb(tres: str) -> int | None:
    """The ``mem`` entry of a TRES string in MB.

    >>> parse_tres_mem_mb("cpu=4,mem=16G"), parse_tres_mem_mb("cpu=4")
    (16384, None)
    """
    for item in tres.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "mem":
            return parse_mem_mb(value)
    return None


def partitions() -> tuple[list[str], str | None]:
    """Partition names from ``sinfo`` and the default one (marked ``*``)."""
    output = _run(_SINFO, _probe_timeout())
    names, default = [], None
    for line in output.split():
        name = line.strip().rstrip("*")
        if line.strip().endswith("*"):
            default = name
        if name and name not in names:
            names.append(name)
    return names, default


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    """Memory facts of a partition (MB; None where SLURM sets no value)."""

    name: str
    def_mem_per_cpu: int | None
    max_mem_per_cpu: int | None
    max_mem_per_node: int | None
    qos_mem: int | None
    node_mem: int | None

    def cap_mb(self, n_cores: int) -> int | None:
        """Memory one worker with ``n_cores`` may use."""
        if self.qos_mem is not None:
            return self.qos_mem
        if self.max_mem_per_cpu is not None:
            return self.max_mem_per_cpu * n_cores
        return self.max_mem_per_node or self.node_mem


def query(argv: list[str]) -> str:
    """The stdout of a query, empty if it fails (no accounting is no error)."""
    try:
        return _run(argv, QUERY_TIMEOUT)
    except SlurmError:
        return ""


def job_states() -> dict[str, str] | None:
    """State of every job of this user that ``squeue`` lists; None if it fails.

    One query for all jobs, whichever cluster they belong to; a job SLURM no
    longer lists is missing from the result (unlike an error, that is an answer).
    """
    import getpass  # lazy: only running SLURM maps ask

    argv = ["squeue", "-h", "-u", getpass.getuser(), "-o", "%i|%T"]
    try:
        output = _run(argv, QUERY_TIMEOUT)
    except SlurmError:
        return None
    states = {}
    for line in output.splitlines():
        job, _, state = line.strip().partition("|")
        if job:
            states[job] = state
    return states


def job_limit() -> int | None:
    """How many more jobs this user may submit, by accounting; None if unknown.

    The smallest of the ``MaxJobs`` of the user's associations and the
    ``MaxJobsPU`` of the QoS they may use, and of the ``MaxSubmit`` /
    ``MaxSubmitPU`` limits less the jobs the user has in the queue. Without an
    accounting daemon ``sacctmgr`` does not answer, and nothing is known.
    """
    import getpass  # lazy: only a SLURM start asks

    user = getpass.getuser()
    argv = ["sacctmgr", "show", "assoc", f"user={user}", "format=MaxJobs,MaxSubmit,QOS"]
    rows = [line.split("|") for line in query([*argv, "-P", "-n"]).splitlines()]
    qos = sorted({name for row in rows if len(row) > 2 for name in row[2].split(",")})
    if any(qos):
        argv = ["sacctmgr", "show", "qos", f"name={','.join(filter(None, qos))}"]
        argv += ["format=MaxJobsPU,MaxSubmitPU", "-P", "-n"]
        rows += [line.split("|") for line in query(argv).splitlines()]
    running = [row[0] for row in rows]
    submit = [row[1] for row in rows if len(row) > 1]
    numbers = [int(value) for value in running if value.isdigit()]
    if any(value.isdigit() for value in submit):
        queued = len(job_states() or {})
        numbers += [max(0, int(value) - queued) for value in submit if value.isdigit()]
    return min(numbers) if numbers else None


def _qos_mem(qos: str) -> int | None:
    """Memory cap of a QoS."""
    argv = ["sacctmgr", "show", "qos", f"name={qos}", "format=MaxTRES", "-P", "-n"]
    values = [
        parse_tres_mem_mb(line) for line in query(argv).splitlines() if line.strip()
    ]
    return next((v for v in values if v is not None), None)


def _node_mem(nodes: str) -> int | None:
    lines = query(["scontrol", "-o", "show", "node", nodes]).splitlines()
    values = [parse_mem_mb(parse_key_values(line).get("RealMemory")) for line in lines]
    known = [v for v in values if v is not None]
    return min(known) if known else None


def partition_info(name: str) -> PartitionInfo:
    """Memory facts of partition ``name`` from ``scontrol`` (and ``sacctmgr``).

    SlurmError ``Cannot fetch available memory per CPU in SLURM`` if ``scontrol`` fails.
    """
    try:
        output = _run(["scontrol", "-o", "show", "partition", name], QUERY_TIMEOUT)
    except SlurmError as exc:
        message = f"Cannot fetch available memory per CPU in SLURM: {exc}"
        raise reworded(exc, message) from exc
    fields = parse_key_values(output)
    qos = fields.get("QoS", "N/A")
    return PartitionInfo(
        name=name,
        def_mem_per_cpu=parse_mem_mb(fields.get("DefMemPerCPU")),
        max_mem_per_cpu=parse_mem_mb(fields.get("MaxMemPerCPU")),
        max_mem_per_node=parse_mem_mb(fields.get("MaxMemPerNode")),
        qos_mem=_qos_mem(qos) if qos not in ("N/A", "") else None,
        node_mem=_node_mem(fields["Nodes"]) if fields.get("Nodes") else None,
    )
