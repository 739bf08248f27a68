"""What Syncopy 2023.9 relies on (issue: Syncopy runs unchanged on acme)."""

from __future__ import annotations

import functools
import importlib
import socket

import dask.config
import h5py
import numpy as np
import pytest

import acme
from acme import ParallelMap, cluster_cleanup, esi_cluster_setup


def compute_function(trl, chunk_shape, outfile=None, lock_name=None, factor=1.0):
    """Like Syncopy's compute functions: writes its own HDF5 output under a lock."""
    from distributed import Lock

    result = np.full(chunk_shape, trl * factor)
    with Lock(lock_name), h5py.File(outfile, "a") as h5:
        h5.create_dataset(f"trial_{trl}", data=result)
    return None


def decorated(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)

    return wrapper


SYNCOPY_KEYWORDS = dict(
    write_worker_results=False,
    write_pickle=False,
    partition="auto",
    n_workers="auto",
    mem_per_worker="auto",
    setup_timeout=60,
    setup_interactive=False,
    stop_client="auto",
    verbose=None,
    logfile=None,
)


def test_imports_and_version():
    from acme.dask_helpers import esi_cluster_setup as esi

    assert importlib.import_module("acme").ParallelMap is ParallelMap

    assert esi is esi_cluster_setup
    assert cluster_cleanup is acme.cluster_cleanup
    assert isinstance(acme.__version__, str)


@pytest.mark.parametrize("n_inputs", [1, 4])
def test_syncopy_call_pattern(process_client, tmp_path, n_inputs):
    outfile = str(tmp_path / "out.h5")
    trials = list(range(n_inputs))
    chunk_shape = (3, 2)  # per-call sized in Syncopy's real use: forced shared below
    pmap = ParallelMap(
        decorated(compute_function),
        trials,
        chunk_shape,
        n_inputs=n_inputs,
        outfile=outfile,
        lock_name="syncopy-out",
        factor=[2.0] * n_inputs,
        **SYNCOPY_KEYWORDS,
    )
    # Syncopy forces sharing of per-call sized values by wrapping them in a list
    pmap.kwargv["factor"] = [3.0]
    assert pmap.daemon.client is process_client
    assert pmap.daemon.client.cluster is process_client.cluster
    with pmap as pm:
        pm.compute(debug=False)
    assert process_client.status == "running"
    with h5py.File(outfile, "r") as h5:
        assert sorted(h5) == [f"trial_{i}" for i in trials]
        for i in trials:
            np.testing.assert_array_equal(
                h5[f"trial_{i}"][()], np.full((3, 2), 3.0 * i)
            )


def test_signature_comes_from_wrapped_function(client):
    with pytest.raises(ValueError, match="compute_function got unknown keyword"):
        ParallelMap(decorated(compute_function), [0], (1,), bogus=1, **SYNCOPY_KEYWORDS)


@pytest.mark.slurm
def test_esi_cluster_setup_legacy_keywords(tmp_path, monkeypatch):
    """Syncopy's test set-up on a SLURM host passes the pre-2025 keywords."""
    site = {
        "acme.sites.esi.hostname-prefix": socket.gethostname(),
        "acme.sites.esi.marker-dir": str(tmp_path),
        "acme.sites.esi.slurm-log-dir": str(tmp_path / "slurm" / "{user}_{timestamp}"),
    }
    with dask.config.set(site), pytest.warns(FutureWarning) as record:
        cluster = esi_cluster_setup(
            partition="debug",
            n_jobs=1,
            mem_per_job="1GB",
            timeout=360,
            interactive=False,
            start_client=False,
        )
    # only the deprecations: distributed may warn that the dashboard port is taken
    messages = sorted(str(w.message) for w in record if w.category is FutureWarning)
    assert messages == [
        "`mem_per_job` is deprecated, use `mem_per_worker` instead",
        "`n_jobs` is deprecated, use `n_workers` instead",
    ]
    try:
        assert type(cluster).__name__ == "SLURMCluster"
        assert len(cluster.workers) == 1
        assert "#SBATCH -p debug" in cluster.job_script()
    finally:
        cluster.close()
