"""Peak memory of reading a stacked result: through a virtual dataset, or not.

array-h5-stack reads its 200 x 125,000 float64 result (191 MiB) back through
the container's virtual dataset. This script builds the same layout with h5py
alone (200 source files, one virtual dataset over them, and beside it an
ordinary dataset of the same shape) and reads one of them in a fresh
interpreter per way, printing the peak RSS of that process before and after::

    .venv/bin/python bench/vds_rss.py

``virtual`` reads ``h5["result_0"][()]``, ``virtual-direct`` the same into a
preallocated array with ``read_direct``, ``plain`` the ordinary dataset. No
acme is involved: it isolates what HDF5 itself needs for the read.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROWS, COLUMNS = 200, 125_000
WAYS = ("virtual", "virtual-direct", "plain")


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(folder: Path) -> Path:
    """Write the source files and the container; return the container's path."""
    import h5py
    import numpy as np

    layout = h5py.VirtualLayout(shape=(ROWS, COLUMNS), dtype="f8")
    for row in range(ROWS):
        source = folder / f"source_{row}.h5"
        with h5py.File(source, "w") as h5:
            h5.create_dataset("result_0", data=np.full(COLUMNS, float(row)))
        layout[row] = h5py.VirtualSource(str(source), "result_0", shape=(COLUMNS,))
    container = folder / "container.h5"
    with h5py.File(container, "w") as h5:
        h5.create_virtual_dataset("result_0", layout, fillvalue=np.nan)
        h5.create_dataset("plain", data=np.zeros((ROWS, COLUMNS)))
    return container


def read(container: Path, way: str) -> dict[str, float | str]:
    """Read the stacked data one ``way``, in this process; its peak RSS around it."""
    import h5py
    import numpy as np

    before = _peak_mib()
    with h5py.File(container, "r") as h5:
        if way == "virtual":
            data = h5["result_0"][()]
        elif way == "virtual-direct":
            data = np.empty((ROWS, COLUMNS))
            h5["result_0"].read_direct(data)
        else:
            data = h5["plain"][()]
    if way != "plain" and data[-1, 0] != ROWS - 1:
        raise SystemExit(f"{way}: wrong data read back")
    return {
        "way": way,
        "data_mib": round(data.nbytes / 2**20, 1),
        "peak_before_mib": round(before, 1),
        "peak_after_mib": round(_peak_mib(), 1),
    }


def main() -> int:
    """Build once, then read each way in a fresh interpreter."""
    if len(sys.argv) == 3:  # a child: read one way
        print(json.dumps(read(Path(sys.argv[1]), sys.argv[2])))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        container = build(Path(folder))
        print("| read | data MiB | peak RSS before MiB | peak RSS after MiB |")
        print("|---|---:|---:|---:|")
        for way in WAYS:
            child = [sys.executable, __file__, str(container), way]
            row = json.loads(
                subprocess.run(child, check=True, capture_output=True, text=True).stdout
            )
            print(
                f"| {way} | {row['data_mib']} | {row['peak_before_mib']} | "
                f"{row['peak_after_mib']} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
