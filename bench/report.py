"""Reading and writing the harness's JSON lines, and the Markdown summary.

Each line is one (workload, calls, implementation) of one run of the harness;
``run_id`` tells runs apart when a file holds several (``--append``). Print the
summary of an existing file with::

    python bench/report.py bench/results.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

#: implementations in the order of the tables and the plot
IMPLEMENTATIONS = ("acme", "raw-dask", "joblib", "esi-acme", "acme-base")
REFERENCE = "raw-dask"
#: workloads in the order of the tables
WORKLOAD_ORDER = (
    "import",
    "startup-cold",
    "tiny-mem",
    "tiny-h5",
    "array-h5-stack",
    "sleep",
    "large-arg",
)

Record = dict[str, Any]
#: longest reason shown in the table (the JSON lines hold all of it)
NOTE_LENGTH = 120


def load(path: Path, run_id: str | None = None) -> list[Record]:
    """Read the records of one run from a JSON-lines file.

    Parameters
    ----------
    path : pathlib.Path
        The file written by the harness.
    run_id : str or None
        Which run to return; None means the last one in the file.
    """
    records = [
        json.loads(line)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    if not records:
        return []
    wanted = run_id or records[-1]["run_id"]
    return [r for r in records if r["run_id"] == wanted]


def write(path: Path, records: Iterable[Record], append: bool) -> None:
    """Write records as JSON lines, replacing the file unless ``append``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as stream:
        stream.writelines(json.dumps(r) + "\n" for r in records)


def _order(record: Record) -> tuple[int, int, int]:
    """Sort key: workload order, then calls, then implementation order."""
    workload = record["workload"]
    impl = record["implementation"]
    return (
        WORKLOAD_ORDER.index(workload) if workload in WORKLOAD_ORDER else 99,
        record.get("calls") or 0,
        IMPLEMENTATIONS.index(impl) if impl in IMPLEMENTATIONS else 99,
    )


def add_ratios(records: Sequence[Record]) -> None:
    """Set the time and RSS ratios to raw dask of the same workload and size."""
    reference = {
        (r["workload"], r.get("calls")): r
        for r in records
        if r["implementation"] == REFERENCE and r["status"] == "ok"
    }
    for record in records:
        ref = reference.get((record["workload"], record.get("calls")))
        record["ratio_to_raw_dask"] = _ratio(record, ref, "median_s")
        record["rss_ratio_to_raw_dask"] = _ratio(
            record.get("rss_isolated"), ref and ref.get("rss_isolated"), "peak_mb"
        )


def _ratio(record: Record | None, ref: Record | None, key: str) -> float | None:
    """Return ``record[key] / ref[key]`` rounded, or None if either is missing."""
    if not record or not ref or not record.get(key) or not ref.get(key):
        return None
    return round(float(record[key]) / float(ref[key]), 3)


def _fmt(value: float | None, digits: int = 2) -> str:
    """Format a number for the table ("-" for None)."""
    return "-" if value is None else f"{value:.{digits}f}"


def _note(record: Record) -> str:
    """The last column: why a row has no numbers, or the ideal time."""
    if record["status"] != "ok":
        reason = " ".join(str(record.get("reason", "")).split())  # one line
        if len(reason) > NOTE_LENGTH:
            reason = reason[: NOTE_LENGTH - 3] + "..."
        return f"{record['status']}: {reason}".replace("|", "/")
    if record.get("ideal_s"):
        return f"ideal {record['ideal_s']:.2f} s"
    return ""


def _row(record: Record) -> str:
    """One line of the summary table."""
    isolated = record.get("rss_isolated") or {}
    ms_per_call = record.get("per_call_ms")
    cells = [
        record["workload"],
        str(record.get("calls") or "-"),
        record["implementation"],
        _fmt(record.get("median_s"), 3),
        _fmt(ms_per_call, 3),
        _fmt(record.get("ratio_to_raw_dask")),
        _fmt(record.get("cpu_s")),
        _fmt(isolated.get("peak_mb"), 0),
        _fmt(record.get("rss_ratio_to_raw_dask")),
        _fmt(isolated.get("delta_mb"), 0),
        _note(record),
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| workload | calls | implementation | median s | ms/call | time / raw dask "
    "| CPU s | peak RSS MiB | RSS / raw dask | Δ RSS MiB | note |\n"
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"
)


def summary(records: Sequence[Record]) -> str:
    """Return the Markdown summary of one run: versions, host and the table."""
    if not records:
        return "(no results)\n"
    first = records[0]
    lines = [f"Run {first['run_id']} on {_host(first.get('host', {}))}.", ""]
    lines += [f"- {impl}: {text}" for impl, text in _versions(records).items()]
    lines += ["", HEADER]
    lines += [_row(r) for r in sorted(records, key=_order)]
    lines += [
        "",
        "Times are medians of the timed repeats (after one warm-up each); CPU is "
        "the calling process and its workers. Peak RSS is that of the calling "
        "process, measured once per implementation in a fresh interpreter; Δ RSS "
        "is its growth during the measured run.",
    ]
    return "\n".join(lines) + "\n"


def _host(host: dict[str, Any]) -> str:
    """Describe the machine in a few words."""
    if not host:
        return "an unknown machine"
    return f"{host['cpus']} CPUs, {host['memory_gb']} GB, {host['platform']}"


def _versions(records: Iterable[Record]) -> dict[str, str]:
    """Return 'package version, ...' per implementation, from the first record."""
    found: dict[str, str] = {}
    for record in sorted(records, key=_order):
        impl = record["implementation"]
        if impl not in found and record.get("versions"):
            found[impl] = ", ".join(f"{k} {v}" for k, v in record["versions"].items())
    return found


def main() -> int:
    """Print the summary of a results file."""
    parser = argparse.ArgumentParser(description="Print the Markdown summary")
    parser.add_argument("results", type=Path)
    parser.add_argument("--run-id", help="default: the last run in the file")
    options = parser.parse_args()
    records = load(options.results, options.run_id)
    add_ratios(records)
    print(summary(records), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
