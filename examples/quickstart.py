"""acme quickstart: run a function once per input on a local dask cluster.

Run with ``python examples/quickstart.py``. acme starts a LocalCluster (no
client exists yet), runs the four calls in parallel and shuts the cluster down.
"""

import numpy as np

from acme import ParallelMap


def f(x, y, z=3):
    """One call: the lists/arrays of length 4 are split, ``y`` and ``z`` are shared."""
    return (x + y) * z


def spectrum(seed, n_samples=256):
    """Power spectrum of a random signal; stacked into one array below."""
    signal = np.random.default_rng(seed).standard_normal(n_samples)
    return np.abs(np.fft.rfft(signal)) ** 2


if __name__ == "__main__":
    with ParallelMap(f, [2, 4, 6, 8], 4, write_worker_results=False, n_workers=2) as pmap:
        results = pmap.compute()
    print("f(x, 4) for x in [2, 4, 6, 8]:", results)

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
