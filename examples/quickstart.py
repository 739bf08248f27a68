"""acme quickstart: run a function once per input on a local dask cluster.

Run with ``python examples/quickstart.py``. acme starts a LocalCluster (no
client exists yet), runs the calls in parallel, writes every result to HDF5 as
soon as it is done, and shuts the cluster down at the end of each ``with`` block.
"""

import tempfile
from pathlib import Path

import h5py
import numpy as np

from acme import ParallelMap


def f(x, y, z=3):
    """One call: the list of length 4 is split, ``y`` and ``z`` are shared."""
    return (x + y) * z


def spectrum(seed, n_samples=256):
    """Power spectrum of a random signal; stacked into one array below."""
    signal = np.random.default_rng(seed).standard_normal(n_samples)
    return np.abs(np.fft.rfft(signal)) ** 2


if __name__ == "__main__":
    output = Path(tempfile.mkdtemp(prefix="acme-quickstart-"))

    # Default: one HDF5 file per call, collected by a container file.
    with ParallelMap(f, [2, 4, 6, 8], 4, output_dir=output / "f", n_workers=2) as pmap:
        files = pmap.compute()
    with h5py.File(pmap.results_container, "r") as h5:
        values = [int(h5[f"comp_{i}"]["result_0"][0]) for i in range(len(files))]
    print("f(x, 4) for x in [2, 4, 6, 8] from", pmap.results_container, "->", values)

    # Results collected in memory instead.
    with ParallelMap(
        f, [2, 4, 6, 8], 4, write_worker_results=False, n_workers=2
    ) as pmap:
        print("in memory:", pmap.compute())

    # Results stacked into one array along the axis marked None.
    with ParallelMap(
        spectrum,
        np.arange(8),
        write_worker_results=False,
        result_shape=(None, 129),
        n_workers=2,
        verbose=False,
    ) as pmap:
        spectra = pmap.compute()
    print("stacked spectra:", spectra.shape, spectra.dtype)
