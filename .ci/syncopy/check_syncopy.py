"""Integration check: Syncopy 2023.9 runs its parallel computations on acme.

Run by ``.ci/syncopy/run.sh`` in a separate virtual environment holding
esi-syncopy 2023.9 and acme. Needs SLURM's ``sinfo`` to answer (Syncopy only
takes the ParallelMap path then). Each analysis runs with ``parallel=True`` on a
LocalCluster that ``acme.local_cluster_setup`` started (TLS, which Syncopy's
``get_client()`` must pick up) and with ``parallel=False``; the results must be
equal and acme must have run one parallel computation per parallel analysis.
"""

import logging
import sys

import numpy as np
import syncopy as spy

from acme import cluster_cleanup, local_cluster_setup


class Runs(logging.Handler):
    """Counts acme's "Preparing <N> parallel calls" records."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.calls = []

    def emit(self, record):
        message = record.getMessage()
        if message.startswith("Preparing ") and "parallel calls" in message:
            self.calls.append(message)


def analyses(data):
    """(name, function, keyword arguments) of the analyses to compare."""
    return [
        ("freqanalysis mtmfft", spy.freqanalysis,
         {"method": "mtmfft", "taper": "hann", "output": "pow"}),
        ("freqanalysis mtmconvol", spy.freqanalysis,
         {"method": "mtmconvol", "t_ftimwin": 0.5, "toi": 0.5, "taper": "hann",
          "output": "pow"}),
        ("preprocessing bandpass", spy.preprocessing,
         {"filter_class": "but", "filter_type": "bp", "freq": [10, 40], "order": 4}),
        ("connectivityanalysis csd", spy.connectivityanalysis,
         {"method": "csd", "taper": "hann"}),
    ]  # fmt: skip


def main():
    runs = Runs()
    logging.getLogger("ACME").addHandler(runs)
    rng = np.random.default_rng(42)
    trials = [rng.standard_normal((600, 3)) for _ in range(6)]
    data = spy.AnalogData(data=trials, samplerate=200)
    client = local_cluster_setup(n_workers=2, interactive=False)
    failures = []
    if not client.scheduler.address.startswith("tls://"):
        failures.append(f"not a TLS cluster: {client.scheduler.address}")
    try:
        for name, analysis, kwargs in analyses(data):
            before = len(runs.calls)
            parallel = analysis(data, parallel=True, **kwargs)
            used = len(runs.calls) - before
            sequential = analysis(data, parallel=False, **kwargs)
            equal = np.allclose(parallel.data[()], sequential.data[()], equal_nan=True)
            shape = parallel.data.shape
            print(f"{name}: acme runs {used}, equal {equal}, shape {shape}")
            if used != 1 or not equal:
                failures.append(name)
            if client.status != "running":
                failures.append(f"{name}: the client did not survive")
    finally:
        cluster_cleanup(client)
    print("acme calls:", *runs.calls, sep="\n  ")
    if failures:
        print("FAILED:", ", ".join(failures))
        return 1
    print("all Syncopy analyses equal with parallel=True on acme")
    return 0


if __name__ == "__main__":
    sys.exit(main())
