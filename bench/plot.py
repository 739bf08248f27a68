"""Plot the scaling runs: time per call against number of calls, log-log.

One panel per workload that ran at more than one size (tiny-mem, tiny-h5), one
line per implementation; skipped and failed sizes are left out of the lines.

    python bench/plot.py bench/results.jsonl --png bench/scaling.png
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from report import IMPLEMENTATIONS, Record, load

Series = dict[str, dict[str, list[tuple[int, float]]]]


def scaling_series(records: list[Record]) -> Series:
    """Return ``{workload: {implementation: [(calls, seconds per call), ...]}}``.

    Only workloads with more than one size, only successful runs.
    """
    series: Series = defaultdict(lambda: defaultdict(list))
    for record in records:
        if record["status"] == "ok" and record.get("calls") and record["median_s"]:
            point = (record["calls"], record["median_s"] / record["calls"])
            series[record["workload"]][record["implementation"]].append(point)
    return {
        workload: {impl: sorted(points) for impl, points in lines.items()}
        for workload, lines in series.items()
        if len({calls for points in lines.values() for calls, _ in points}) > 1
    }


def plot(series: Series, title: str, path: Path) -> None:
    """Draw one log-log panel per workload and save the PNG."""
    if not series:
        raise SystemExit("no workload ran at more than one size: nothing to plot")
    fig, axes = plt.subplots(
        1, len(series), figsize=(5.5 * len(series), 4.2), squeeze=False
    )
    for ax, (workload, lines) in zip(axes[0], series.items(), strict=True):
        for impl in sorted(lines, key=_impl_order):
            calls, per_call = zip(*lines[impl], strict=True)
            ax.plot(calls, [1000 * t for t in per_call], marker="o", label=impl)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of calls")
        ax.set_ylabel("wall time per call (ms)")
        ax.set_title(workload)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(textwrap.fill(title, 60 * len(series)), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _impl_order(impl: str) -> int:
    """Legend order: the harness's order of implementations."""
    return IMPLEMENTATIONS.index(impl) if impl in IMPLEMENTATIONS else 99


def main() -> int:
    """Read the JSON lines, write the PNG."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "results", type=Path, nargs="?", default=Path("bench/results.jsonl")
    )
    parser.add_argument("--png", type=Path, default=Path("bench/scaling.png"))
    parser.add_argument("--run-id", help="default: the last run in the file")
    options = parser.parse_args()
    records = load(options.results, options.run_id)
    if not records:
        raise SystemExit(f"no results in {options.results}")
    first = records[0]
    title = f"run {first['run_id']}, {first['host']['cpus']} CPUs: {first['command']}"
    plot(scaling_series(records), title, options.png)
    print(f"wrote {options.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
